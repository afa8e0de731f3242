"""productpage: the bookinfo-lite frontend. GET /productpage asks reviews (HTTP) and details (a TCP protocol
where the server speaks first) and shows both answers; 200 when both answered, 502 otherwise."""
import http.server
import os
import socket
import sys
import urllib.request

import _plain

PORT = int(os.environ.get("PORT", "9080"))
REVIEWS_URL = os.environ.get("REVIEWS_URL", "http://reviews:9080/reviews")
DETAILS_ADDRESS = os.environ.get("DETAILS_ADDRESS", "details:9091")
POD = os.environ.get("POD_NAME", "productpage")


def reviews():
    with urllib.request.urlopen(REVIEWS_URL, timeout=5) as r:
        return r.read().decode().strip()


def details(book):
    host, port = DETAILS_ADDRESS.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        f = s.makefile("rwb")
        greeting = f.readline().decode().strip()  # the server speaks first
        f.write(("GET " + book + "\n").encode())
        f.flush()
        return greeting + " / " + f.readline().decode().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, "ok\n")
        if not self.path.startswith("/productpage"):
            return self.answer(404, "try /productpage\n")
        ok = True
        try:
            r = reviews()
        except Exception as e:  # shown, not hidden: the page says which call failed
            ok, r = False, "reviews unavailable: %s" % e
        try:
            d = details("0")
        except Exception as e:
            ok, d = False, "details unavailable: %s" % e
        self.answer(200 if ok else 502, "productpage %s\nreviews: %s\ndetails: %s\n" % (POD, r, d))

    def answer(self, code, text):
        _plain.answer(self, code, text)

    def log_message(self, fmt, *args):
        print("productpage %s %s" % (self.client_address[0], fmt % args), flush=True)


print("productpage listening on :%d, reviews %s, details %s" % (PORT, REVIEWS_URL, DETAILS_ADDRESS), flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
