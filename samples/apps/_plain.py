"""Shared by the HTTP sample apps (a leading underscore: a helper, not an image of its own)."""


def answer(handler, code, text):
    """Writes a complete text/plain response with a Content-Length, so clients need no chunked decoding."""
    body = text.encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
