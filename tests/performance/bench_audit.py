"""``audit_append_per_s``: accesses recorded one per transaction through ``AuditRecorder.record``
(pseudonym, advisory lock and head in one statement, hash, insert checked by the link trigger).

Baseline ``plain_insert_per_s``: the very same rows (read back from the log) inserted one per
transaction by a plain ``INSERT`` into a table with the same columns and indexes and no
triggers, on the same server. The batch pair does 100 entries per transaction (``record_many``
vs ``executemany``), the shape of a consumer batch or a report. Rounds alternate between the
two sides and each figure is the median round, so a busy machine slows both alike.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from collections.abc import Callable

    from shared.audit import AuditEntry
    from tests.performance.report import Report

PER_ROUND = 500
ROUNDS = 7
BATCH = 100
TENANTS = 3
SUBJECTS = 200

_COLUMNS = (
    "tenant_id, seq, format, ts, actor_type, actor_id, action, resource, subject_ref, purpose,"
    " outcome, request_id, detail_enc, prev_hash, hash"
)
_PLAIN_INSERT = f"INSERT INTO audit_plain ({_COLUMNS}) VALUES ({', '.join(['%s'] * 15)})"


def _entries(prefix: str, n: int = PER_ROUND) -> list[AuditEntry]:
    from shared.audit import Actor, ActorType, AuditEntry, Outcome

    return [
        AuditEntry(
            tenant_id=f"{prefix}-{i % TENANTS}",
            actor=Actor(ActorType.USER, f"manager-{i % 7}"),
            action="analytics.employee_daily.read",
            resource="analytics/employee_daily",
            purpose="team_management",
            outcome=Outcome.ALLOWED,
            request_id=f"req-{i}",
            subject_employee_id=f"emp-{i % SUBJECTS}",
        )
        for i in range(n)
    ]


def _rate(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def _round(conn: psycopg.Connection[Any], prefix: str, batch: int) -> tuple[float, float]:
    """One round: PER_ROUND entries through the recorder, then the same rows as plain INSERTs."""
    from shared.audit import AuditRecorder

    recorder = AuditRecorder()
    entries = _entries(prefix)

    def audit() -> None:
        for start in range(0, len(entries), batch):
            recorder.record_many(conn, entries[start : start + batch])
            conn.commit()

    audit_rate = _rate(audit, len(entries))
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE tenant_id LIKE %s ORDER BY ts, tenant_id",
        (f"{prefix}-%",),
    ).fetchall()
    conn.commit()

    def plain() -> None:
        for start in range(0, len(rows), batch):
            with conn.cursor() as cur:
                cur.executemany(_PLAIN_INSERT, rows[start : start + batch])
            conn.commit()

    return audit_rate, _rate(plain, len(rows))


def run(report: Report) -> None:
    from tests.support.postgres import fresh_database, server_url

    with server_url() as server, fresh_database(server) as url, psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE audit_plain (LIKE audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        conn.commit()
        _round(conn, "warmup", 1)
        figures = {}
        for name, batch in (("", 1), ("_batch", BATCH)):
            rounds = [_round(conn, f"r{name}{i}", batch) for i in range(ROUNDS)]
            figures[name] = (
                statistics.median(a for a, _ in rounds),
                statistics.median(p for _, p in rounds),
            )
    audit, plain = figures[""]
    report.baseline("plain_insert_per_s", plain, "rows/s")
    report.figure("audit_append_per_s", audit, "entries/s", "plain_insert_per_s", goal="ratio >= 0.5")
    audit, plain = figures["_batch"]
    report.baseline("plain_insert_batch_per_s", plain, "rows/s")
    report.figure("audit_append_batch_per_s", audit, "entries/s", "plain_insert_batch_per_s")
