"""Analytics over `make local`: agents post over mutual TLS, the rollup runs on its local schedule,
people read days, team days and top apps over HTTP, and a rules change recategorises past data."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.test_local_ingestion import admin, grant_consent, request, token_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MIN = 60_000


def _event(ts: datetime, type_: str, minutes: float, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "type": type_,
        "duration_ms": int(minutes * MIN),
        **fields,
    }


def _a_morning(start: datetime) -> list[dict[str, Any]]:
    """40 min of Code with 10 idle, then 20 min of the browser, 15 of them on YouTube."""
    return [
        _event(start, "app_focus", 40, app="code"),
        _event(start + timedelta(minutes=10), "idle", 10),
        _event(start + timedelta(minutes=40), "app_focus", 20, app="firefox"),
        _event(
            start + timedelta(minutes=45),
            "url_visit",
            15,
            app="firefox",
            url="https://www.youtube.com/watch?v=x",
        ),
    ]


def _wait_for(fetch: Any, done: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    got = fetch()
    while not done(got) and time.monotonic() < deadline:
        time.sleep(1)
        got = fetch()
    return got


def _total(days: list[dict[str, Any]], key: str) -> int:
    return sum(d[key] for d in days)


def test_people_read_productivity_from_rollups_and_rules_recategorise_the_past(
    local_stack: RunningStack,
) -> None:
    demo = local_stack.info["demo"]
    team_b = [e for e in demo["users"]["employees"] if e["team"] == "b"]
    workers = team_b[-2:]
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    today = datetime.now(UTC).date()
    period = urlencode({"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()})
    # Given two employees of team B who consent and whose agents post a morning's activity
    for worker in workers:
        grant_consent(local_stack, worker, {"apps", "urls", "input_counts"})
    time.sleep(5.5)  # the agent API's consent cache
    for worker in workers:
        status, body = request(
            local_stack, "POST", "/v1/events", worker, json.dumps({"events": _a_morning(start)}).encode()
        )
        assert (status, body["rejected"]) == (202, []), body

    # When the employee reads their own days (the rollup runs every few seconds locally)
    me = workers[0]
    my_token = token_of(local_stack, me["email"])
    path = f"/v1/analytics/employees/{me['employee_id']}/daily?{period}"
    status, mine = _wait_for(
        lambda: admin(local_stack, "GET", path, my_token), lambda r: _total(r[1]["days"], "active_ms") > 0
    )
    # Then they see focus minus idle, by app
    assert status == 200, mine
    assert (_total(mine["days"], "active_ms"), _total(mine["days"], "idle_ms")) == (50 * MIN, 10 * MIN)
    apps = {a["app"]: a["active_ms"] for d in mine["days"] for a in d["top_apps"]}
    assert apps == {"code": 30 * MIN, "firefox": 20 * MIN}
    assert mine["rules_version"] == 0

    # When the admin says Code is productive and YouTube is not
    admin_token = token_of(local_stack, demo["users"]["admin"])
    rules = {
        "rules": [
            {"match": {"app": "code"}, "category": "productive"},
            {"match": {"domain": "youtube.com", "type": "suffix"}, "category": "unproductive"},
        ]
    }
    status, body = admin(local_stack, "PUT", "/v1/productivity-rules", admin_token, rules)
    assert (status, body["version"]) == (200, 1), body
    # Then, once the job has recategorised the past, the same days are reported with version 1, whole
    status, mine = _wait_for(
        lambda: admin(local_stack, "GET", path, my_token), lambda r: r[1]["rules_version"] == 1
    )
    days = mine["days"]
    assert (_total(days, "productive_ms"), _total(days, "unproductive_ms"), _total(days, "neutral_ms")) == (
        30 * MIN,
        15 * MIN,
        5 * MIN,
    )

    # And team B's manager reads the team's days (six members: above the floor of five)
    manager_b = token_of(local_stack, demo["users"]["manager_b"])
    team_path = f"/v1/analytics/teams/{demo['teams']['b']}/daily?{period}"
    status, team = _wait_for(
        lambda: admin(local_stack, "GET", team_path, manager_b),
        lambda r: r[0] != 200 or _total(r[1]["days"], "active_ms") >= 100 * MIN,  # both workers rolled up
    )
    assert status == 200, team
    assert (team["members"], _total(team["days"], "active_ms")) == (len(team_b), 100 * MIN)
    # But team A's manager may not
    manager_a = token_of(local_stack, demo["users"]["manager_a"])
    status, body = admin(
        local_stack, "GET", f"/v1/analytics/teams/{demo['teams']['b']}/daily?{period}", manager_a
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # And the tenant's top apps leave out apps only two people used
    status, top = admin(local_stack, "GET", f"/v1/analytics/top-apps?{period}", admin_token)
    assert status == 200, top
    assert {"code", "firefox"}.isdisjoint(a["app"] for a in top["apps"])
    assert top["suppressed_apps"] >= 2
    # And the employee finds the manager's read of the team in their own access log
    status, log = admin(local_stack, "GET", "/v1/me/access-log", my_token)
    assert status == 200, log
    assert "analytics.team_daily.read" in json.dumps(log)
