"""The daily rollup: what counts as active and idle, exactly; rollup == raw; late and redelivered
events; recategorisation to a new rules version; and the roles' least privilege."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg
import pytest

from functions.analytics_api.repository import MixedRulesVersions, PgAnalytics
from shared.analytics.daily import EmployeeDay, daily_from_raw
from shared.analytics.rollup import Rollup
from shared.analytics.rules import RuleSet
from tests.integration.analytics.conftest import ev, store
from tests.performance import analytics_data

if TYPE_CHECKING:
    from tests.integration.analytics.conftest import RoleConnect

pytestmark = pytest.mark.integration

MIN = 60_000
DAY = date(2026, 12, 1)
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def at(hours: float, minutes: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def a_working_day() -> list:
    return [
        ev(at(0), "app_focus", 60 * MIN, "Code"),  # 09:00-10:00
        ev(at(0, 30), "idle", 10 * MIN),  # 09:30-09:40, inside Code
        ev(at(1), "app_focus", 60 * MIN, "Chrome"),  # 10:00-11:00
        ev(at(1, 10), "url_visit", 20 * MIN, "Chrome", "github.com"),  # 10:10-10:30
        ev(at(1, 15), "idle", 10 * MIN),  # 10:15-10:25, inside github
        ev(at(1, 40), "url_visit", 10 * MIN, "Chrome", "youtube.com"),  # 10:40-10:50
        ev(at(2), "app_focus", 60 * MIN, "Slack"),  # 11:00-12:00
        ev(at(2), "input_activity", 10 * MIN, keys=5, mouse=2),  # 11:00-11:10 input
        ev(at(2, 10), "input_activity", 10 * MIN, keys=0, mouse=0),  # 11:10-11:20 no input: idle
        ev(at(2, 40), "input_activity", 10 * MIN, keys=3),  # 11:40-11:50; 11:20-11:40 a gap: idle
        ev(at(3), "heartbeat", 0),
        ev(datetime(2026, 11, 30, 23, 50, tzinfo=UTC), "app_focus", 20 * MIN, "Late"),  # crosses midnight
    ]


def daily(db: psycopg.Connection) -> dict[tuple[date, str, str], tuple[int, int, str, int]]:
    rows = db.execute(
        "SELECT day, app, domain, active_ms, idle_ms, category, rules_version FROM activity_daily"
        " WHERE tenant_id = 't1' AND employee_id = 'e1'"
    ).fetchall()
    return {(d, a, dom): (act // MIN, idle // MIN, cat, v) for d, a, dom, act, idle, cat, v in rows}


def run_rollup(role: RoleConnect) -> None:
    conn = role("wm_analytics_rollup")
    Rollup().run_dirty(conn)


def test_a_day_counts_focus_minus_idle_split_by_url_domain(
    role: RoleConnect, analytics_db: psycopg.Connection
) -> None:
    ingest = role("wm_ingest")
    assert store(ingest, a_working_day()) == 12
    marked = analytics_db.execute("SELECT day FROM activity_dirty ORDER BY day").fetchall()
    assert [d for (d,) in marked] == [date(2026, 11, 30), DAY]

    run_rollup(role)

    assert daily(analytics_db) == {
        (DAY, "Code", ""): (50, 10, "neutral", 0),
        (DAY, "Chrome", ""): (30, 10, "neutral", 0),
        (DAY, "Chrome", "github.com"): (10, 0, "neutral", 0),
        (DAY, "Chrome", "youtube.com"): (10, 0, "neutral", 0),
        (DAY, "Slack", ""): (30, 30, "neutral", 0),
        (DAY, "Late", ""): (10, 0, "neutral", 0),
        (date(2026, 11, 30), "Late", ""): (10, 0, "neutral", 0),
    }
    assert analytics_db.execute("SELECT count(*) FROM activity_dirty").fetchone()[0] == 0
    tenant_day = dict(
        analytics_db.execute(
            "SELECT app, active_ms / %s FROM activity_tenant_daily WHERE tenant_id = 't1' AND day = %s",
            (MIN, DAY),
        ).fetchall()
    )
    assert tenant_day == {"Code": 50, "Chrome": 50, "Slack": 30, "Late": 10}


def test_a_redelivered_batch_marks_nothing_and_a_late_event_rebuilds_the_day(
    role: RoleConnect, analytics_db: psycopg.Connection
) -> None:
    ingest = role("wm_ingest")
    events = a_working_day()
    store(ingest, events)
    run_rollup(role)
    before = daily(analytics_db)

    assert store(ingest, events) == 0  # redelivery: nothing new, so nothing to rebuild
    assert analytics_db.execute("SELECT count(*) FROM activity_dirty").fetchone()[0] == 0

    store(ingest, [ev(at(0, 45), "idle", 5 * MIN)])  # arrives late: 09:45-09:50 idle in Code
    run_rollup(role)
    after = daily(analytics_db)
    assert after[(DAY, "Code", "")] == (45, 15, "neutral", 0)
    assert {k: v for k, v in after.items() if k[1] != "Code"} == {
        k: v for k, v in before.items() if k[1] != "Code"
    }


def test_the_rollup_equals_the_same_answer_from_raw_events(
    role: RoleConnect, analytics_db: psycopg.Connection
) -> None:
    analytics_data.generate(analytics_db, employees=12, days=3, team_size=6, log=lambda _m: None)
    analytics_db.execute(
        "INSERT INTO activity_dirty (tenant_id, employee_id, day)"
        " SELECT DISTINCT tenant_id, employee_id, (ts AT TIME ZONE 'UTC')::date FROM activity_events"
    )
    run_rollup(role)
    targets = [
        EmployeeDay(analytics_data.TENANT, f"emp-{e:04d}", analytics_data.START + timedelta(days=d))
        for e in range(12)
        for d in range(3)
    ]
    raw = sorted(daily_from_raw(analytics_db, targets))
    rolled = sorted(
        analytics_db.execute(
            "SELECT tenant_id, employee_id, day, app, domain, active_ms, idle_ms FROM activity_daily"
        ).fetchall()
    )
    assert len(raw) > 12 * 3 * 10
    assert rolled == raw
    # Per day, roughly an 8-hour day with a fifth of it idle, as generated.
    per_day = analytics_db.execute(
        "SELECT sum(active_ms) / 12 / 3 / %s, sum(idle_ms) / 12 / 3 / %s FROM activity_daily", (MIN, MIN)
    ).fetchone()
    assert 5 * 60 < per_day[0] < 8 * 60
    assert 30 < per_day[1] < 3 * 60
    # The tenant totals are the sums of the employees' rows.
    mismatch = analytics_db.execute(
        "SELECT count(*) FROM activity_tenant_daily AS t FULL JOIN ("
        "  SELECT tenant_id, day, app, sum(active_ms) AS ms, count(DISTINCT employee_id) AS n FROM activity_daily"
        "  WHERE active_ms > 0 GROUP BY 1, 2, 3) AS s USING (tenant_id, day, app)"
        " WHERE t.active_ms IS DISTINCT FROM s.ms OR t.employees IS DISTINCT FROM s.n"
    ).fetchone()[0]
    assert mismatch == 0


RULES = RuleSet.model_validate(
    {
        "rules": [
            {"match": {"app": "Code"}, "category": "productive"},
            {"match": {"domain": "youtube.com", "type": "suffix"}, "category": "unproductive"},
            {"match": {"domain": "github.com", "type": "suffix"}, "category": "productive"},
            {"match": {"app": "Slack"}, "category": "productive", "team_id": "team-a"},
        ]
    }
)


def test_a_new_rules_version_is_applied_to_past_data_whole(
    role: RoleConnect, analytics_db: psycopg.Connection
) -> None:
    analytics_db.execute(
        "INSERT INTO teams (tenant_id, team_id, name, created_by) VALUES ('t1', 'team-a', 'A', 'x')"
    )
    analytics_db.execute(
        "INSERT INTO employees (tenant_id, employee_id, email, display_name, team_id, created_by)"
        " VALUES ('t1', 'e1', 'e1@x.example', 'E1', 'team-a', 'x')"
    )
    store(
        role("wm_ingest"),
        [*a_working_day(), ev(at(0), "app_focus", 5 * MIN, "Slack", employee="not-in-directory")],
    )
    run_rollup(role)

    api = role("wm_analytics")
    version = PgAnalytics(None).add_rules(api, "t1", RULES, "admin-1")  # type: ignore[arg-type]
    api.commit()
    assert version == 1
    # Until the job has run, every row (and so every answer) keeps version 0.
    assert {v[3] for v in daily(analytics_db).values()} == {0}

    rollup_conn = role("wm_analytics_rollup")
    assert Rollup().recategorize(rollup_conn, "t1") == 8
    rollup_conn.commit()
    unknown = analytics_db.execute(
        "SELECT category, rules_version FROM activity_daily WHERE employee_id = 'not-in-directory'"
    ).fetchone()
    assert unknown == ("neutral", 1)  # Slack is productive for team-a only; this one has no team

    rows = daily(analytics_db)
    assert {v[3] for v in rows.values()} == {1}
    assert rows[(DAY, "Code", "")][2] == "productive"
    assert rows[(DAY, "Chrome", "github.com")][2] == "productive"
    assert rows[(DAY, "Chrome", "youtube.com")][2] == "unproductive"
    assert rows[(DAY, "Chrome", "")][2] == "neutral"
    assert rows[(DAY, "Slack", "")][2] == "productive"  # the team's override
    assert analytics_db.execute(
        "SELECT current_version, applied_version FROM productivity_rules_state"
    ).fetchone() == (1, 1)
    assert Rollup().recategorize(rollup_conn, "t1") is None  # nothing left to apply
    rollup_conn.commit()

    # New data is categorised with the applied version.
    store(role("wm_ingest"), [ev(at(5), "app_focus", 10 * MIN, "Code")])
    run_rollup(role)
    assert daily(analytics_db)[(DAY, "Code", "")] == (60, 10, "productive", 1)


def test_an_answer_never_mixes_rules_versions(
    role: RoleConnect, analytics_db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(role("wm_ingest"), a_working_day())
    run_rollup(role)
    analytics_db.execute("UPDATE activity_daily SET rules_version = 3 WHERE app = 'Slack'")

    class OnePool:
        def __init__(self, conn: psycopg.Connection) -> None:
            self.conn = conn

        def connection(self):
            return self.conn

    conn = role("wm_analytics")
    repo = PgAnalytics(OnePool(conn))  # type: ignore[arg-type]
    with pytest.raises(MixedRulesVersions):
        repo.employee_days("t1", "e1", DAY, DAY)


@pytest.mark.parametrize(
    ("who", "statement"),
    [
        ("wm_analytics", "SELECT count(*) FROM activity_events"),
        ("wm_analytics", "DELETE FROM activity_daily"),
        ("wm_analytics", "UPDATE productivity_rule_sets SET rules = '{}'"),
        (
            "wm_analytics_rollup",
            "INSERT INTO productivity_rule_sets (tenant_id, version, rules, created_by) VALUES ('t', 9, '{}', 'x')",
        ),
        ("wm_analytics_rollup", "DELETE FROM activity_events"),
        ("wm_ingest", "SELECT count(*) FROM activity_daily"),
    ],
)
def test_each_role_does_only_its_part(role: RoleConnect, who: str, statement: str) -> None:
    conn = role(who)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_scheduled_handler_applies_rules_then_rebuilds_marked_days(
    role: RoleConnect, analytics_db: psycopg.Connection, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    from pathlib import Path

    from functions.analytics_rollup import handler
    from infra_cdk.local.apigw import FakeLambdaContext
    from shared.db.pool import close_all

    store(role("wm_ingest"), a_working_day())
    api = role("wm_analytics")
    PgAnalytics(None).add_rules(api, "t1", RULES, "admin-1")  # type: ignore[arg-type]
    api.commit()
    monkeypatch.setenv("DATABASE_URL", pg_url)
    handler.deps.cache_clear()
    event = json.loads(Path("events/analytics_rollup/scheduled.json").read_text())
    try:
        result = handler.lambda_handler(event, FakeLambdaContext())
    finally:
        handler.deps.cache_clear()
        close_all()
    assert result["recategorized_tenants"] == ["t1"]
    assert (result["employee_days"], result["remaining"], result["lag_s"]) == (2, False, 0.0)
    from infra_cdk.constants import METRIC_ANALYTICS_ROLLUP_LAG

    assert handler.ROLLUP_LAG_METRIC == METRIC_ANALYTICS_ROLLUP_LAG  # the metric its alarm watches
    rows = daily(analytics_db)
    assert rows[(DAY, "Code", "")] == (50, 10, "productive", 1)  # built with the version just applied


def test_the_lag_is_the_age_of_the_oldest_day_still_waiting(
    role: RoleConnect, analytics_db: psycopg.Connection
) -> None:
    store(role("wm_ingest"), a_working_day())
    analytics_db.execute("UPDATE activity_dirty SET marked_at = now() - interval '20 minutes'")
    conn = role("wm_analytics_rollup")
    assert 1199 < Rollup.lag(conn) < 1300
    stats = Rollup().run_dirty(conn, batch=1, budget_s=0)  # one day, then out of time
    assert (stats.employee_days, stats.remaining) == (1, True)
    assert 1199 < stats.lag_s < 1300
    assert Rollup().run_dirty(conn).lag_s == 0.0
