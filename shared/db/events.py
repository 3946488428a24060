"""Activity events in PostgreSQL: idempotent bulk insert with hourly rollups from inserted rows only.

One batch is one transaction: rows are COPYed (binary) into a temporary stage, inserted into the
day-partitioned ``activity_events`` with ``ON CONFLICT DO NOTHING``, and only the rows that
``RETURNING`` reports as new are added to ``activity_hourly`` and mark their (employee, day) in
``activity_dirty`` for the analytics rollup job. A redelivered batch inserts nothing and so
changes no rollup.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import psycopg

from shared.errors import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
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
# One spelling of the column order (EventRow's), for COPY and the insert alike; names are code constants.
_COLUMN_LIST = ", ".join(COLUMNS)

_COPY_STAGE_TEXT = f"COPY _event_stage ({_COLUMN_LIST}) FROM STDIN"

_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS _event_stage "
    "(LIKE activity_events INCLUDING DEFAULTS EXCLUDING CONSTRAINTS EXCLUDING INDEXES) "
    "ON COMMIT DELETE ROWS"
)

_INSERT_AND_ROLL_UP = f"""
WITH ins AS (
    INSERT INTO activity_events ({_COLUMN_LIST})
    SELECT {_COLUMN_LIST} FROM _event_stage
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
), dirty AS (
    -- The analytics rollup job rebuilds these (employee, day)s; an event past midnight marks both days.
    INSERT INTO activity_dirty (tenant_id, employee_id, day)
    SELECT DISTINCT tenant_id, employee_id, (d AT TIME ZONE 'UTC')::date
    FROM ins, generate_series(
        date_trunc('day', ts, 'UTC'),
        date_trunc('day', ts + greatest(duration_ms - 1, 0) * interval '1 millisecond', 'UTC'),
        interval '1 day'
    ) AS d
    ON CONFLICT DO NOTHING
)
SELECT tenant_id, employee_id, count(*), min(ts), max(ts) FROM ins GROUP BY 1, 2
"""  # noqa: S608 - the interpolated names are EventRow's field names, never input


@dataclass(frozen=True, slots=True)
class StoredSummary:
    tenant_id: str
    employee_id: str
    inserted: int
    first_ts: datetime
    last_ts: datetime


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _text(value: str | None) -> str:
    return _NULL if value is None else value.translate(_ESCAPES)


def _bytea(value: bytes | None) -> str:
    return _NULL if value is None else "\\\\x" + value.hex()


def _int(value: int | None) -> str:
    return _NULL if value is None else str(value)


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    """Rows already formatted for ``COPY ... FROM STDIN`` (text format), with the days they touch.

    Formatting happens where the rows are made, so the thread that talks to PostgreSQL hands
    one buffer to libpq instead of formatting row by row while holding the GIL.
    """

    data: bytes
    rows: int
    days: frozenset[date]


def encode_chunk(rows: Sequence[EventRow]) -> EncodedChunk:
    """Format rows for text COPY. Repeated values (ids, app names, domains) are escaped once per chunk."""
    memo: dict[object, str] = {}

    def text(value: str | None) -> str:
        found = memo.get(value)
        if found is None:
            found = memo[value] = _text(value)
        return found

    def stamp(value: datetime) -> str:
        found = memo.get(value)
        if found is None:
            found = memo[value] = value.isoformat()
        return found

    lines = [
        "\t".join(
            (
                r.ts.isoformat(),
                r.event_id.hex,
                text(r.tenant_id),
                text(r.employee_id),
                text(r.device_id),
                r.type,
                str(r.duration_ms),
                text(r.app),
                text(r.domain),
                _bytea(r.window_title_enc),
                _bytea(r.url_enc),
                _int(r.key_count),
                _int(r.mouse_count),
                text(r.agent_version),
                stamp(r.received_at),
            )
        )
        for r in rows
    ]
    lines.append("")
    days = frozenset(r.ts.astimezone(UTC).date() for r in rows)
    return EncodedChunk("\n".join(lines).encode(), len(rows), days)


class EventWriter:
    """Writes batches of event rows; remembers which daily partitions exist in this container."""

    def __init__(self) -> None:
        self._known_days: set[date] = set()

    def store(self, conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> list[StoredSummary]:
        """Insert ``rows`` exactly once and roll them up, in one transaction; raises ``StoreUnavailable``."""
        batch = self.begin(conn)
        batch.write(rows)
        return batch.commit()

    def begin(self, conn: psycopg.Connection[Any]) -> BatchWriter:
        """Start one batch: any number of ``write`` calls, then ``commit`` (all rows) or nothing at all."""
        return BatchWriter(self, conn)

    def ensure_partitions(self, conn: psycopg.Connection[Any], days: Iterable[date]) -> None:
        """Create the daily partitions these days need (idempotent, safe under concurrent consumers).

        Runs ``ensure_activity_partition`` (SECURITY DEFINER, migration 0002), so the consumer's
        role needs no ownership of ``activity_events``.
        """
        missing = sorted(set(days) - self._known_days)
        if not missing:
            return
        with conn.transaction():
            for day in missing:
                conn.execute("SELECT ensure_activity_partition(%s)", (day,))
        self._known_days.update(missing)


class BatchWriter:
    """One transaction that takes rows chunk by chunk: COPY to the stage, insert new rows, roll them up.

    The first chunk's partitions are created before the transaction opens (the usual case: agents
    upload within minutes). A later chunk reaching a day without a partition creates it inside the
    transaction, which briefly locks the parent table; that happens once per day at most.
    """

    def __init__(self, owner: EventWriter, conn: psycopg.Connection[Any]) -> None:
        self._owner = owner
        self._conn = conn
        self._started = False
        self._totals: dict[tuple[str, str], StoredSummary] = {}

    def write(self, rows: Sequence[EventRow]) -> None:
        if rows:
            self.write_encoded(encode_chunk(rows))

    def write_encoded(self, chunk: EncodedChunk) -> None:
        try:
            self._owner.ensure_partitions(self._conn, chunk.days)
            if not self._started:
                self._conn.execute(_STAGE_DDL)  # opens the transaction (the connection is not autocommit)
                self._started = True
            else:
                self._conn.execute("TRUNCATE _event_stage")
            with self._conn.cursor() as cur:
                with cur.copy(_COPY_STAGE_TEXT) as copy:
                    copy.write(chunk.data)
                cur.execute(_INSERT_AND_ROLL_UP)
                result = cur.fetchall()
        except psycopg.Error as err:
            self.rollback()
            raise StoreUnavailable(f"storing events failed: {type(err).__name__}") from err
        for tenant_id, employee_id, n, first, last in result:
            key = (tenant_id, employee_id)
            prev = self._totals.get(key)
            if prev is None:
                self._totals[key] = StoredSummary(tenant_id, employee_id, int(n), first, last)
            else:
                self._totals[key] = StoredSummary(
                    tenant_id,
                    employee_id,
                    prev.inserted + int(n),
                    min(prev.first_ts, first),
                    max(prev.last_ts, last),
                )

    def commit(
        self, before_commit: Callable[[psycopg.Connection[Any], list[StoredSummary]], None] | None = None
    ) -> list[StoredSummary]:
        """Commit every chunk; ``before_commit`` runs last inside the transaction (the audit entry
        of the rows stored), so rows and entries are committed together or not at all."""
        if self._started:
            try:
                if before_commit is not None:
                    before_commit(self._conn, list(self._totals.values()))
                self._conn.commit()
            except psycopg.Error as err:
                self.rollback()
                raise StoreUnavailable(f"committing events failed: {type(err).__name__}") from err
        return list(self._totals.values())

    def rollback(self) -> None:
        self._totals.clear()
        if self._started and not self._conn.closed:
            with contextlib.suppress(psycopg.Error):  # a broken connection is discarded by the pool
                self._conn.rollback()
