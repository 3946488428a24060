"""Analytics fixtures: connections as the functions' own database roles, and event helpers."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shared.db.events import EventRow, EventWriter

pytestmark = pytest.mark.integration

RoleConnect = Callable[[str], psycopg.Connection]


@pytest.fixture
def analytics_db(db: psycopg.Connection) -> psycopg.Connection:
    """The superuser connection, with the analytics and directory tables emptied too."""
    db.execute("TRUNCATE productivity_rule_sets, productivity_rules_state")
    db.execute("TRUNCATE teams, team_managers, employees, access_grants CASCADE")
    return db


@pytest.fixture
def role(pg_url: str, analytics_db: psycopg.Connection) -> Iterator[RoleConnect]:
    opened: list[psycopg.Connection] = []

    def connect(name: str) -> psycopg.Connection:
        password = secrets.token_urlsafe(16)
        analytics_db.execute(f"ALTER ROLE {name} PASSWORD '{password}'")
        conn = psycopg.connect(
            make_conninfo(**(conninfo_to_dict(pg_url) | {"user": name, "password": password}))
        )
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def ev(
    ts: datetime,
    type_: str,
    duration_ms: int,
    app: str | None = None,
    domain: str | None = None,
    keys: int | None = None,
    mouse: int | None = None,
    employee: str = "e1",
    tenant: str = "t1",
) -> EventRow:
    return EventRow(ts, uuid.uuid4(), tenant, employee, f"d-{employee}", type_, duration_ms, app, domain,
                    None, None, keys, mouse, "1.0", ts)  # fmt: skip


def store(conn: psycopg.Connection, rows: list[EventRow]) -> int:
    """Stores through the consumer's writer (which marks the employee-days dirty)."""
    return sum(s.inserted for s in EventWriter().store(conn, rows))
