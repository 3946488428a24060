"""What both local API servers share: threaded server, method dispatch, API Gateway's body limit
(413 after draining, so the client reads the answer instead of a reset), JSON replies, lifecycle."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

# API Gateway's own limit on a request payload; larger bodies never reach a function.
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024


def gateway_error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "request_id": ""}}).encode()


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    log: Callable[[str], None]


class GatewayRequestHandler(BaseHTTPRequestHandler):
    """Subclasses implement ``serve()``; every method goes there."""

    server: GatewayServer
    protocol_version = "HTTP/1.1"
    label = "api"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # each server logs one line per request itself

    def do_GET(self) -> None:
        self.serve()

    def do_POST(self) -> None:
        self.serve()

    def do_PUT(self) -> None:
        self.serve()

    def do_DELETE(self) -> None:
        self.serve()

    def serve(self) -> None:
        raise NotImplementedError

    def read_body(self) -> bytes | None:
        """The body, or ``None`` once a too-large one has been drained and answered 413."""
        length = int(self.headers.get("Content-Length") or 0)
        if length <= API_GATEWAY_MAX_BODY:
            return self.rfile.read(length) if length else b""
        remaining = min(length, 8 * API_GATEWAY_MAX_BODY)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        self.reply(413, gateway_error("payload_too_large", "Request too large for API Gateway."))
        self.close_connection = True
        self.server.log(f"{self.label:<6} {self.command} {self.path} -> 413 ({length} B in, refused)")
        return None

    def reply(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class ServerThread:
    """Runs a server on a daemon thread; ``stop`` shuts it down and frees the port."""

    def __init__(self, httpd: GatewayServer, name: str) -> None:
        self.httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
