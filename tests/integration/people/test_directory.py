"""Directory over the real handlers: teams, employees, devices (revocation seen by ingestion at
once), access grants, pagination, mass assignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tests.integration.people.conftest import Api, Cognito, build_tenant

if TYPE_CHECKING:
    from infra_cdk.local.pki import LocalCA
    from infra_cdk.local.resources import Resources
    from tests.integration.conftest import PostEvents

pytestmark = pytest.mark.integration


def test_an_admin_builds_teams_and_employees_and_a_manager_sees_only_their_team(
    people_api: Api, cognito: Cognito
) -> None:
    # Given a tenant with two teams built through the API
    t = build_tenant(people_api, cognito)
    # When the admin and team one's manager list employees
    _, everyone = people_api.get("/v1/employees", t.admin)
    _, managed = people_api.get("/v1/employees", t.manager1)
    _, teams = people_api.get("/v1/teams", t.manager1)
    # Then the admin sees all three, the manager only team one's two members and team
    assert {e["employee_id"] for e in everyone["items"]} == {e["employee_id"] for e in t.employees.values()}
    assert {e["employee_id"] for e in managed["items"]} == {
        t.employees["emp1"]["employee_id"],
        t.employees["emp2"]["employee_id"],
    }
    assert [team["team_id"] for team in teams["items"]] == [t.team1]


def test_lists_page_with_a_next_token(people_api: Api, cognito: Cognito) -> None:
    # Given three employees
    t = build_tenant(people_api, cognito)
    # When the admin pages two at a time
    status, first = people_api.get("/v1/employees", t.admin, query={"limit": "2"})
    _, second = people_api.get(
        "/v1/employees", t.admin, query={"limit": "2", "next_token": first["next_token"]}
    )
    # Then the pages are disjoint and together complete, and the last has no token
    assert status == 200
    ids = [e["employee_id"] for e in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 3
    assert second["next_token"] is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/teams", {"name": "X", "manager_ids": [], "tenant_id": "other"}),
        ("/v1/employees", {"email": "a@b.example.com", "display_name": "A", "team_id": "T", "role": "admin"}),
        ("/v1/employees", {"email": "a@b.example.com", "display_name": "A", "team_id": "T", "tenant_id": "x"}),
        ("/v1/employees", {"email": "a@b.example.com", "display_name": "A", "team_id": "T", "employee_id": "x"}),
        ("/v1/devices", {"employee_id": "e", "certificate_pem": "x" * 200, "tenant_id": "other"}),
        ("/v1/access-grants", {"user": "u", "role": "admin", "not_before": "2026-01-01T00:00:00Z",
                               "not_after": "2026-01-02T00:00:00Z"}),
    ],
)  # fmt: skip
def test_mass_assignment_of_fields_the_caller_may_not_set_is_rejected(
    people_api: Api, cognito: Cognito, path: str, body: dict[str, object]
) -> None:
    # Given an admin of a tenant
    admin = cognito.user("t-mass", "admin")
    # When a body also names a tenant, a role or an id the server assigns
    status, resp = people_api.post(path, admin, body)
    # Then it is refused as a whole and nothing is created
    assert status == 422, resp
    assert resp["error"]["code"] == "validation_error"
    _, teams = people_api.get("/v1/teams", admin)
    assert teams["items"] == []


def test_a_registered_device_ingests_and_its_revocation_is_refused_at_once(
    people_api: Api, cognito: Cognito, ca: LocalCA, aws_resources: Resources, post_events: PostEvents
) -> None:
    # Given a device registered through the directory for an employee who consented
    from tests.conftest import ALL_CATEGORIES, Agent
    from tests.support.activity import make_events

    t = build_tenant(people_api, cognito)
    emp = t.emp1
    issued = ca.issue("device-directory")
    status, device = people_api.post(
        "/v1/devices", t.admin, {"employee_id": emp.employee_id, "certificate_pem": issued.cert_pem}
    )
    assert status == 201, device
    status, _ = people_api.put(
        "/v1/me/consent", emp, {"policy_version": "2026-01", "categories": sorted(ALL_CATEGORIES)}
    )
    assert status == 200
    agent = Agent(t.tenant_id, emp.employee_id or "", None, issued)  # type: ignore[arg-type]
    accepted, _ = post_events(agent, {"events": make_events(2)})
    # When the admin revokes the device
    status, _ = people_api.delete(
        f"/v1/devices/{device['device_id']}", t.admin, path_params={"device_id": device["device_id"]}
    )
    # Then ingestion refuses its very next request
    refused, body = post_events(agent, {"events": make_events(1)})
    assert (accepted, status, refused) == (202, 204, 403)
    assert body["error"]["code"] == "device_not_authorized"


def test_the_same_certificate_cannot_be_registered_twice_nor_for_another_tenant(
    people_api: Api, cognito: Cognito, ca: LocalCA
) -> None:
    # Given a certificate registered for an employee of tenant A
    a = build_tenant(people_api, cognito)
    b = build_tenant(people_api, cognito)
    issued = ca.issue("device-dup")
    body = {"employee_id": a.emp1.employee_id, "certificate_pem": issued.cert_pem}
    first, _ = people_api.post("/v1/devices", a.admin, body)
    # When it is registered again, and B's admin tries it for A's employee
    again, _ = people_api.post("/v1/devices", a.admin, body)
    cross, _ = people_api.post("/v1/devices", b.admin, body)
    # Then
    assert (first, again, cross) == (201, 409, 404)


def test_an_auditor_reads_the_directory_only_inside_a_valid_grant(people_api: Api, cognito: Cognito) -> None:
    # Given an auditor without a grant, then with an expired one, then with a current one
    t = build_tenant(people_api, cognito)
    before, _ = people_api.get("/v1/employees", t.auditor)
    expired = {
        "user": t.auditor.sub,
        "role": "auditor",
        "not_before": "2020-01-01T00:00:00Z",
        "not_after": "2020-02-01T00:00:00Z",
    }
    status, _ = people_api.post("/v1/access-grants", t.admin, expired)
    assert status == 201
    during_expired, _ = people_api.get("/v1/employees", t.auditor)
    now = datetime.now(UTC)
    current = {
        "user": t.auditor.sub,
        "role": "auditor",
        "not_before": (now - timedelta(hours=1)).isoformat(),
        "not_after": (now + timedelta(days=30)).isoformat(),
    }
    status, _ = people_api.post("/v1/access-grants", t.admin, current)
    assert status == 201
    # When it reads the directory
    after, body = people_api.get("/v1/employees", t.auditor)
    # Then only the valid grant opens it
    assert (before, during_expired, after) == (403, 403, 200)
    assert len(body["items"]) == 3


def test_an_admin_cannot_grant_access_to_themselves(people_api: Api, cognito: Cognito) -> None:
    # Given an admin
    admin = cognito.user("t-self", "admin", "auditor")
    grant = {
        "user": admin.sub,
        "role": "auditor",
        "not_before": "2026-01-01T00:00:00Z",
        "not_after": "2026-06-01T00:00:00Z",
    }
    # When they grant themselves auditor access
    status, body = people_api.post("/v1/access-grants", admin, grant)
    # Then it is forbidden
    assert (status, body["error"]["code"]) == (403, "forbidden")
