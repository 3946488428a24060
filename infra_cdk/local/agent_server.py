"""The agent API on HTTPS with mutual TLS, handing requests to the real handler as API Gateway does.

The TLS layer requires a client certificate signed by the local CA (no certificate, or one of
another CA, is refused in the handshake, as API Gateway's truststore refuses it). The verified
certificate is passed to the handler in ``requestContext.identity.clientCert``.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from infra_cdk.local.apigw import FakeLambdaContext, rest_event

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# API Gateway's own limit on a request payload; larger bodies never reach the function.
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024


def gateway_error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "request_id": ""}}).encode()


def pem_from_der(der: bytes) -> str:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    handler: Any
    log: Callable[[str], None]
    lock: threading.Lock

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        err = sys.exc_info()[1]
        if isinstance(err, (ssl.SSLError, ConnectionError, TimeoutError)):
            self.log(f"agent  TLS refused from {client_address[0]}: {err}")
        else:
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is logged in _serve

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        if length > API_GATEWAY_MAX_BODY:
            # Read (and drop) what the client sends, so it sees the answer rather than a reset.
            remaining = min(length, 8 * API_GATEWAY_MAX_BODY)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            self._reply(413, gateway_error("payload_too_large", "Request too large for API Gateway."), {})
            self.close_connection = True
            self.server.log(f"agent  {self.command} {self.path} -> 413 ({length} B in, refused)")
            return
        body = self.rfile.read(length) if length else b""
        der = self.connection.getpeercert(binary_form=True)  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        event = rest_event(
            self.command,
            parts.path,
            body.decode("utf-8", errors="surrogateescape") if body else None,
            cert_pem=pem_from_der(der) if der else None,
            headers={k: v for k, v in self.headers.items()},
        )
        event["queryStringParameters"] = dict(parse_qsl(parts.query)) or None
        event["requestContext"]["identity"]["sourceIp"] = self.client_address[0]
        with self.server.lock:  # one request at a time per "container", as in Lambda
            result = self.server.handler(event, FakeLambdaContext())
        payload = (result.get("body") or "").encode()
        self._reply(int(result["statusCode"]), payload, result.get("headers") or {})
        self.server.log(
            f"agent  {self.command} {parts.path} -> {result['statusCode']} "
            f"({len(body)} B in, {(time.perf_counter() - started) * 1000:.0f} ms)"
        )

    def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        headers = {"Content-Type": "application/json", **headers}
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def tls_context(server_cert: Path, server_key: Path, client_ca: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(server_cert, server_key)
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class AgentApiServer:
    def __init__(
        self,
        host: str,
        port: int,
        handler: Any,
        context: ssl.SSLContext,
        log: Callable[[str], None] = print,
    ) -> None:
        self._httpd = _Server((host, port), _RequestHandler)
        self._httpd.handler = handler
        self._httpd.log = log
        self._httpd.lock = threading.Lock()
        # The handshake runs in the request's thread, so a slow client cannot stall accept().
        self._httpd.socket = context.wrap_socket(
            self._httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="agent-api", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
