"""PostgreSQL adapter of the audit API: each read and the audit entry recording it commit together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from shared.audit.checkpoint import load_public_key
from shared.audit.recorder import find_pseudonym
from shared.audit.verify import verify
from shared.db.pool import transaction

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from psycopg_pool import ConnectionPool

    from shared.audit.checkpoint import CheckpointStore
    from shared.audit.model import AuditEntry
    from shared.audit.recorder import AuditRecorder
    from shared.audit.verify import VerifyReport

_SELECT = (
    "SELECT a.seq, a.ts, a.actor_type, a.actor_id, a.action, a.resource, s.employee_id, a.purpose,"
    " a.outcome, a.hash FROM audit_log a"
    " LEFT JOIN audit_subjects s ON s.tenant_id = a.tenant_id AND s.subject_ref = a.subject_ref"
)


@dataclass(frozen=True)
class EventQuery:
    start: datetime
    end: datetime
    actor: tuple[str, str] | None = None  # (actor_type, actor_id)
    subject: str | None = None
    action: str | None = None
    before_seq: int | None = None  # pagination: newest first


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    ts: datetime
    actor_type: str
    actor_id: str
    action: str
    resource: str
    subject: str | None
    purpose: str
    outcome: str
    hash: bytes


@dataclass(frozen=True)
class PeriodSummary:
    entries: int
    denied: int
    actors: int
    subjects: int
    first_seq: int | None
    last_seq: int | None
    grouped: dict[str, list[tuple[str, int]]]


class PgAuditLog:
    """Queries and verifies a tenant's chain; every call records its own access."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        recorder: AuditRecorder,
        checkpoints: CheckpointStore | None,
        public_key: Callable[[], bytes] | None,
    ) -> None:
        self._pool = pool
        self._recorder = recorder
        self._checkpoints = checkpoints
        self._public_key = public_key
        self._key: Any = None

    def events(self, tenant_id: str, query: EventQuery, limit: int, access: AuditEntry) -> list[StoredEvent]:
        """Entries of the tenant matching ``query``, newest first; records ``access`` with them."""
        with transaction(self._pool, "audit") as conn:
            where = ["a.tenant_id = %s", "a.ts >= %s", "a.ts < %s"]
            params: list[Any] = [tenant_id, query.start, query.end]
            found = self._filter_subject(conn, tenant_id, query.subject, where, params)
            if query.actor is not None:
                where.append("a.actor_type = %s AND a.actor_id = %s")
                params.extend(query.actor)
            if query.action is not None:
                where.append("a.action = %s")
                params.append(query.action)
            rows = self._page(conn, where, params, query.before_seq, limit) if found else []
            self._recorder.record(conn, access)
        return rows

    def access_log(
        self, tenant_id: str, employee_id: str, before_seq: int | None, limit: int, access: AuditEntry
    ) -> list[StoredEvent]:
        """Entries about one employee, newest first; records ``access`` (the employee reading it)."""
        with transaction(self._pool, "audit") as conn:
            where = ["a.tenant_id = %s"]
            params: list[Any] = [tenant_id]
            found = self._filter_subject(conn, tenant_id, employee_id, where, params)
            rows = self._page(conn, where, params, before_seq, limit) if found else []
            self._recorder.record(conn, access)
        return rows

    def verify(self, tenant_id: str, access: AuditEntry) -> VerifyReport:
        """Recompute the tenant's chain and check it against the latest signed checkpoint."""
        key = None
        if self._checkpoints is not None and self._public_key is not None:
            if self._key is None:
                self._key = load_public_key(self._public_key())
            key = self._key
        with transaction(self._pool, "audit") as conn:
            report = verify(
                conn, self._checkpoints if key else None, key, tenant_id, latest_checkpoint_only=True
            )
            self._recorder.record(conn, access)
        return report

    def summary(self, tenant_id: str, start: datetime, end: datetime) -> PeriodSummary:
        """Counts of the tenant's entries in [start, end): by action, actor type and outcome."""
        with transaction(self._pool, "audit") as conn:
            window = (tenant_id, start, end)
            totals = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE outcome = 'denied'),"
                " count(DISTINCT (actor_type, actor_id)), count(DISTINCT subject_ref), min(seq), max(seq)"
                " FROM audit_log WHERE tenant_id = %s AND ts >= %s AND ts < %s",
                window,
            ).fetchone()
            grouped = {
                column: conn.execute(
                    sql.SQL(
                        "SELECT {c}, count(*) FROM audit_log WHERE tenant_id = %s AND ts >= %s AND ts < %s"
                        " GROUP BY 1 ORDER BY 2 DESC, 1"
                    ).format(c=sql.Identifier(column)),
                    window,
                ).fetchall()
                for column in ("action", "actor_type", "outcome")
            }
        assert totals is not None
        entries, denied, actors, subjects, first, last = totals
        return PeriodSummary(int(entries), int(denied), int(actors), int(subjects), first, last, grouped)

    @staticmethod
    def _filter_subject(
        conn: psycopg.Connection[Any],
        tenant_id: str,
        subject: str | None,
        where: list[str],
        params: list[Any],
    ) -> bool:
        if subject is None:
            return True
        ref = find_pseudonym(conn, tenant_id, subject)
        where.append("a.subject_ref = %s")
        params.append(ref)
        return ref is not None

    @staticmethod
    def _page(
        conn: psycopg.Connection[Any], where: list[str], params: list[Any], before_seq: int | None, limit: int
    ) -> list[StoredEvent]:
        if before_seq is not None:
            where.append("a.seq < %s")
            params.append(before_seq)
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY a.seq DESC LIMIT %s"
        # Only fixed fragments are joined; every value is a parameter.
        rows = conn.execute(sql, [*params, limit]).fetchall()
        return [StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bytes(r[9])) for r in rows]
