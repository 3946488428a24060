"""The authorisation matrix, generated: every caller role, every route, a target in the caller's
own team, another team of the tenant, and another tenant. Allowed calls succeed; every other call
is 403 or 404 and its body is only an error, naming nothing of the target."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from infra_cdk.constants import FUNCTIONS
from shared import aws
from shared.dynamo.tenants import TenantSettings, TenantStore
from tests.integration.people.conftest import POLICY, Api, Cognito, Tenant, User, build_tenant

if TYPE_CHECKING:
    from infra_cdk.local.pki import LocalCA

pytestmark = pytest.mark.integration

# The employee goes first: its PUT consents to the newest policy before the DPO publishes more.
CALLERS = ("employee", "manager", "auditor_no_grant", "auditor_granted", "dpo", "admin")


@dataclass
class Target:
    """A person some route acts on, described relative to the callers (all of tenant A)."""

    name: str  # self_or_own_team | other_team | other_tenant
    tenant: Tenant
    employee: dict[str, Any]
    user: User
    team_id: str
    device_id: str


@dataclass
class Case:
    method: str
    route: str  # the API Gateway resource, as in infra_cdk.constants
    path: str
    allowed: bool
    body: Any = None
    path_params: dict[str, str] | None = None
    secret: str = ""  # what must not appear in a refusal (the target's identity)
    query: dict[str, str] | None = None


def _grant_window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "not_before": (now - timedelta(hours=1)).isoformat(),
        "not_after": (now + timedelta(days=7)).isoformat(),
    }


def _world(api: Api, cognito: Cognito, ca: LocalCA) -> tuple[dict[str, User], list[Target], Tenant, Tenant]:
    a = build_tenant(api, cognito)
    b = build_tenant(api, cognito)
    # Tenant A's teams are tiny: a group floor of one lets the team analytics answer here (the
    # floor itself is tested in test_analytics_api).
    TenantStore(aws.dynamodb(), os.environ["TENANTS_TABLE"]).put(
        TenantSettings(tenant_id=a.tenant_id, min_group_size=1)
    )
    api.post("/v1/consent-policies", b.dpo, POLICY | {"version": "b-only", "text": "tenant B's text"})
    status, _ = api.post(
        "/v1/access-grants", a.admin, {"user": a.auditor.sub, "role": "auditor", **_grant_window()}
    )
    assert status == 201
    callers = {
        "admin": a.admin,
        "dpo": a.dpo,
        "auditor_granted": a.auditor,
        "auditor_no_grant": cognito.user(a.tenant_id, "auditor"),
        "manager": a.manager1,  # manages team one
        "employee": a.emp1,  # of team one
    }
    targets = []
    for name, tenant, key, user, team in (
        ("self_or_own_team", a, "emp1", a.emp1, a.team1),
        ("other_team", a, "emp3", a.emp3, a.team2),
        ("other_tenant", b, "emp1", b.emp1, b.team1),
    ):
        issued = ca.issue(f"matrix-{name}")
        employee = tenant.employees[key]
        status, device = api.post(
            "/v1/devices",
            tenant.admin,
            {"employee_id": employee["employee_id"], "certificate_pem": issued.cert_pem},
        )
        assert status == 201
        targets.append(Target(name, tenant, employee, user, team, device["device_id"]))
    return callers, targets, a, b


def _targeted_cases(caller: str, target: Target, ca: LocalCA) -> list[Case]:
    in_tenant = target.name != "other_tenant"
    mine = target.name == "self_or_own_team"
    eid = target.employee["employee_id"]
    secret = target.employee["email"]
    reads_people = caller in ("admin", "dpo", "auditor_granted") or (
        caller in ("manager", "employee") and mine
    )
    reads_consent = caller in ("admin", "dpo") or (caller in ("manager", "employee") and mine)
    admin = caller == "admin"
    reads_analytics = admin or (caller in ("manager", "employee") and mine)
    reads_team = admin or (caller == "manager" and mine)
    team = target.team_id
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    return [
        Case("GET", "/v1/employees/{id}", f"/v1/employees/{eid}", in_tenant and reads_people,
             path_params={"id": eid}, secret=secret),
        Case("GET", "/v1/employees/{id}/consent", f"/v1/employees/{eid}/consent", in_tenant and reads_consent,
             path_params={"id": eid}, secret=secret),
        Case("POST", "/v1/devices", "/v1/devices", in_tenant and admin,
             body={"employee_id": eid, "certificate_pem": ca.issue(f"m-{uuid.uuid4().hex[:6]}").cert_pem},
             secret=secret),
        Case("DELETE", "/v1/devices/{id}", f"/v1/devices/{target.device_id}", in_tenant and admin,
             path_params={"id": target.device_id}, secret=eid),
        Case("POST", "/v1/employees", "/v1/employees", in_tenant and admin,
             body={"email": f"new.{uuid.uuid4().hex[:8]}@x.example.com", "display_name": "New",
                   "team_id": target.team_id}, secret=target.team_id),
        Case("GET", "/v1/analytics/employees/{id}/daily", f"/v1/analytics/employees/{eid}/daily",
             in_tenant and reads_analytics, path_params={"id": eid}, query=period, secret=secret),
        Case("GET", "/v1/analytics/teams/{id}/daily", f"/v1/analytics/teams/{team}/daily",
             in_tenant and reads_team, path_params={"id": team}, query=period, secret=team),
        Case("GET", "/v1/analytics/employees/{id}/weekly", f"/v1/analytics/employees/{eid}/weekly",
             in_tenant and reads_analytics, path_params={"id": eid}, query={"to": "2026-11-30"}, secret=secret),
        Case("GET", "/v1/analytics/teams/{id}/weekly", f"/v1/analytics/teams/{team}/weekly",
             in_tenant and reads_team, path_params={"id": team}, query={"to": "2026-11-30", "weeks": "2"},
             secret=team),
        Case("GET", "/v1/analytics/top-apps", "/v1/analytics/top-apps", in_tenant and reads_team,
             query=period | {"team_id": team}, secret=team),
    ]  # fmt: skip


def _untargeted_cases(caller: str, a: Tenant, b: Tenant) -> list[Case]:
    readers = caller in ("admin", "dpo", "auditor_granted", "manager")
    employee = caller == "employee"
    return [
        Case("GET", "/v1/teams", "/v1/teams", readers, secret=b.team1),
        Case("GET", "/v1/employees", "/v1/employees", readers, secret=b.emp1.email),
        Case("POST", "/v1/teams", "/v1/teams", caller == "admin",
             body={"name": f"T {uuid.uuid4().hex[:6]}", "manager_ids": []}),
        Case("GET", "/v1/access-grants", "/v1/access-grants", caller in ("admin", "dpo")),
        Case("POST", "/v1/access-grants", "/v1/access-grants", caller == "admin",
             body={"user": a.manager2.sub, "role": "auditor", **_grant_window()}),
        Case("GET", "/v1/consent-policies", "/v1/consent-policies", caller != "auditor_no_grant",
             secret="tenant B's text"),
        Case("POST", "/v1/consent-policies", "/v1/consent-policies", caller == "dpo",
             body=POLICY | {"version": f"v-{uuid.uuid4().hex[:6]}"}),
        Case("GET", "/v1/me/consent", "/v1/me/consent", employee),
        Case("PUT", "/v1/me/consent", "/v1/me/consent", employee,
             body={"policy_version": "2026-01", "categories": ["apps"]}),
        Case("DELETE", "/v1/me/consent", "/v1/me/consent", employee),
        Case("GET", "/v1/analytics/top-apps", "/v1/analytics/top-apps", caller == "admin",
             query={"from": "2026-11-01", "to": "2026-11-30"}),
        Case("GET", "/v1/productivity-rules", "/v1/productivity-rules", caller in ("admin", "dpo", "manager")),
        Case("PUT", "/v1/productivity-rules", "/v1/productivity-rules", caller == "admin",
             body={"rules": [{"match": {"app": "Code"}, "category": "productive"}]}),
    ]  # fmt: skip


def _list_problem(case: Case, caller: str, body: Any, a: Tenant, b: Tenant) -> str | None:
    """For list routes: the caller sees at least tenant A's baseline in their scope, nothing of
    tenant B, and a manager nothing outside team one (the matrix itself adds A's teams and people)."""
    if case.method != "GET" or case.path not in ("/v1/teams", "/v1/employees"):
        return None
    items = body["items"]
    if case.path == "/v1/teams":
        seen = {t["team_id"] for t in items}
        baseline = {a.team1} if caller == "manager" else {a.team1, a.team2}
        foreign = seen & {b.team1, b.team2}
        outside = seen - {a.team1} if caller == "manager" else set()
    else:
        seen = {e["employee_id"] for e in items}
        team_one = {a.employees["emp1"]["employee_id"], a.employees["emp2"]["employee_id"]}
        baseline = team_one if caller == "manager" else {e["employee_id"] for e in a.employees.values()}
        foreign = seen & {e["employee_id"] for e in b.employees.values()}
        outside = (
            {e["employee_id"] for e in items if e["team_id"] != a.team1} if caller == "manager" else set()
        )
    if not baseline <= seen or foreign or outside:
        return f"missing {baseline - seen}, foreign {foreign}, outside scope {outside}"
    return None


def test_every_cross_scope_call_is_refused_and_leaks_nothing(
    people_api: Api, cognito: Cognito, ca: LocalCA
) -> None:
    # Given tenant A (two teams, a manager each, employees, a granted and an ungranted auditor) and
    # tenant B, each with registered devices
    callers, targets, a, b = _world(people_api, cognito, ca)
    matrix: list[tuple[str, str, Case]] = []
    for caller in CALLERS:
        for target in targets:
            matrix += [(caller, target.name, c) for c in _targeted_cases(caller, target, ca)]
        matrix += [(caller, "-", c) for c in _untargeted_cases(caller, a, b)]
    # When every caller calls every route on every target
    wrong: list[str] = []
    for caller, target_name, case in matrix:
        status, body = people_api.call(case.method, case.path, callers[caller].token, case.body,
                                       query=case.query, path_params=case.path_params)  # fmt: skip
        label = f"{caller} {case.method} {case.route} [{target_name}] -> {status}"
        if case.allowed:
            if status >= 300:
                wrong.append(f"{label}: expected success, got {body}")
            problem = _list_problem(case, caller, body, a, b)
            if problem:
                wrong.append(f"{label}: {problem}")
            if target_name == "-" and case.secret and case.secret in json.dumps(body):
                wrong.append(f"{label}: leaked another tenant's data")
        elif (
            status not in (403, 404)
            or set(body) != {"error"}
            or (case.secret and case.secret in json.dumps(body))
        ):
            wrong.append(f"{label}: expected a bare 403/404, got {body}")
    # Then nothing is out of place, and the matrix covered every route of both functions
    assert wrong == [], "\n".join(wrong)
    routes = {
        (r.path, m)
        for n in ("directory_api", "consent_api", "analytics_api")
        for r in FUNCTIONS[n].routes
        for m in r.methods
    }
    covered = {(c.route, c.method) for _, _, c in matrix}
    assert routes - {("/v1/openapi.json", "GET")} <= covered
    assert len(matrix) == len(CALLERS) * (3 * 10 + 13)


def test_an_employee_reading_their_own_consent_sees_only_their_own(people_api: Api, cognito: Cognito) -> None:
    # Given two employees of a team, one consented
    t = build_tenant(people_api, cognito)
    people_api.put("/v1/me/consent", t.emp2, {"policy_version": "2026-01", "categories": ["apps"]})
    # When the other reads /v1/me/consent
    _, mine = people_api.get("/v1/me/consent", t.emp1)
    # Then it is their own (empty) record
    assert (mine["employee_id"], mine["status"], mine["history"]) == (t.emp1.employee_id, "none", [])


def test_a_denial_is_written_to_the_audit_log_without_naming_the_subject_in_clear(
    people_api: Api, cognito: Cognito, db: Any
) -> None:
    # Given team two's manager and an employee of team one
    t = build_tenant(people_api, cognito)
    target = t.employees["emp1"]["employee_id"]
    # When the manager reads that employee and their consent
    first, _ = people_api.get(f"/v1/employees/{target}", t.manager2, path_params={"id": target})
    second, _ = people_api.get(f"/v1/employees/{target}/consent", t.manager2, path_params={"id": target})
    # Then both are refused and recorded as denied, with the subject only as a pseudonym
    rows = db.execute(
        "SELECT actor_id, action, resource, outcome, subject_ref IS NOT NULL FROM audit_log"
        " WHERE tenant_id = %s AND outcome = 'denied' ORDER BY seq",
        (t.tenant_id,),
    ).fetchall()
    assert (first, second) == (403, 403)
    assert rows == [
        (t.manager2.sub, "employee.read", "directory/employee", "denied", True),
        (t.manager2.sub, "consent.read", "consent/employee", "denied", True),
    ]
    assert all(target not in str(r) for r in rows)


def test_allowed_reads_and_changes_of_personal_data_are_audited_before_the_response(
    people_api: Api, cognito: Cognito, db: Any
) -> None:
    # Given an employee of team one
    t = build_tenant(people_api, cognito)
    target = t.employees["emp1"]["employee_id"]
    start = db.execute(
        "SELECT coalesce(max(seq), 0) FROM audit_log WHERE tenant_id = %s", (t.tenant_id,)
    ).fetchone()[0]
    # When their manager reads them, they consent, and the manager reads their consent
    people_api.get(f"/v1/employees/{target}", t.manager1, path_params={"id": target})
    people_api.put("/v1/me/consent", t.emp1, {"policy_version": "2026-01", "categories": ["apps"]})
    people_api.get(f"/v1/employees/{target}/consent", t.manager1, path_params={"id": target})
    # Then each is in the log, the subject pseudonymised, the employee's own change as "self"
    rows = db.execute(
        "SELECT actor_id, action, resource, outcome FROM audit_log WHERE tenant_id = %s AND seq > %s ORDER BY seq",
        (t.tenant_id, start),
    ).fetchall()
    assert rows == [
        (t.manager1.sub, "employee.read", "directory/employee", "allowed"),
        ("self", "consent.granted", "consent/own", "allowed"),
        (t.manager1.sub, "consent.read", "consent/employee", "allowed"),
    ]


def test_when_the_audit_entry_cannot_be_written_no_personal_data_is_returned(
    people_api: Api, cognito: Cognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an audit log that refuses entries
    from shared.audit.recorder import AuditRecorder
    from shared.errors import AuditUnavailable

    t = build_tenant(people_api, cognito)
    target = t.employees["emp1"]

    def refuse(*_: Any, **__: Any) -> None:
        raise AuditUnavailable()

    monkeypatch.setattr(AuditRecorder, "record_many", refuse)
    # When the admin reads the employee
    status, body = people_api.get(
        f"/v1/employees/{target['employee_id']}", t.admin, path_params={"id": target["employee_id"]}
    )
    # Then the request fails and carries nothing of the employee
    assert (status, body["error"]["code"]) == (503, "service_unavailable")
    assert target["email"] not in json.dumps(body)
