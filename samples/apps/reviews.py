"""reviews: an HTTP service whose answers say its version (VERSION) and pod, so traffic shifts are visible."""
import http.server
import os

import _plain

PORT = int(os.environ.get("PORT", "9080"))
VERSION = os.environ.get("VERSION", "v1")
POD = os.environ.get("POD_NAME", "reviews")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, "ok\n")
        if self.path.startswith("/reviews"):
            return self.answer(200, "reviews %s (%s): an excellent book\n" % (VERSION, POD))
        self.answer(404, "try /reviews\n")

    def answer(self, code, text):
        _plain.answer(self, code, text)

    def log_message(self, fmt, *args):
        print("reviews %s %s %s" % (VERSION, self.client_address[0], fmt % args), flush=True)


print("reviews %s listening on :%d" % (VERSION, PORT), flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
