"""The analytics API end to end below HTTP: Cognito tokens, rollups built from stored events by the
rollup job, the minimum group size, suppressed apps, rules versions, and the audit entries."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared import aws
from shared.analytics.rollup import Rollup, RollupStats
from shared.db.events import EventWriter
from shared.dynamo.tenants import TenantSettings, TenantStore
from tests.integration.analytics.conftest import ev
from tests.integration.people.conftest import Api, Cognito, Tenant, build_tenant

pytestmark = pytest.mark.integration

MIN = 60_000
DAY = date(2026, 11, 16)
PERIOD = {"from": "2026-11-16", "to": "2026-11-17"}


def _at(minutes: float) -> datetime:
    return datetime(2026, 11, 16, 9, tzinfo=UTC) + timedelta(minutes=minutes)


def _work(pg_url: str, t: Tenant) -> None:
    """emp1: 60 min Code (10 idle), 30 min Chrome on youtube; emp2: 30 min Code; emp3: 20 min Figma."""
    e1, e2, e3 = (t.employees[n]["employee_id"] for n in ("emp1", "emp2", "emp3"))
    rows = [
        ev(_at(0), "app_focus", 60 * MIN, "Code", employee=e1, tenant=t.tenant_id),
        ev(_at(20), "idle", 10 * MIN, employee=e1, tenant=t.tenant_id),
        ev(_at(60), "app_focus", 30 * MIN, "Chrome", employee=e1, tenant=t.tenant_id),
        ev(_at(60), "url_visit", 30 * MIN, "Chrome", "www.youtube.com", employee=e1, tenant=t.tenant_id),
        ev(_at(0), "app_focus", 30 * MIN, "Code", employee=e2, tenant=t.tenant_id),
        ev(_at(0), "app_focus", 20 * MIN, "Figma", employee=e3, tenant=t.tenant_id),
    ]
    with psycopg.connect(pg_url) as conn:
        EventWriter().store(conn, rows)
        Rollup().run_dirty(conn)


def _min_group(tenant_id: str, size: int) -> None:
    TenantStore(aws.dynamodb(), os.environ["TENANTS_TABLE"]).put(
        TenantSettings(tenant_id=tenant_id, min_group_size=size)
    )


def _audit(db: Any, tenant_id: str, action: str) -> list[tuple[str, str]]:
    return db.execute(
        "SELECT actor_id, outcome FROM audit_log WHERE tenant_id = %s AND action = %s ORDER BY seq",
        (tenant_id, action),
    ).fetchall()


@pytest.fixture
def world(people_api: Api, cognito: Cognito, pg_url: str, db: Any) -> Tenant:
    db.execute("TRUNCATE productivity_rule_sets, productivity_rules_state")
    t = build_tenant(people_api, cognito)
    _work(pg_url, t)
    return t


def test_an_employee_reads_their_own_days_and_the_read_is_audited_as_self(
    people_api: Api, world: Tenant, db: Any
) -> None:
    e1 = world.employees["emp1"]["employee_id"]
    status, body = people_api.get(
        f"/v1/analytics/employees/{e1}/daily", world.emp1, query=PERIOD, path_params={"id": e1}
    )
    assert status == 200, body
    first, second = body["days"]
    assert (first["date"], second["date"]) == ("2026-11-16", "2026-11-17")
    assert (first["active_ms"], first["idle_ms"]) == (80 * MIN, 10 * MIN)
    assert (first["productive_ms"], first["neutral_ms"], first["unproductive_ms"]) == (0, 80 * MIN, 0)
    assert first["top_apps"] == [
        {"app": "Code", "active_ms": 50 * MIN},
        {"app": "Chrome", "active_ms": 30 * MIN},
    ]
    assert second["active_ms"] == 0
    assert body["rules_version"] == 0
    assert _audit(db, world.tenant_id, "analytics.employee_daily.read") == [("self", "allowed")]


def test_weekly_trends_compare_each_week_with_the_one_before(people_api: Api, world: Tenant, db: Any) -> None:
    e1 = world.employees["emp1"]["employee_id"]
    status, body = people_api.get(
        f"/v1/analytics/employees/{e1}/weekly",
        world.manager1,
        query={"to": "2026-11-26", "weeks": "2"},
        path_params={"id": e1},
    )
    assert status == 200, body
    assert [w["week_start"] for w in body["weeks"]] == ["2026-11-16", "2026-11-23"]
    this, last = body["weeks"][1], body["weeks"][0]
    assert (last["active_ms"], last["change"]["active_pct"]) == (80 * MIN, None)  # nothing the week before
    assert (this["active_ms"], this["change"]["active_ms"], this["change"]["active_pct"]) == (
        0,
        -80 * MIN,
        -100.0,
    )
    status, body = people_api.get(
        f"/v1/analytics/teams/{world.team1}/weekly",
        world.manager1,
        query={"to": "2026-11-26"},
        path_params={"id": world.team1},
    )
    assert (status, body["error"]["code"]) == (403, "group_too_small")
    status, body = people_api.get(
        f"/v1/analytics/employees/{e1}/weekly",
        world.emp1,
        query={"to": "2026-11-26", "weeks": "27"},
        path_params={"id": e1},
    )
    assert (status, body["error"]["code"]) == (422, "validation_error")


def test_a_team_below_the_minimum_group_size_gets_no_aggregate(
    people_api: Api, world: Tenant, db: Any
) -> None:
    path, params = f"/v1/analytics/teams/{world.team1}/daily", {"id": world.team1}
    status, body = people_api.get(path, world.manager1, query=PERIOD, path_params=params)
    assert (status, body["error"]["code"]) == (403, "group_too_small")  # two members, floor 5

    _min_group(world.tenant_id, 2)
    people_api.call("GET", "/v1/teams", world.admin)  # (any call; the tenant settings cache is per container)
    from functions.analytics_api import handler

    handler.deps.cache_clear()
    status, body = people_api.get(path, world.manager1, query=PERIOD, path_params=params)
    assert status == 200, body
    assert (body["members"], body["days"][0]["active_ms"]) == (2, 110 * MIN)
    assert body["days"][0]["top_apps"] == [
        {"app": "Code", "active_ms": 80 * MIN},
        {"app": "Chrome", "active_ms": 30 * MIN},
    ]
    # One entry per member whose figures were read, none for the refusal's subjects.
    assert _audit(db, world.tenant_id, "analytics.team_daily.read") == [(world.manager1.sub, "allowed")] * 2


def test_top_apps_leave_out_apps_too_few_people_used(people_api: Api, world: Tenant) -> None:
    status, body = people_api.get("/v1/analytics/top-apps", world.admin, query=PERIOD)
    assert (status, body["error"]["code"]) == (403, "group_too_small")  # three employees, floor 5

    _min_group(world.tenant_id, 2)
    from functions.analytics_api import handler

    handler.deps.cache_clear()
    status, body = people_api.get("/v1/analytics/top-apps", world.admin, query=PERIOD)
    assert status == 200, body
    # Code (two people) is shown; Chrome and Figma (one person each) are not.
    assert body["apps"] == [{"app": "Code", "category": "neutral", "active_ms": 80 * MIN}]
    assert body["suppressed_apps"] == 2


def test_new_rules_apply_to_past_data_once_the_job_has_recategorised_it(
    people_api: Api, world: Tenant, pg_url: str
) -> None:
    e1 = world.employees["emp1"]["employee_id"]
    rules = {
        "rules": [
            {"match": {"app": "Code"}, "category": "productive"},
            {"match": {"domain": "youtube.com", "type": "suffix"}, "category": "unproductive"},
        ]
    }
    status, body = people_api.put("/v1/productivity-rules", world.admin, rules)
    assert status == 200, body
    assert (body["version"], body["applied_version"], body["recategorizing"]) == (1, 0, True)

    def day() -> dict[str, Any]:
        _, got = people_api.get(
            f"/v1/analytics/employees/{e1}/daily", world.admin, query=PERIOD, path_params={"id": e1}
        )
        return got

    assert (day()["rules_version"], day()["days"][0]["productive_ms"]) == (0, 0)  # the old version, whole
    with psycopg.connect(pg_url) as conn:
        stats = RollupStats()
        Rollup().recategorize_pending(conn, stats)
    assert stats.recategorized_tenants == [world.tenant_id]
    after = day()
    assert after["rules_version"] == 1
    assert (after["days"][0]["productive_ms"], after["days"][0]["unproductive_ms"]) == (50 * MIN, 30 * MIN)
    _, state = people_api.get("/v1/productivity-rules", world.manager1)
    assert (state["version"], state["applied_version"], state["recategorizing"]) == (1, 1, False)
    assert state["rules"][1]["match"] == {"domain": "youtube.com", "type": "suffix"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"rules": [{"match": {"app": "(", "type": "regex"}, "category": "productive"}]}, "match"),
        ({"rules": [{"match": {"app": "x"}, "category": "great"}]}, "category"),
        ({"rules": "all"}, "rules"),
        ({}, "rules"),
    ],
)
def test_invalid_rules_get_a_validation_error(people_api: Api, world: Tenant, body: Any, where: str) -> None:
    status, got = people_api.put("/v1/productivity-rules", world.admin, body)
    assert (status, got["error"]["code"]) == (422, "validation_error")
    assert where in str(got["error"]["details"])
    _, state = people_api.get("/v1/productivity-rules", world.admin)
    assert state["version"] == 0


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-11-17", "to": "2026-11-16"},
        {"from": "2026-11-16"},
        {"from": "16/11/2026", "to": "2026-11-17"},
        {"from": "2025-01-01", "to": "2026-11-17"},
    ],
)
def test_bad_periods_get_a_validation_error(people_api: Api, world: Tenant, query: dict[str, str]) -> None:
    e1 = world.employees["emp1"]["employee_id"]
    status, got = people_api.get(
        f"/v1/analytics/employees/{e1}/daily", world.emp1, query=query, path_params={"id": e1}
    )
    assert (status, got["error"]["code"]) == (422, "validation_error")


def test_the_analytics_sample_events_run_against_the_handler(
    people_api: Api, cognito: Cognito, db: Any
) -> None:
    import json

    from functions.analytics_api import handler
    from infra_cdk.local.apigw import FakeLambdaContext
    from tests.integration.people import samples
    from tests.integration.people.test_people_samples import _with_token

    db.execute("TRUNCATE productivity_rule_sets, productivity_rules_state")
    samples.seed_directory(db)
    _min_group(samples.TENANT, 1)
    tokens = {
        "admin": cognito.user(samples.TENANT, "admin").token,
        "employee": cognito.user(samples.TENANT, "employee", employee_id=samples.EMPLOYEE).token,
    }
    expected = {
        "put_productivity_rules.json": 200,
        "get_productivity_rules.json": 200,
        "get_employee_daily.json": 200,
        "get_team_daily.json": 200,
        "get_team_weekly.json": 200,
        "get_top_apps.json": 200,
    }
    assert {p.name for p in (samples.ROOT / "analytics_api").glob("*.json")} == set(expected)
    got = {}
    for name in expected:
        event = _with_token(json.loads((samples.ROOT / "analytics_api" / name).read_text()), tokens)
        got[name] = handler.lambda_handler(event, FakeLambdaContext())["statusCode"]
    assert got == expected
