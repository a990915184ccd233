"""A stand-in Prometheus HTTP API on a loopback port, for client tests that need a misbehaving server."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional


class Fake:
    """What the server answers. `answer(path, params, headers)` -> (status, body bytes,
    extra headers); the default serves `vectors` (metric name -> [(labels, value)])."""

    def __init__(self) -> None:
        self.requests: list = []
        self.vectors: dict = {}
        self.matrices: list = []
        self.delay = 0.0
        self.answer: Optional[Callable] = None

    def default(self, path: str, params: dict, headers) -> tuple:
        if path.endswith("/query_range"):
            result = [{"metric": m, "values": v} for m, v in self.matrices]
            return 200, _ok({"resultType": "matrix", "result": result}), {}
        result = [
            {"metric": labels, "value": [0, str(value)]}
            for labels, value in self.vectors.get(params.get("query", ""), [])
        ]
        return 200, _ok({"resultType": "vector", "result": result}), {}


def _ok(data: dict) -> bytes:
    return json.dumps({"status": "success", "data": data}).encode()


@contextlib.contextmanager
def fake_prometheus(tls: Optional[tuple] = None):
    """tls: (certificate file, key file) to serve https instead of http."""
    fake = Fake()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            parsed = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(body or parsed.query))
            fake.requests.append((parsed.path, params, dict(self.headers)))
            if fake.delay:
                time.sleep(fake.delay)
            answer = fake.answer or fake.default
            status, payload, extra = answer(parsed.path, params, self.headers)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    fake.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
