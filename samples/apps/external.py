"""external: an HTTP server outside the mesh (mesh-in-a-box runs it on 192.0.2.10:80, off the pods' network).
Every answer names the server and the peer it saw, so a test can tell where a request came from."""
import http.server
import os

import _plain

PORT = int(os.environ.get("PORT", "80"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        _plain.answer(self, 200, "external server: %s from %s\n" % (self.path, self.client_address[0]))

    def log_message(self, fmt, *args):
        print("external %s %s" % (self.client_address[0], fmt % args), flush=True)


print("external listening on :%d" % PORT, flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
