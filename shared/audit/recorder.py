"""The audit recorder: appends entries to the tenant's hash chain in the CALLER'S transaction.

The access and its audit entry are one unit of work: the caller reads (or changes) personal
data and records the access on the same connection, then commits. If the entry cannot be
written the transaction is aborted and ``AuditUnavailable`` raised, so the data is never
returned without its entry. Denials are recorded the same way (in a transaction of their own).

The writing happens in one statement, ``audit_append`` (0004_audit.sql, SECURITY DEFINER: the
function roles cannot INSERT into ``audit_log`` themselves). It takes the tenant chain's
``pg_advisory_xact_lock`` (held until the caller commits: record as the LAST statement of the
unit of work), reads the head, resolves the subject's pseudonym, hashes the canonical form
(``shared.audit.canonical``, which the verifier recomputes independently) and inserts. A
trigger re-checks every link and the primary key refuses a duplicate ``seq``, so not even the
schema owner can fork a chain by accident. One round trip per call, whatever the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
from psycopg import pq

from shared.crypto.fields import FieldCipher, associated_data
from shared.errors import AuditUnavailable

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Sequence

    from shared.audit.model import AuditEntry

# First key of the two-int advisory lock (the same constant is in audit_append): "AUDT". The
# second is hashtext(tenant_id); a collision between two tenants only makes them wait.
LOCK_CLASS = 0x41554454
DETAIL_FIELD = "audit_detail"

_APPEND = (
    "SELECT r_tenant_id, r_seq, r_hash FROM audit_append(%s::text[], %s::timestamptz[], %s::text[],"
    " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[])"
)
# One entry (the common case: one access): scalars wrapped server-side, which spares psycopg
# dumping eleven one-element lists (~0.15 ms of client CPU, as much as the insert itself).
_APPEND_ONE = (
    "SELECT r_tenant_id, r_seq, r_hash FROM audit_append(ARRAY[%s::text], ARRAY[%s::timestamptz],"
    " ARRAY[%s::text], ARRAY[%s::text], ARRAY[%s::text], ARRAY[%s::text], ARRAY[%s::text],"
    " ARRAY[%s::text], ARRAY[%s::text], ARRAY[%s::text], ARRAY[%s::bytea])"
)


class KeyProvider(Protocol):
    """The subject's data key (``shared.crypto.data_keys.DataKeyStore``): only needed for ``detail``."""

    def key_for(self, tenant_id: str, employee_id: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Recorded:
    """Where an entry landed in its chain."""

    tenant_id: str
    seq: int
    hash: bytes


def _now() -> datetime:
    return datetime.now(UTC)


class AuditRecorder:
    """Appends audit entries; the one recorder every function that touches personal data uses."""

    def __init__(self, keys: KeyProvider | None = None, clock: Callable[[], datetime] = _now) -> None:
        self._keys = keys
        self._clock = clock

    def record(self, conn: psycopg.Connection[Any], entry: AuditEntry) -> Recorded:
        """Append one entry in ``conn``'s current transaction (the caller commits)."""
        return self.record_many(conn, [entry])[0]

    def record_many(self, conn: psycopg.Connection[Any], entries: Sequence[AuditEntry]) -> list[Recorded]:
        """Append several entries (any tenants) in ``conn``'s transaction, in one round trip;
        results in input order. Raises ``ValueError`` for an entry the log must not hold."""
        if not entries:
            return []
        for entry in entries:
            entry.validate()
        if conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE:
            raise ValueError("record audit entries inside the transaction of the access they describe")
        # Grouped by chain (stable: a tenant's entries keep their order), so audit_append reads
        # each head once; results go back to input order.
        order = sorted(range(len(entries)), key=lambda i: entries[i].tenant_id)
        batch = [entries[i] for i in order]
        # Encrypt before taking the chain's lock: it may need a data key (DynamoDB + KMS).
        details = [self._seal_detail(e) for e in batch]
        now = self._clock()
        columns = (
            [e.tenant_id for e in batch],
            [(e.ts or now).astimezone(UTC) for e in batch],
            [e.actor.type.value for e in batch],
            [e.stored_actor_id for e in batch],
            [e.action for e in batch],
            [e.resource for e in batch],
            [e.subject_employee_id for e in batch],
            [e.purpose for e in batch],
            [e.outcome.value for e in batch],
            [e.request_id for e in batch],
            details,
        )
        try:
            if len(batch) == 1:
                rows = conn.execute(_APPEND_ONE, [column[0] for column in columns]).fetchall()
            else:
                rows = conn.execute(_APPEND, columns).fetchall()
        except psycopg.Error as err:
            raise AuditUnavailable() from err
        results: list[Recorded] = [None] * len(entries)  # type: ignore[list-item]
        for i, (tenant_id, seq, digest) in zip(order, rows, strict=True):
            results[i] = Recorded(tenant_id, seq, bytes(digest))
        return results

    def _seal_detail(self, entry: AuditEntry) -> bytes | None:
        if entry.detail is None:
            return None
        if self._keys is None:
            raise ValueError("this recorder has no key provider: it cannot record a detail")
        assert entry.subject_employee_id is not None  # validate() guarantees it
        key = self._keys.key_for(entry.tenant_id, entry.subject_employee_id)
        aad = associated_data(entry.tenant_id, entry.subject_employee_id, entry.request_id, DETAIL_FIELD)
        return FieldCipher(key).encrypt(entry.detail, aad)


def find_pseudonym(conn: psycopg.Connection[Any], tenant_id: str, employee_id: str) -> uuid.UUID | None:
    """The subject's current pseudonym, without creating one (for queries).

    A purge deletes the subject's row of ``audit_subjects``: the entries about them keep their
    (now meaningless) pseudonym, so the chain still verifies, and a later entry about the same
    id gets a new pseudonym, unlinkable to the old one.
    """
    row = conn.execute(
        "SELECT subject_ref FROM audit_subjects WHERE tenant_id = %s AND employee_id = %s",
        (tenant_id, employee_id),
    ).fetchone()
    return row[0] if row else None


def forget_subject(conn: psycopg.Connection[Any], tenant_id: str, employee_id: str) -> bool:
    """The purge's part of the audit log: delete the subject's pseudonym (role ``wm_purge``).

    Run it in the purge's transaction, after the purge recorded its own entries (with
    ``subject_employee_id=None``: an entry naming the subject would create a fresh pseudonym).
    Nothing of the chain changes, so it keeps verifying; with the data key destroyed as well,
    the entries' ``subject_ref`` and ``detail_enc`` no longer lead to anyone. Returns whether a
    pseudonym existed.
    """
    cur = conn.execute(
        "DELETE FROM audit_subjects WHERE tenant_id = %s AND employee_id = %s", (tenant_id, employee_id)
    )
    return cur.rowcount > 0
