"""The real JWKS adapter (urllib) against a local HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from shared.auth.jwks import HttpJwksSource, JwksUnavailable
from tests.unit.people.conftest import KeyPair

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"body": b"", "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/pool/.well-known/jwks.json", state
    httpd.shutdown()
    httpd.server_close()


def test_the_http_source_reads_the_pools_keys(server: tuple[str, dict[str, Any]]) -> None:
    # Given the endpoint serves a JWKS
    url, state = server
    state["body"] = json.dumps({"keys": [KeyPair("k").jwk()]}).encode()
    # When it is fetched
    doc = HttpJwksSource(url).fetch()
    # Then
    assert [k["kid"] for k in doc["keys"]] == ["k"]


@pytest.mark.parametrize(("status", "body"), [(200, b"not json"), (200, b'{"no": "keys"}'), (500, b"{}")])
def test_a_broken_endpoint_is_unavailable_not_an_empty_key_set(
    server: tuple[str, dict[str, Any]], status: int, body: bytes
) -> None:
    url, state = server
    state["status"], state["body"] = status, body
    with pytest.raises(JwksUnavailable):
        HttpJwksSource(url).fetch()


def test_an_unreachable_endpoint_is_unavailable() -> None:
    with pytest.raises(JwksUnavailable):
        HttpJwksSource("http://127.0.0.1:9/none", timeout_s=0.5).fetch()
