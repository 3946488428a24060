"""Analytics fixtures: connections as the functions' own database roles, and event helpers."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg
import pytest

from shared.db.events import EventRow, EventWriter
from tests.conftest import RoleConnect

pytestmark = pytest.mark.integration


@pytest.fixture
def analytics_db(db: psycopg.Connection) -> psycopg.Connection:
    """The superuser connection, with the analytics and directory tables emptied too."""
    db.execute("TRUNCATE productivity_rule_sets, productivity_rules_state")
    db.execute("TRUNCATE teams, team_managers, employees, access_grants CASCADE")
    return db


@pytest.fixture
def role(connect_as: RoleConnect, analytics_db: psycopg.Connection) -> RoleConnect:
    """``connect_as``, once the analytics tables are emptied."""
    return connect_as


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
