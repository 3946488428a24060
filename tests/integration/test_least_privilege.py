"""The consumer's database role can add events and rollups, and nothing more."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shared.db.events import EventRow, EventWriter

pytestmark = pytest.mark.integration


@pytest.fixture
def ingest_conn(pg_url: str, db: psycopg.Connection) -> psycopg.Connection:
    password = secrets.token_urlsafe(16)
    db.execute(f"ALTER ROLE wm_ingest PASSWORD '{password}'")
    params = conninfo_to_dict(pg_url) | {"user": "wm_ingest", "password": password}
    conn = psycopg.connect(make_conninfo(**params))
    yield conn
    conn.close()


def rows(n: int, day_offset: int = 0) -> list[EventRow]:
    ts = datetime.now(UTC).replace(hour=12) - timedelta(days=day_offset)
    return [
        EventRow(ts + timedelta(seconds=i), uuid.uuid4(), "t", "e", "d", "app_focus", 1000, "code",
                 None, None, None, None, None, None, ts)
        for i in range(n)
    ]  # fmt: skip


def test_the_ingest_role_stores_events_and_creates_partitions_through_the_definer_function(
    ingest_conn: psycopg.Connection, db: psycopg.Connection
) -> None:
    # A day far enough back that no other test made its partition
    summaries = EventWriter().store(ingest_conn, rows(5, day_offset=200))
    assert sum(s.inserted for s in summaries) == 5
    assert db.execute("SELECT count(*) FROM activity_events").fetchone()[0] == 5


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE activity_events SET app = 'x'",
        "DELETE FROM activity_events",
        "DELETE FROM activity_hourly",
        "TRUNCATE activity_events",
        "CREATE TABLE activity_events_29990101 PARTITION OF activity_events "
        "FOR VALUES FROM ('2999-01-01') TO ('2999-01-02')",
        "DROP TABLE activity_hourly",
    ],
)
def test_the_ingest_role_cannot_change_or_remove_data(
    ingest_conn: psycopg.Connection, statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ingest_conn.execute(statement)
    ingest_conn.rollback()


def test_the_ingest_role_records_its_audit_entries_in_the_same_transaction(
    ingest_conn: psycopg.Connection, db: psycopg.Connection
) -> None:
    from functions.ingest_stream.logic import audit_entries
    from shared.audit.recorder import AuditRecorder

    tenant = f"t-{uuid.uuid4().hex[:8]}"
    employee = str(uuid.uuid4())
    batch_rows = [r._replace(tenant_id=tenant, employee_id=employee) for r in rows(3, day_offset=201)]
    batch = EventWriter().begin(ingest_conn)
    batch.write(batch_rows)
    batch.commit(lambda conn, stored: AuditRecorder().record_many(conn, audit_entries(stored, "req-1")))
    assert db.execute("SELECT count(*) FROM audit_log WHERE tenant_id = %s", (tenant,)).fetchone()[0] == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ingest_conn.execute("SELECT count(*) FROM audit_log")
    ingest_conn.rollback()
