from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from functions.ingest_api import handler as ingest_api
from functions.ingest_stream import handler as ingest_stream
from infra_cdk.local.apigw import FakeLambdaContext, rest_event
from shared.db import pool as db_pool
from tests.support.kinesis import stream_to_lambda_event

if TYPE_CHECKING:
    from infra_cdk.local.resources import Resources
    from tests.conftest import Agent

pytestmark = pytest.mark.integration


@pytest.fixture
def handlers(
    aws_resources: Resources, pg_url: str, db: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Both ingestion handlers wired to moto and the test database, with fresh per-container state."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    ingest_api.deps.cache_clear()
    ingest_stream.deps.cache_clear()
    yield
    ingest_api.deps.cache_clear()
    ingest_stream.deps.cache_clear()
    db_pool.close_all()


PostEvents = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture
def post_events(handlers: None) -> PostEvents:
    def post(agent: Agent, body: Any, raw: bool = False) -> tuple[int, dict[str, Any]]:
        payload = body if raw else json.dumps(body)
        resp = ingest_api.lambda_handler(
            rest_event("POST", "/v1/events", payload, cert_pem=agent.cert.cert_pem), FakeLambdaContext()
        )
        return resp["statusCode"], json.loads(resp["body"])

    return post


@pytest.fixture
def deliver(handlers: None, aws_resources: Resources) -> Callable[..., dict[str, Any]]:
    """Deliver everything on the stream to the consumer (as Lambda would), ``times`` times over."""

    def run(times: int = 1, event: dict[str, Any] | None = None) -> dict[str, Any]:
        evt = event or stream_to_lambda_event(aws_resources.stream_name)
        result: dict[str, Any] = {}
        for _ in range(times):
            result = dict(ingest_stream.lambda_handler(evt, FakeLambdaContext()))
        return result

    return run
