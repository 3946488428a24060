"""Stream consumer use case: decode records, encrypt sensitive fields, store a batch exactly once.

Each Kinesis record is decoded and turned into rows on its own (a poison record fails alone);
the rows of all good records are then written in ONE transaction (all stored, or none).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shared.audit.model import Actor, ActorType, AuditEntry, Outcome
from shared.crypto.fields import FieldCipher, associated_data
from shared.db.events import EventRow, StoredSummary
from shared.models.events import RECORD_ADAPTER, StreamRecord, url_domain

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shared.dynamo.consent import ConsentState

SOURCE = "workforce.ingestion"
DETAIL_TYPE = "ActivityStored"
# EventBridge caps an entry at 256 KB; ~150 bytes per employee keeps well inside it.
_EMPLOYEES_PER_ENTRY = 500


class ConsentReader(Protocol):
    def current(self, tenant_id: str, employee_id: str) -> ConsentState: ...


class KeyProvider(Protocol):
    def key_for(self, tenant_id: str, employee_id: str) -> bytes: ...


class BatchSink(Protocol):
    """Receives a batch's rows as they are decoded; ``finish`` commits them all, or raises having stored none."""

    def add(self, rows: Sequence[EventRow]) -> None: ...

    def finish(self) -> list[StoredSummary]: ...


class EventStore(Protocol):
    def begin(self) -> BatchSink: ...


class EventPublisher(Protocol):
    def publish(self, entries: list[dict[str, Any]]) -> int:
        """Put EventBridge entries; return how many failed."""
        ...


@dataclass
class DecodedRecord:
    record: StreamRecord
    rows: list[EventRow] = field(default_factory=list)
    dropped: bool = False


def decode(data: bytes) -> StreamRecord:
    """Validate one record's payload; raises ``pydantic.ValidationError`` for a poison record."""
    return RECORD_ADAPTER.validate_json(data)


class BatchSubjects:
    """What one invocation needs per subject, resolved once per batch: consent and field cipher."""

    def __init__(self, consent: ConsentReader, keys: KeyProvider) -> None:
        self._consent = consent
        self._keys = keys
        self._active: dict[tuple[str, str], bool] = {}
        self._ciphers: dict[tuple[str, str], FieldCipher] = {}

    def active(self, tenant_id: str, employee_id: str) -> bool:
        key = (tenant_id, employee_id)
        found = self._active.get(key)
        if found is None:
            found = self._active[key] = self._consent.current(tenant_id, employee_id).active
        return found

    def cipher(self, tenant_id: str, employee_id: str) -> FieldCipher:
        key = (tenant_id, employee_id)
        found = self._ciphers.get(key)
        if found is None:
            found = self._ciphers[key] = FieldCipher(self._keys.key_for(tenant_id, employee_id))
        return found


def to_rows(rec: StreamRecord, subjects: BatchSubjects) -> DecodedRecord:
    """The rows for one record, with window titles and full URLs encrypted under the subject's key.

    A record whose employee no longer has an active consent is dropped: the withdrawal is newer
    than the events, and their purge must not race with their arrival.
    """
    if not subjects.active(rec.tenant_id, rec.employee_id):
        return DecodedRecord(rec, dropped=True)
    cipher: FieldCipher | None = None
    rows: list[EventRow] = []
    for ev in rec.events:
        title_enc = url_enc = None
        if ev.window_title is not None or ev.url is not None:
            if cipher is None:
                cipher = subjects.cipher(rec.tenant_id, rec.employee_id)
            row_id = str(ev.event_id)
            if ev.window_title is not None:
                aad = associated_data(rec.tenant_id, rec.employee_id, row_id, "window_title")
                title_enc = cipher.encrypt(ev.window_title, aad)
            if ev.url is not None:
                url_enc = cipher.encrypt(
                    ev.url, associated_data(rec.tenant_id, rec.employee_id, row_id, "url")
                )
        rows.append(
            EventRow(
                ts=ev.ts,
                event_id=ev.event_id,
                tenant_id=rec.tenant_id,
                employee_id=rec.employee_id,
                device_id=rec.device_id,
                type=ev.type.value,
                duration_ms=ev.duration_ms,
                app=ev.app,
                domain=url_domain(ev.url) if ev.url is not None else None,
                window_title_enc=title_enc,
                url_enc=url_enc,
                key_count=ev.key_count,
                mouse_count=ev.mouse_count,
                agent_version=ev.agent_version,
                received_at=rec.received_at,
            )
        )
    return DecodedRecord(rec, rows=rows)


def audit_entries(stored: list[StoredSummary], request_id: str) -> list[AuditEntry]:
    """One audit entry per employee whose events this batch stored (nothing for pure redeliveries)."""
    return [
        AuditEntry(
            tenant_id=s.tenant_id,
            actor=Actor(ActorType.SYSTEM, "ingest_stream"),
            action="activity.events.store",
            resource="activity/events",
            purpose="consented_monitoring",
            outcome=Outcome.ALLOWED,
            request_id=request_id or "ingest_stream",
            subject_employee_id=s.employee_id,
        )
        for s in stored
        if s.inserted
    ]


def summaries_to_entries(summaries: list[StoredSummary], bus_name: str) -> list[dict[str, Any]]:
    """One ``ActivityStored`` entry per tenant and batch, listing its employees' new rows."""
    by_tenant: dict[str, list[StoredSummary]] = {}
    for s in summaries:
        by_tenant.setdefault(s.tenant_id, []).append(s)
    entries = []
    for tenant_id, all_items in by_tenant.items():
        for start in range(0, len(all_items), _EMPLOYEES_PER_ENTRY):
            entries.append(_entry(tenant_id, all_items[start : start + _EMPLOYEES_PER_ENTRY], bus_name))
    return entries


def _entry(tenant_id: str, items: list[StoredSummary], bus_name: str) -> dict[str, Any]:
    detail = {
        "tenant_id": tenant_id,
        "inserted": sum(i.inserted for i in items),
        "employees": [
            {
                "employee_id": i.employee_id,
                "inserted": i.inserted,
                "first_ts": i.first_ts.isoformat(),
                "last_ts": i.last_ts.isoformat(),
            }
            for i in items
        ],
    }
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail, separators=(",", ":")),
        "EventBusName": bus_name,
    }
