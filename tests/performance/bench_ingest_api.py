"""``ingest_api_events_per_s``: 1,000-event batches through the real handler (Kinesis faked in memory).

Baseline ``bare_validation_events_per_s``: the same bytes through ``TypeAdapter(list[Event]).validate_json``.

The headline figure replaces every network port with an in-memory one (Kinesis, and the device,
consent and tenant registries), so it measures the CPU our code spends per event: routing, the
client certificate, validation, consent screening and record encoding. DynamoDB's latency is I/O,
not CPU. ``ingest_api_events_per_s_moto`` keeps the registries on moto's in-process DynamoDB,
whose emulation costs ~4 ms of CPU per request (one uncached, strongly consistent device read).
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from shared.models.events import Event

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tests.performance.report import Report

BATCH = 1000
ROUNDS = 30


class InMemoryStream:
    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0

    def put(self, partition_key: str, records: Sequence[bytes]) -> list[int]:
        self.records += len(records)
        self.bytes += sum(len(r) for r in records)
        return []


class InMemory:
    def __init__(self, **methods: Any) -> None:
        self.__dict__.update(methods)


def _rate(fn: Any, n_events: int, rounds: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(n_events / (time.perf_counter() - start))
    return statistics.median(samples)


def run(report: Report) -> None:
    from moto import mock_aws

    from functions.ingest_api import handler
    from infra_cdk.local.apigw import FakeLambdaContext, rest_event
    from infra_cdk.local.pki import LocalCA
    from infra_cdk.local.resources import create_resources
    from shared import aws
    from shared.dynamo.consent import ConsentStatus
    from tests.conftest import ALL_CATEGORIES, enroll, set_consent
    from tests.support.activity import make_events

    events = make_events(BATCH, start=datetime.now(UTC) - timedelta(hours=3))
    body = json.dumps({"events": events})
    events_bytes = json.dumps(events).encode()
    adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])

    bare = _rate(lambda: adapter.validate_json(events_bytes), BATCH, ROUNDS)
    report.baseline("bare_validation_events_per_s", bare, "events/s")

    with mock_aws():
        aws.reset_clients()
        res = create_resources(prefix="bench")
        import os

        for k, v in res.env().items():
            os.environ[k] = v
        handler.deps.cache_clear()
        agent = enroll(LocalCA(), res.devices_table)
        set_consent(res.consent_table, agent, ConsentStatus.ACTIVE, ALL_CATEGORIES)
        d = handler.deps()
        object.__setattr__(d, "publisher", InMemoryStream())
        event = rest_event("POST", "/v1/events", body, cert_pem=agent.cert.cert_pem)
        ctx = FakeLambdaContext()

        def call() -> None:
            resp = handler.lambda_handler(event, ctx)
            assert resp["statusCode"] == 202, resp["body"]
            assert json.loads(resp["body"])["accepted"] == BATCH, resp["body"]

        with_moto = _rate(call, BATCH, ROUNDS)
        device = d.devices.get_by_cert_key(agent.device.cert_key)
        consent = d.consent.current(agent.tenant_id, agent.employee_id)
        tenant = d.tenants.get(agent.tenant_id)
        object.__setattr__(d, "devices", InMemory(get_by_cert_key=lambda _k: device))
        object.__setattr__(d, "consent", InMemory(current=lambda _t, _e: consent))
        object.__setattr__(d, "tenants", InMemory(get=lambda _t: tenant))
        in_memory = _rate(call, BATCH, ROUNDS)
        handler.deps.cache_clear()
    aws.reset_clients()
    report.figure(
        "ingest_api_events_per_s", in_memory, "events/s", "bare_validation_events_per_s", goal="ratio >= 0.5"
    )
    report.figure("ingest_api_events_per_s_moto", with_moto, "events/s", "bare_validation_events_per_s")
