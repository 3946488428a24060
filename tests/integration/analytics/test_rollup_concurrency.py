"""Rollup runs overlap in the cloud (a run may outlast its minute) and a rules change may land
mid-run: together they still build every day exactly once, with one rules version throughout."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg
import pytest

from functions.analytics_api.repository import PgAnalytics
from shared.analytics.daily import EmployeeDay, daily_from_raw
from shared.analytics.rollup import Rollup, RollupStats
from shared.analytics.rules import RuleSet
from tests.integration.analytics.conftest import ev, store

if TYPE_CHECKING:
    from tests.conftest import RoleConnect

pytestmark = pytest.mark.integration

MIN = 60_000
EMPLOYEES = 40
DAYS = 3
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
RULES = RuleSet.model_validate({"rules": [{"match": {"app": "Code"}, "category": "productive"}]})


def _events() -> list:
    rows = []
    for e in range(EMPLOYEES):
        for d in range(DAYS):
            t = START + timedelta(days=d, minutes=e)
            rows += [
                ev(t, "app_focus", 30 * MIN, "Code", employee=f"e{e:02d}"),
                ev(t + timedelta(minutes=30), "app_focus", 20 * MIN, "Slack", employee=f"e{e:02d}"),
                ev(t + timedelta(minutes=5), "idle", 5 * MIN, employee=f"e{e:02d}"),
            ]
    return rows


def test_overlapping_runs_and_a_rules_change_build_each_day_once_with_one_version(
    role: RoleConnect, analytics_db: psycopg.Connection
) -> None:
    assert store(role("wm_ingest"), _events()) == EMPLOYEES * DAYS * 3
    api = role("wm_analytics")
    PgAnalytics(None).add_rules(api, "t1", RULES, "admin")  # type: ignore[arg-type]
    api.commit()
    workers = [role("wm_analytics_rollup") for _ in range(3)]
    errors: list[BaseException] = []
    stats = [RollupStats() for _ in workers]
    go = threading.Barrier(len(workers))

    def work(i: int) -> None:
        try:
            go.wait()
            if i == 0:
                Rollup().recategorize_pending(workers[i], stats[i])
            stats[i] = Rollup().run_dirty(workers[i], batch=7)  # small batches: many interleavings
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    # Every employee-day was claimed by exactly one run
    assert sum(s.employee_days for s in stats) == EMPLOYEES * DAYS
    assert analytics_db.execute("SELECT count(*) FROM activity_dirty").fetchone()[0] == 0
    # One version throughout, the new one
    versions = analytics_db.execute("SELECT DISTINCT rules_version FROM activity_daily").fetchall()
    assert versions == [(1,)]
    assert analytics_db.execute("SELECT applied_version FROM productivity_rules_state").fetchone() == (1,)
    # And the rows are exactly those computed from the raw events
    targets = [
        EmployeeDay("t1", f"e{e:02d}", (START + timedelta(days=d)).date())
        for e in range(EMPLOYEES)
        for d in range(DAYS)
    ]
    raw = sorted(daily_from_raw(analytics_db, targets))
    rolled = sorted(
        analytics_db.execute(
            "SELECT tenant_id, employee_id, day, app, domain, active_ms, idle_ms FROM activity_daily"
        ).fetchall()
    )
    assert rolled == raw
    code = analytics_db.execute("SELECT DISTINCT category FROM activity_daily WHERE app = 'Code'").fetchall()
    assert code == [("productive",)]
    per_day = analytics_db.execute(
        "SELECT day, app, active_ms / %s, employees FROM activity_tenant_daily ORDER BY day, app", (MIN,)
    ).fetchall()
    assert {(app, ms, n) for _d, app, ms, n in per_day} == {
        ("Code", 25 * EMPLOYEES, EMPLOYEES),
        ("Slack", 20 * EMPLOYEES, EMPLOYEES),
    }
