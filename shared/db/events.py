"""Activity events in PostgreSQL: idempotent bulk insert with hourly rollups from inserted rows only.

One batch is one transaction: rows are COPYed (binary) into a temporary stage, inserted into the
day-partitioned ``activity_events`` with ``ON CONFLICT DO NOTHING``, and only the rows that
``RETURNING`` reports as new are added to ``activity_hourly``. A redelivered batch inserts
nothing and so changes no rollup.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import psycopg
from psycopg import sql

from shared.errors import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from uuid import UUID


class EventRow(NamedTuple):
    """One row of ``activity_events``, in column order."""

    ts: datetime
    event_id: UUID
    tenant_id: str
    employee_id: str
    device_id: str
    type: str
    duration_ms: int
    app: str | None
    domain: str | None
    window_title_enc: bytes | None
    url_enc: bytes | None
    key_count: int | None
    mouse_count: int | None
    agent_version: str | None
    received_at: datetime


COLUMNS = EventRow._fields
_COPY_TYPES = [
    "timestamptz", "uuid", "text", "text", "text", "text", "int4", "text", "text",
    "bytea", "bytea", "int8", "int8", "text", "timestamptz",
]  # fmt: skip

_COPY_STAGE = "COPY _event_stage (ts, event_id, tenant_id, employee_id, device_id, type, duration_ms, app, domain, window_title_enc, url_enc, key_count, mouse_count, agent_version, received_at) FROM STDIN (FORMAT BINARY)"

_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS _event_stage "
    "(LIKE activity_events INCLUDING DEFAULTS EXCLUDING CONSTRAINTS EXCLUDING INDEXES) "
    "ON COMMIT DELETE ROWS"
)

_INSERT_AND_ROLL_UP = """
WITH ins AS (
    INSERT INTO activity_events (ts, event_id, tenant_id, employee_id, device_id, type, duration_ms, app, domain, window_title_enc, url_enc, key_count, mouse_count, agent_version, received_at)
    SELECT ts, event_id, tenant_id, employee_id, device_id, type, duration_ms, app, domain, window_title_enc, url_enc, key_count, mouse_count, agent_version, received_at FROM _event_stage
    ON CONFLICT DO NOTHING
    RETURNING tenant_id, employee_id, ts, type, duration_ms, app, domain, key_count, mouse_count
), rolled AS (
    INSERT INTO activity_hourly AS h
        (tenant_id, employee_id, hour, type, app, domain, event_count, duration_ms, key_count, mouse_count)
    SELECT tenant_id, employee_id, date_trunc('hour', ts, 'UTC'), type, coalesce(app, ''), coalesce(domain, ''),
           count(*), sum(duration_ms), coalesce(sum(key_count), 0), coalesce(sum(mouse_count), 0)
    FROM ins
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, employee_id, hour, type, app, domain) DO UPDATE SET
        event_count = h.event_count + EXCLUDED.event_count,
        duration_ms = h.duration_ms + EXCLUDED.duration_ms,
        key_count   = h.key_count + EXCLUDED.key_count,
        mouse_count = h.mouse_count + EXCLUDED.mouse_count
)
SELECT tenant_id, employee_id, count(*), min(ts), max(ts) FROM ins GROUP BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class StoredSummary:
    tenant_id: str
    employee_id: str
    inserted: int
    first_ts: datetime
    last_ts: datetime


def partition_name(day: date) -> str:
    return f"activity_events_{day:%Y%m%d}"


class EventWriter:
    """Writes batches of event rows; remembers which daily partitions exist in this container."""

    def __init__(self) -> None:
        self._known_days: set[date] = set()

    def store(self, conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> list[StoredSummary]:
        """Insert ``rows`` exactly once and roll them up, in one transaction; raises ``StoreUnavailable``."""
        if not rows:
            return []
        try:
            self.ensure_partitions(conn, {r.ts.astimezone(UTC).date() for r in rows})
            with conn.transaction():
                conn.execute(_STAGE_DDL)
                with conn.cursor() as cur:
                    with cur.copy(_COPY_STAGE) as copy:
                        copy.set_types(_COPY_TYPES)
                        for row in rows:
                            copy.write_row(row)
                    cur.execute(_INSERT_AND_ROLL_UP)
                    result = cur.fetchall()
        except psycopg.Error as err:
            raise StoreUnavailable(f"storing events failed: {type(err).__name__}") from err
        return [StoredSummary(t, e, int(n), first, last) for t, e, n, first, last in result]

    def ensure_partitions(self, conn: psycopg.Connection[Any], days: Iterable[date]) -> None:
        """Create the daily partitions these days need (idempotent, safe under concurrent consumers)."""
        missing = sorted(set(days) - self._known_days)
        if not missing:
            return
        with conn.transaction():
            existing = {
                name
                for (name,) in conn.execute(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'activity_events'::regclass"
                ).fetchall()
            }
        for day in missing:
            name = partition_name(day)
            if name not in existing:
                self._create_partition(conn, day, name)
            self._known_days.add(day)

    @staticmethod
    def _create_partition(conn: psycopg.Connection[Any], day: date, name: str) -> None:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        with conn.transaction():
            # Serialise creators of the same day; IF NOT EXISTS alone still races on the catalog.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(name.encode()),))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF activity_events FOR VALUES FROM ({}) TO ({})"
                ).format(sql.Identifier(name), sql.Literal(start), sql.Literal(start + timedelta(days=1)))
            )
