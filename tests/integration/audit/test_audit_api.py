"""The audit API: dpo and granted auditors query and verify their tenant's log, employees read
who accessed their data; every call, and every denial, leaves exactly one entry of its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from functions.audit_api import handler
from infra_cdk.local.apigw import FakeLambdaContext, admin_event
from shared.audit import Actor, ActorType, AuditRecorder
from shared.auth.principal import Principal, Role
from shared.db import pool as db_pool
from shared.errors import Unauthenticated
from tests.integration.audit.conftest import AuditAws, entry

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[3] / "events" / "audit_api"
TENANT = "t-acme"
EMPLOYEE = "3f9a2c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"

PRINCIPALS = {
    "dpo": Principal(TENANT, "dpo-user", frozenset({Role.DPO})),
    "auditor": Principal(TENANT, "auditor-user", frozenset({Role.AUDITOR})),
    "manager": Principal(TENANT, "manager-7", frozenset({Role.MANAGER})),
    "employee": Principal(TENANT, "emp-user", frozenset({Role.EMPLOYEE}), employee_id=EMPLOYEE),
    "other-tenant-dpo": Principal("t-other", "dpo-2", frozenset({Role.DPO})),
}


class FakeVerifier:
    """Tokens are the names above (the real verifier is tested with Cognito in tests/integration/people)."""

    def __init__(self) -> None:
        self.tokens = dict(PRINCIPALS) | {"sample-token": PRINCIPALS["dpo"]}

    def principal(self, header: str | None) -> Principal:
        p = self.tokens.get((header or "").removeprefix("Bearer "))
        if p is None:
            raise Unauthenticated()
        return p


@pytest.fixture
def api(audit_aws: AuditAws, audit_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("USER_POOL_ID", "eu-west-1_tests")
    monkeypatch.setenv("USER_POOL_CLIENT_ID", "tests")
    handler.deps.cache_clear()
    object.__setattr__(handler.deps(), "verifier", FakeVerifier())

    def call(who: str, path: str, query: dict[str, str] | None = None, event: Any = None) -> tuple[int, Any]:
        resp = handler.lambda_handler(
            event or admin_event("GET", path, who, query=query), FakeLambdaContext()
        )
        return resp["statusCode"], json.loads(resp["body"])

    yield call
    handler.deps.cache_clear()
    db_pool.close_all()


def seed(url: str) -> None:
    """A manager read the employee's data twice and another employee's once."""
    with psycopg.connect(url) as conn:
        AuditRecorder().record_many(
            conn,
            [entry(TENANT, 1, subject=EMPLOYEE), entry(TENANT, 2, subject="someone-else"),
             entry(TENANT, 3, subject=EMPLOYEE)],
        )  # fmt: skip


def entries(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT a.seq, a.actor_id, a.action, a.outcome, s.employee_id FROM audit_log a LEFT JOIN audit_subjects s"
            " USING (tenant_id, subject_ref) WHERE a.tenant_id = %s ORDER BY seq",
            (TENANT,),
        ).fetchall()


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}


def test_the_dpo_reads_the_tenants_entries_and_the_read_is_itself_recorded(api: Any, audit_url: str) -> None:
    # Given three recorded accesses
    seed(audit_url)
    # When the DPO lists the entries about the employee
    status, body = api("dpo", "/v1/audit/events", window() | {"subject": EMPLOYEE})
    # Then both entries about them come back, newest first, with actor, purpose and hash
    assert status == 200
    assert [(e["seq"], e["actor"], e["subject"]) for e in body["events"]] == [
        (3, "user:manager-7", EMPLOYEE), (1, "user:manager-7", EMPLOYEE)
    ]  # fmt: skip
    assert len(body["events"][0]["hash"]) == 64
    # and exactly one new entry records the DPO's read
    assert entries(audit_url)[3:] == [(4, "dpo-user", "audit.events.read", "allowed", EMPLOYEE)]


def test_events_are_paged_and_filtered_by_actor_and_action(api: Any, audit_url: str) -> None:
    # Given three recorded accesses
    seed(audit_url)
    # When the DPO pages through them two at a time, filtered
    q = window() | {"actor": "user:manager-7", "action": "analytics.employee_daily.read", "limit": "2"}
    _, first = api("dpo", "/v1/audit/events", q)
    _, second = api("dpo", "/v1/audit/events", q | {"next_token": first["next_token"]})
    # Then every match comes once
    assert [e["seq"] for e in first["events"] + second["events"]] == [3, 2, 1]
    assert second["next_token"] is None


def test_an_auditor_needs_a_valid_grant_and_a_denial_is_recorded(api: Any, audit_url: str) -> None:
    # Given an auditor without a grant
    seed(audit_url)
    # When they query the log
    status, body = api("auditor", "/v1/audit/events", window())
    # Then they are refused, and the refusal is in the log
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert entries(audit_url)[3:] == [(4, "auditor-user", "audit.events.read", "denied", None)]
    # When the admin grants them access for a day
    with psycopg.connect(audit_url) as conn:
        now = datetime.now(UTC)
        conn.execute(
            "INSERT INTO access_grants (tenant_id, user_id, role, not_before, not_after, created_by)"
            " VALUES (%s, 'auditor-user', 'auditor', %s, %s, 'admin')",
            (TENANT, now - timedelta(minutes=1), now + timedelta(days=1)),
        )
    # Then the same query succeeds
    assert api("auditor", "/v1/audit/events", window())[0] == 200


def test_a_manager_or_another_tenant_sees_nothing_of_the_log(api: Any, audit_url: str) -> None:
    # Given recorded accesses of one tenant
    seed(audit_url)
    # When a manager, and another tenant's DPO, query it
    manager = api("manager", "/v1/audit/events", window())
    other = api("other-tenant-dpo", "/v1/audit/events", window())
    # Then the manager is refused and the other tenant sees only its own (empty) log
    assert manager[0] == 403
    assert (other[0], other[1]["events"]) == (200, [])


def test_an_employee_sees_who_accessed_their_data_and_nothing_else(api: Any, audit_url: str) -> None:
    # Given accesses to the employee's data and to someone else's
    seed(audit_url)
    # When the employee reads their access log
    status, body = api("employee", "/v1/me/access-log")
    # Then they see the two reads of their data (who, when, why), not the third
    assert status == 200
    assert [(e["actor"], e["purpose"]) for e in body["entries"]] == [
        ("user:manager-7", "team_management"), ("user:manager-7", "team_management")
    ]  # fmt: skip
    # and their own read is recorded once, as "self"
    assert entries(audit_url)[3:] == [(4, "self", "audit.access_log.read", "allowed", EMPLOYEE)]
    # A DPO has no access log of their own
    assert api("dpo", "/v1/me/access-log")[0] == 403


def test_verify_checks_the_chain_against_the_latest_signed_checkpoint(api: Any, audit_url: str) -> None:
    # Given a checkpointed chain
    from functions.audit_checkpoint import handler as checkpoint

    seed(audit_url)
    checkpoint.deps.cache_clear()
    checkpoint.lambda_handler({}, FakeLambdaContext())
    checkpoint.deps.cache_clear()
    # When the DPO verifies it
    status, body = api("dpo", "/v1/audit/verify")
    # Then it is intact
    assert (status, body) == (200, {"ok": True, "checked": 3, "first_bad_seq": None})
    # When an entry was changed behind the application's back
    with psycopg.connect(audit_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE audit_log SET outcome = 'denied' WHERE tenant_id = %s AND seq = 2", (TENANT,))
    # Then verify names it (the verify call itself was recorded as entry 4, after the check)
    _, body = api("dpo", "/v1/audit/verify")
    assert (body["ok"], body["first_bad_seq"]) == (False, 2)


@pytest.mark.parametrize("sample", ["get_events", "get_verify", "get_my_access_log"])
def test_the_sample_events_are_served(api: Any, audit_url: str, sample: str) -> None:
    # Given the committed sample event (its token stands for a DPO; an employee for the access log)
    event = json.loads((EVENTS / f"{sample}.json").read_text())
    if sample == "get_my_access_log":
        event["headers"]["Authorization"] = "Bearer employee"
    seed(audit_url)
    # When the handler serves it
    status, _ = api("", "", event=event)
    # Then it answers 200
    assert status == 200


def test_a_self_access_is_stored_as_self(audit_url: str) -> None:
    # Given an employee reading their own data through some function
    with psycopg.connect(audit_url) as conn:
        AuditRecorder().record(
            conn, entry(TENANT, 1, subject=EMPLOYEE, actor=Actor(ActorType.USER, EMPLOYEE))
        )
    # When / Then the actor is "self"
    assert entries(audit_url)[0][1] == "self"


def test_the_audit_report_counts_the_period_verifies_the_chain_and_is_itself_recorded(
    api: Any, audit_url: str
) -> None:
    # Given three recorded reads by a manager
    seed(audit_url)
    # When the DPO asks for the report of the last hour
    status, report = api("dpo", "/v1/audit/report", window())
    # Then it counts them, says the chain is intact, and its own read is the log's next entry
    assert status == 200
    assert (report["entries"], report["denied"], report["distinct_subjects"]) == (3, 0, 2)
    assert report["by_outcome"] == [{"key": "allowed", "count": 3}]
    assert report["chain"]["ok"] is True
    assert (report["first_seq"], report["last_seq"]) == (1, 3)
    assert entries(audit_url)[3:] == [(4, "dpo-user", "audit.report", "allowed", None)]
    # and an employee may not have it
    assert api("employee", "/v1/audit/report", window())[0] == 403
