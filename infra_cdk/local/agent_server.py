"""The agent API on HTTPS with mutual TLS, handing requests to the real handler as API Gateway does.

The TLS layer requires a client certificate signed by the local CA (no certificate, or one of
another CA, is refused in the handshake, as API Gateway's truststore refuses it). The verified
certificate is passed to the handler in ``requestContext.identity.clientCert``.
"""

from __future__ import annotations

import ssl
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from infra_cdk.local.apigw import FakeLambdaContext, rest_event
from infra_cdk.local.http_base import GatewayRequestHandler, GatewayServer, ServerThread

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def pem_from_der(der: bytes) -> str:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


class _Server(GatewayServer):
    handler: Any
    lock: threading.Lock

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        err = sys.exc_info()[1]
        if isinstance(err, (ssl.SSLError, ConnectionError, TimeoutError)):
            self.log(f"agent  TLS refused from {client_address[0]}: {err}")
        else:
            super().handle_error(request, client_address)


class _RequestHandler(GatewayRequestHandler):
    server: _Server
    label = "agent"

    def serve(self) -> None:
        started = time.perf_counter()
        body = self.read_body()
        if body is None:
            return
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
        self.reply(
            int(result["statusCode"]), (result.get("body") or "").encode(), result.get("headers") or {}
        )
        self.server.log(
            f"agent  {self.command} {parts.path} -> {result['statusCode']} "
            f"({len(body)} B in, {(time.perf_counter() - started) * 1000:.0f} ms)"
        )


def tls_context(server_cert: Path, server_key: Path, client_ca: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(server_cert, server_key)
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class AgentApiServer(ServerThread):
    def __init__(
        self,
        host: str,
        port: int,
        handler: Any,
        context: ssl.SSLContext,
        log: Callable[[str], None] = print,
    ) -> None:
        httpd = _Server((host, port), _RequestHandler)
        httpd.handler = handler
        httpd.log = log
        httpd.lock = threading.Lock()
        # The handshake runs in the request's thread, so a slow client cannot stall accept().
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        super().__init__(httpd, "agent-api")
