"""Ingestion use case: validate a batch, keep what the consent covers, put it on the stream.

Identity (tenant, employee, device) comes from the device registry entry of the client
certificate, never from the body.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from functions.ingest_api.models import IngestResult, Rejection
from shared.errors import (
    ConsentRequired,
    DependencyUnavailable,
    DeviceNotAuthorized,
    InvalidJson,
    PayloadTooLarge,
    ValidationFailed,
)
from shared.http import validation_details
from shared.models.events import (
    BATCH_ADAPTER,
    CATEGORY_FIELDS,
    EVENT_ADAPTER,
    EVENTS_ADAPTER,
    Category,
    Event,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shared.certs import CertIdentity
    from shared.dynamo.consent import ConsentState
    from shared.dynamo.devices import Device
    from shared.dynamo.tenants import TenantSettings


class DeviceLookup(Protocol):
    def get_by_cert_key(self, key: str) -> Device | None: ...


class StreamPublisher(Protocol):
    def put(self, partition_key: str, records: Sequence[bytes]) -> list[int]:
        """Put records; return the indexes of those that failed (to be retried)."""
        ...


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    max_events: int
    max_future_skew_s: int
    max_record_bytes: int
    put_max_attempts: int


def authorize_device(ident: CertIdentity, registry: DeviceLookup, now: datetime) -> Device:
    """The active device registered for this certificate, or 403 ``device_not_authorized``."""
    device = registry.get_by_cert_key(ident.cert_key)
    if device is None:
        raise DeviceNotAuthorized("This certificate is not registered to a device.")
    if device.revoked_at is not None:
        raise DeviceNotAuthorized("This device has been revoked.")
    if not device.is_active(now):
        raise DeviceNotAuthorized("This device's registration is not valid at this time.")
    return device


def parse_batch(body: bytes, limits: Limits) -> tuple[list[tuple[int, Event]], list[Rejection]]:
    """Validate the body; return (index, event) pairs that passed and per-event rejections.

    The fast path validates the whole body in one pydantic call. Only when that fails are events
    validated one by one, so that one bad event rejects itself and not its batch.
    """
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLarge(f"The body is {len(body)} bytes; the limit is {limits.max_body_bytes}.")
    try:
        batch = BATCH_ADAPTER.validate_json(body)
        return list(enumerate(batch.events)), []
    except ValidationError as err:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            raise InvalidJson() from err
    return _parse_event_by_event(body, limits)


def _parse_event_by_event(body: bytes, limits: Limits) -> tuple[list[tuple[int, Event]], list[Rejection]]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidJson() from err
    if not isinstance(doc, dict) or set(doc) != {"events"} or not isinstance(doc["events"], list):
        raise ValidationFailed(
            'The body must be an object with exactly one field, "events", a list of events.',
        )
    items: list[Any] = doc["events"]
    if not 1 <= len(items) <= limits.max_events:
        raise ValidationFailed(f"A batch holds 1 to {limits.max_events} events; this one has {len(items)}.")
    accepted: list[tuple[int, Event]] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            accepted.append((index, EVENT_ADAPTER.validate_json(json.dumps(item))))
        except ValidationError as err:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            details = validation_details(err.errors(include_url=False))
            message = "; ".join(f"{'.'.join(d['loc']) or 'event'}: {d['msg']}" for d in details)
            rejected.append(
                Rejection(
                    index=index,
                    event_id=event_id if isinstance(event_id, str) else None,
                    code="invalid_event",
                    message=message[:1000],
                )
            )
    return accepted, rejected


def screen_events(
    events: list[tuple[int, Event]],
    consent: ConsentState,
    tenant: TenantSettings,
    now: datetime,
    limits: Limits,
) -> tuple[list[Event], list[Rejection]]:
    """Reject events outside the time window or whose data categories the consent does not cover.

    The common case (every event in the window, consent covering every field present) is
    decided for the whole batch at once; only a batch with a problem is checked event by event.
    """
    if not consent.active:
        raise ConsentRequired()
    newest = now + timedelta(seconds=limits.max_future_skew_s)
    oldest = now - timedelta(days=tenant.retention_days)
    banned = [(cat, fields) for cat, fields in CATEGORY_FIELDS.items() if cat not in consent.categories]
    stamps = [event.ts for _, event in events]
    in_window = not stamps or (min(stamps) >= oldest and max(stamps) <= newest)
    if in_window and not any(getattr(e, f) is not None for _, e in events for _, fs in banned for f in fs):
        return [event for _, event in events], []
    kept: list[Event] = []
    rejected: list[Rejection] = []
    for index, event in events:
        problem = _problem(event, banned, oldest, newest, tenant, limits)
        if problem is None:
            kept.append(event)
        else:
            rejected.append(
                Rejection(index=index, event_id=str(event.event_id), code=problem[0], message=problem[1])
            )
    return kept, rejected


def _problem(
    event: Event,
    banned: list[tuple[Category, tuple[str, ...]]],
    oldest: datetime,
    newest: datetime,
    tenant: TenantSettings,
    limits: Limits,
) -> tuple[str, str] | None:
    if event.ts > newest:
        return "timestamp_in_future", f"ts is more than {limits.max_future_skew_s} s in the future"
    if event.ts < oldest:
        return "timestamp_too_old", f"ts is older than the tenant's retention ({tenant.retention_days} days)"
    missing = sorted(
        cat.value for cat, fields in banned if any(getattr(event, f) is not None for f in fields)
    )
    if missing:
        return "category_not_consented", f"the consent does not cover: {', '.join(missing)}"
    return None


def _record_header(device: Device, received_at: datetime) -> bytes:
    """The record's identity fields as an unterminated JSON object (``{"v":1,...`` without ``}``)."""
    return json.dumps(
        {
            "v": 1,
            "tenant_id": device.tenant_id,
            "employee_id": device.employee_id,
            "device_id": device.device_id,
            "received_at": received_at.isoformat(),
        },
        separators=(",", ":"),
    ).encode()[:-1]


def spliced_record(device: Device, body: bytes, received_at: datetime, max_bytes: int) -> bytes | None:
    """The whole validated body as one record, without re-serialising it, when it fits.

    Valid only when every event of the body was accepted: the body was validated as exactly
    ``{"events": [...]}``, so its tail after the opening brace is the record's ``"events"`` member.
    """
    stripped = body.strip()
    if not stripped.startswith(b"{"):
        return None
    record = _record_header(device, received_at) + b"," + stripped[1:]
    return record if len(record) <= max_bytes else None


def encode_records(device: Device, events: list[Event], received_at: datetime, max_bytes: int) -> list[bytes]:
    """Serialise accepted events into as few stream records as fit under ``max_bytes`` each.

    A record carries one request's events of one employee (as the KPL aggregates), so the
    stream and the consumer handle records, not single events.
    """
    header = _record_header(device, received_at)
    chunks = [events]
    while True:
        records = [
            header + b',"events":' + EVENTS_ADAPTER.dump_json(c, exclude_none=True) + b"}" for c in chunks
        ]
        too_big = [i for i, r in enumerate(records) if len(r) > max_bytes]
        if not too_big:
            return records
        chunks = [
            half
            for i, c in enumerate(chunks)
            for half in ((c[: len(c) // 2], c[len(c) // 2 :]) if i in too_big else (c,))
        ]


def put_with_retries(
    publisher: StreamPublisher,
    partition_key: str,
    records: list[bytes],
    max_attempts: int,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Put every record, retrying only those that failed; 503 if some still fail."""
    pending = records
    for attempt in range(max_attempts):
        failed = publisher.put(partition_key, pending)
        if not failed:
            return
        pending = [pending[i] for i in failed]
        if attempt + 1 < max_attempts:
            sleep(0.05 * 2**attempt)
    raise DependencyUnavailable("The event stream did not accept the events; retry the whole batch.")


def ingest(
    body: bytes,
    device: Device,
    consent: ConsentState,
    tenant: TenantSettings,
    publisher: StreamPublisher,
    limits: Limits,
    now: datetime | None = None,
) -> IngestResult:
    """The whole of ``POST /v1/events`` after authentication: 202 body, or a domain error."""
    now = now or datetime.now(UTC)
    if not consent.active:
        raise ConsentRequired()
    parsed, rejected = parse_batch(body, limits)
    kept, more_rejected = screen_events(parsed, consent, tenant, now, limits)
    if kept:
        whole = (
            None if rejected or more_rejected else spliced_record(device, body, now, limits.max_record_bytes)
        )
        records = [whole] if whole is not None else encode_records(device, kept, now, limits.max_record_bytes)
        put_with_retries(publisher, device.employee_id, records, limits.put_max_attempts)
    all_rejected = sorted(rejected + more_rejected, key=lambda r: r.index)
    return IngestResult(accepted=len(kept), rejected=all_rejected)
