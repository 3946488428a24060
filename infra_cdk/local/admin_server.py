"""The admin API on HTTP: routes like API Gateway (from ``constants.FUNCTIONS``), Cognito-style.

As the REST API's Cognito authorizer does, a request without a bearer token never reaches a
function (401); the token's claims are handed over in ``requestContext.authorizer.claims``.
The functions verify the token themselves (signature via the pool's JWKS, issuer, client,
token use, expiry), exactly as they do in AWS.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from infra_cdk.constants import FUNCTIONS, NO_ROUTE_MESSAGE, existing_functions
from infra_cdk.local.apigw import FakeLambdaContext, admin_event
from infra_cdk.local.http_base import GatewayRequestHandler, GatewayServer, ServerThread

if TYPE_CHECKING:
    from collections.abc import Callable


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": ""}}


@dataclass(frozen=True)
class _Route:
    function: str
    method: str
    pattern: re.Pattern[str]
    params: tuple[str, ...]


class AdminGateway:
    """Maps (method, path) to an admin function's handler and builds its REST proxy event."""

    def __init__(self, functions: list[str] | None = None) -> None:
        names = (
            functions
            if functions is not None
            else [n for n in existing_functions() if FUNCTIONS[n].api == "admin"]
        )
        self.functions = names
        self._routes: list[_Route] = []
        self._handlers: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}
        self._locks: dict[str, threading.Lock] = {}
        for name in names:
            for route in FUNCTIONS[name].routes:
                params = tuple(re.findall(r"\{(\w+)\}", route.path))
                regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path)) + "$"
                for method in route.methods:
                    self._routes.append(_Route(name, method, re.compile(regex), params))

    def handler(self, function: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        if function not in self._handlers:
            module = importlib.import_module(f"functions.{function}.handler")
            self._handlers[function] = module.lambda_handler
            self._locks[function] = threading.Lock()
        return self._handlers[function]

    def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], str]:
        """(status, JSON body, the function that answered or "gateway")."""
        parts = urlsplit(target)
        found = next(
            ((r, m) for r in self._routes if r.method == method and (m := r.pattern.match(parts.path))), None
        )
        if found is None:
            # API Gateway answers an unknown path, or a method the path lacks, with its
            # MISSING_AUTHENTICATION_TOKEN response, which infra_cdk.api_common makes this 404.
            return 404, _error("not_found", NO_ROUTE_MESSAGE), "gateway"
        route, match = found
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            return 401, _error("unauthenticated", "A valid bearer token is required."), "gateway"
        event = admin_event(
            method,
            parts.path,
            token,
            body.decode("utf-8", errors="surrogateescape") if body else None,
            query=dict(parse_qsl(parts.query)) or None,
            path_params=match.groupdict() or None,
        )
        handler = self.handler(route.function)
        with self._locks[route.function]:  # one request at a time per "container", as in Lambda
            result = handler(event, FakeLambdaContext())
        payload = json.loads(result.get("body") or "{}")
        return int(result["statusCode"]), payload, route.function


class _Server(GatewayServer):
    gateway: AdminGateway


class _RequestHandler(GatewayRequestHandler):
    server: _Server
    label = "admin"

    def serve(self) -> None:
        started = time.perf_counter()
        body = self.read_body()
        if body is None:
            return
        status, payload, who = self.server.gateway.dispatch(
            self.command, self.path, dict(self.headers.items()), body
        )
        self.reply(status, json.dumps(payload).encode() if payload != {} or status != 204 else b"")
        self.server.log(
            f"admin  {self.command} {urlsplit(self.path).path} -> {status} via {who} "
            f"({(time.perf_counter() - started) * 1000:.0f} ms)"
        )


class AdminApiServer(ServerThread):
    def __init__(
        self, host: str, port: int, gateway: AdminGateway, log: Callable[[str], None] = print
    ) -> None:
        httpd = _Server((host, port), _RequestHandler)
        httpd.gateway = gateway
        httpd.log = log
        super().__init__(httpd, "admin-api")
