from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from functions.ingest_api import logic
from shared.dynamo.consent import ConsentState, ConsentStatus
from shared.dynamo.devices import Device
from shared.dynamo.tenants import TenantSettings
from shared.errors import (
    ConsentRequired,
    DependencyUnavailable,
    DeviceNotAuthorized,
    InvalidJson,
    PayloadTooLarge,
    ValidationFailed,
)
from shared.models.events import RECORD_ADAPTER
from tests.support.activity import make_events

if TYPE_CHECKING:
    from collections.abc import Sequence

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
LIMITS = logic.Limits(
    max_body_bytes=1024 * 1024,
    max_events=1000,
    max_future_skew_s=300,
    max_record_bytes=900_000,
    put_max_attempts=3,
)
DEVICE = Device("d-1", "t-1", "e-1", "ck", "CN=CA", "1f", NOW - timedelta(days=1), NOW + timedelta(days=300))
ALL = ConsentState(ConsentStatus.ACTIVE, "v1", frozenset({"apps", "window_titles", "urls", "input_counts"}))
TENANT = TenantSettings(tenant_id="t-1")


class FakeStream:
    """Fails the first ``fail_first`` records of the first ``fail_calls`` calls."""

    def __init__(self, fail_calls: int = 0, fail_first: int = 0) -> None:
        self.calls: list[list[bytes]] = []
        self.fail_calls = fail_calls
        self.fail_first = fail_first

    def put(self, partition_key: str, records: Sequence[bytes]) -> list[int]:
        self.calls.append(list(records))
        if len(self.calls) <= self.fail_calls:
            return list(range(min(self.fail_first, len(records))))
        return []


def body(events: list[dict[str, object]]) -> bytes:
    return json.dumps({"events": events}).encode()


def test_a_clean_batch_goes_on_the_stream_as_one_record_keyed_by_employee() -> None:
    stream = FakeStream()
    result = logic.ingest(
        body(make_events(100, start=NOW - timedelta(hours=1))), DEVICE, ALL, TENANT, stream, LIMITS, NOW
    )
    assert result.accepted == 100
    assert len(stream.calls) == 1
    assert len(stream.calls[0]) == 1
    record = RECORD_ADAPTER.validate_json(stream.calls[0][0])
    assert (record.tenant_id, record.employee_id, record.device_id) == ("t-1", "e-1", "d-1")
    assert len(record.events) == 100


def test_only_failed_records_are_retried() -> None:
    stream = FakeStream(fail_calls=1, fail_first=1)
    logic.put_with_retries(stream, "e-1", [b"a", b"b", b"c"], max_attempts=3, sleep=lambda _s: None)
    assert stream.calls == [[b"a", b"b", b"c"], [b"a"]]


def test_a_stream_that_keeps_failing_is_503_so_the_agent_retries() -> None:
    stream = FakeStream(fail_calls=99, fail_first=1)
    with pytest.raises(DependencyUnavailable):
        logic.put_with_retries(stream, "e-1", [b"a"], max_attempts=3, sleep=lambda _s: None)
    assert len(stream.calls) == 3


def test_records_are_split_to_fit_the_kinesis_record_limit() -> None:
    events = make_events(1000, start=NOW - timedelta(hours=3))
    for e in events:
        e["window_title"] = "w" * 900
        e.setdefault("app", "code")
    parsed, _ = logic.parse_batch(
        body(events), logic.Limits(**{**LIMITS.__dict__, "max_body_bytes": 2 * 1024 * 1024})
    )
    records = logic.encode_records(DEVICE, [e for _, e in parsed], NOW, 300_000)
    assert len(records) > 1
    assert all(len(r) <= 300_000 for r in records)
    assert sum(len(RECORD_ADAPTER.validate_json(r).events) for r in records) == 1000


def test_no_active_consent_refuses_before_parsing() -> None:
    for state in (ConsentState(ConsentStatus.NONE), ConsentState(ConsentStatus.WITHDRAWN)):
        with pytest.raises(ConsentRequired):
            logic.ingest(b"not even json", DEVICE, state, TENANT, FakeStream(), LIMITS, NOW)


def test_body_errors_map_to_their_codes() -> None:
    with pytest.raises(InvalidJson):
        logic.parse_batch(b'{"events": [}', LIMITS)
    with pytest.raises(ValidationFailed):
        logic.parse_batch(b'{"events": {}}', LIMITS)
    with pytest.raises(PayloadTooLarge):
        logic.parse_batch(b" " * (LIMITS.max_body_bytes + 1), LIMITS)


def test_unknown_revoked_or_expired_registrations_are_refused() -> None:
    class Registry:
        def __init__(self, device: Device | None) -> None:
            self.device = device

        def get_by_cert_key(self, key: str) -> Device | None:
            return self.device

    from shared.certs import CertIdentity

    ident = CertIdentity("CN=CA", "1f", "CN=dev", NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert logic.authorize_device(ident, Registry(DEVICE), NOW) == DEVICE
    for device in (
        None,
        dataclasses.replace(DEVICE, revoked_at=NOW - timedelta(minutes=1)),
        Device("d-1", "t-1", "e-1", "ck", "CN=CA", "1f", NOW - timedelta(days=9), NOW - timedelta(days=1)),
    ):
        with pytest.raises(DeviceNotAuthorized):
            logic.authorize_device(ident, Registry(device), NOW)


def test_a_fully_accepted_body_is_forwarded_without_reserialising() -> None:
    # Given a body with odd but valid spacing, every event of which is accepted
    events = make_events(50, start=NOW - timedelta(hours=1))
    raw = b"  \n" + json.dumps({"events": events}, indent=1).encode() + b"\n "
    stream = FakeStream()
    # When it is ingested
    logic.ingest(raw, DEVICE, ALL, TENANT, stream, LIMITS, NOW)
    # Then the record is the body spliced after the registry's identity, and decodes to the same events
    (record_bytes,) = stream.calls[0]
    assert record_bytes.endswith(raw.strip()[1:])
    record = RECORD_ADAPTER.validate_json(record_bytes)
    assert (record.tenant_id, record.employee_id, record.device_id) == ("t-1", "e-1", "d-1")
    assert [str(e.event_id) for e in record.events] == [e["event_id"] for e in events]


def test_a_body_with_rejections_is_reserialised_without_them() -> None:
    events = make_events(10, start=NOW - timedelta(hours=1))
    events[3]["ts"] = (NOW + timedelta(hours=1)).isoformat()
    stream = FakeStream()
    result = logic.ingest(body(events), DEVICE, ALL, TENANT, stream, LIMITS, NOW)
    assert result.accepted == 9
    record = RECORD_ADAPTER.validate_json(stream.calls[0][0])
    assert events[3]["event_id"] not in {str(e.event_id) for e in record.events}


def test_a_writer_thread_bug_fails_the_batch_instead_of_reporting_success() -> None:
    # Given a writer whose commit hits an unexpected error after the last chunk
    from contextlib import contextmanager

    from functions.ingest_stream.pipeline import PipelinedBatch
    from shared.db.events import EventRow

    class Pool:
        @contextmanager
        def connection(self):  # type: ignore[no-untyped-def]
            yield object()

    class Writer:
        def begin(self, conn: object) -> Writer:
            return self

        def write_encoded(self, chunk: object) -> None:
            pass

        def commit(self, before_commit: object = None) -> list[object]:
            raise KeyError("bug")

    ts = NOW
    row = EventRow(ts, uuid.uuid4(), "t", "e", "d", "idle", 1, None, None, None, None, None, None, None, ts)
    batch = PipelinedBatch(Pool(), Writer(), chunk_rows=1)  # type: ignore[arg-type]
    batch.add([row, row, row])
    # When it finishes, then the bug surfaces on the caller's thread (and nothing hangs)
    with pytest.raises(KeyError):
        batch.finish()
