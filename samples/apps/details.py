"""details: a line protocol where the server speaks first (like SMTP or MySQL): it greets, then answers one
"GET <book>" line and closes. A proxy that waits for the client's first bytes to sniff the protocol stalls it."""
import os
import socketserver

PORT = int(os.environ.get("PORT", "9091"))
VERSION = os.environ.get("VERSION", "v1")


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(("details %s ready\n" % VERSION).encode())
        self.wfile.flush()
        line = self.rfile.readline().decode().strip()
        if not line:
            return  # a port check: connected, greeted, gone
        book = line[4:] if line.startswith("GET ") else line
        self.wfile.write(("book %s: 200 pages, paperback\n" % book).encode())
        print("details %s served %s to %s" % (VERSION, book, self.client_address[0]), flush=True)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


print("details %s listening on :%d (server speaks first)" % (VERSION, PORT), flush=True)
Server(("0.0.0.0", PORT), Handler).serve_forever()
