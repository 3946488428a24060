"""Consent lifecycle over the real handlers: policies, grant / change / withdraw with history,
version pinning, withdrawal seen by ingestion at once and announced on the bus, clean re-grant."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from infra_cdk.local.resources import REGION
from shared.dynamo.consent import ConsentStatus, ConsentStore
from tests.conftest import Agent
from tests.integration.people.conftest import POLICY, Api, Cognito, build_tenant
from tests.support.activity import make_events

if TYPE_CHECKING:
    from infra_cdk.local.pki import LocalCA
    from infra_cdk.local.resources import Resources
    from tests.integration.conftest import PostEvents
    from tests.integration.people.conftest import Tenant, User

pytestmark = pytest.mark.integration


@pytest.fixture
def withdrawals(aws_resources: Resources) -> Any:
    """An SQS queue subscribed to ConsentWithdrawn on the bus (as the purge workflow's rule is)."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName="purge-starts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="purge-on-withdrawal",
        EventBusName=aws_resources.bus_name,
        EventPattern=json.dumps({"source": ["workforce.consent"], "detail-type": ["ConsentWithdrawn"]}),
    )
    events.put_targets(
        Rule="purge-on-withdrawal", EventBusName=aws_resources.bus_name, Targets=[{"Id": "q", "Arn": arn}]
    )

    def read() -> list[dict[str, Any]]:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in msgs]

    return read


def grant(
    api: Api, user: User, categories: list[str], version: str = "2026-01", **extra: Any
) -> tuple[int, Any]:
    return api.put("/v1/me/consent", user, {"policy_version": version, "categories": categories, **extra})


def enrolled(api: Api, t: Tenant, ca: LocalCA) -> Agent:
    issued = ca.issue("device-consent")
    status, device = api.post(
        "/v1/devices", t.admin, {"employee_id": t.emp1.employee_id, "certificate_pem": issued.cert_pem}
    )
    assert status == 201, device
    return Agent(t.tenant_id, t.emp1.employee_id or "", None, issued)  # type: ignore[arg-type]


def test_grant_change_and_withdraw_are_kept_as_history_with_who_when_version_categories_channel(
    people_api: Api, cognito: Cognito, withdrawals: Any
) -> None:
    # Given an employee and a published policy
    t = build_tenant(people_api, cognito)
    # When they grant, change, then withdraw
    s1, _ = grant(people_api, t.emp1, ["apps"], channel="web")
    s2, _ = grant(people_api, t.emp1, ["apps", "input_counts"], channel="agent")
    s3, withdrawal = people_api.delete("/v1/me/consent", t.emp1, query={"channel": "web"})
    _, mine = people_api.get("/v1/me/consent", t.emp1)
    # Then every change is in the history, newest first, and the current state is withdrawn
    assert (s1, s2, s3) == (200, 200, 202)
    assert mine["status"] == "withdrawn"
    assert mine["categories"] == []
    history = [(h["action"], h["policy_version"], h["categories"], h["channel"]) for h in mine["history"]]
    assert history == [
        ("withdrawn", "2026-01", [], "web"),
        ("changed", "2026-01", ["apps", "input_counts"], "agent"),
        ("granted", "2026-01", ["apps"], "web"),
    ]
    assert {h["actor"] for h in mine["history"]} == {f"user:{t.emp1.sub}"}
    assert mine["history"][0]["purge_id"] == withdrawal["purge_id"]


def test_withdrawal_is_refused_by_ingestion_at_once_and_starts_the_purge(
    people_api: Api,
    cognito: Cognito,
    ca: LocalCA,
    aws_resources: Resources,
    post_events: PostEvents,
    withdrawals: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an employee whose device ingests under their consent
    monkeypatch.setenv("CONSENT_CACHE_TTL_S", "0")
    t = build_tenant(people_api, cognito)
    agent = enrolled(people_api, t, ca)
    grant(people_api, t.emp1, ["apps", "window_titles", "urls", "input_counts"])
    accepted, _ = post_events(agent, {"events": make_events(3)})
    # When they withdraw
    status, body = people_api.delete("/v1/me/consent", t.emp1)
    # Then the very next batch is refused, the state ingestion reads is withdrawn, and the
    # purge workflow receives ConsentWithdrawn with the same purge id
    refused, error = post_events(agent, {"events": make_events(1)})
    assert (accepted, status, refused, error["error"]["code"]) == (202, 202, 403, "consent_required")
    state = ConsentStore(boto3.client("dynamodb", region_name=REGION), aws_resources.consent_table).current(
        t.tenant_id, t.emp1.employee_id or ""
    )
    assert state.status is ConsentStatus.WITHDRAWN
    [event] = withdrawals()
    assert (event["source"], event["detail-type"]) == ("workforce.consent", "ConsentWithdrawn")
    assert event["detail"] == {
        "tenant_id": t.tenant_id,
        "employee_id": t.emp1.employee_id,
        "purge_id": body["purge_id"],
        "withdrawn_at": event["detail"]["withdrawn_at"],
        "policy_version": "2026-01",
    }


def test_retrying_a_withdrawal_republishes_the_same_purge_and_writes_no_new_history(
    people_api: Api, cognito: Cognito, withdrawals: Any
) -> None:
    # Given a withdrawn consent
    t = build_tenant(people_api, cognito)
    grant(people_api, t.emp1, ["apps"])
    _, first = people_api.delete("/v1/me/consent", t.emp1)
    # When the withdrawal is retried (a lost response)
    status, again = people_api.delete("/v1/me/consent", t.emp1)
    # Then it answers with the same purge id, the event goes out again, history has one withdrawal
    _, mine = people_api.get("/v1/me/consent", t.emp1)
    assert (status, again["purge_id"]) == (202, first["purge_id"])
    assert [e["detail"]["purge_id"] for e in withdrawals()] == [first["purge_id"]] * 2
    assert [h["action"] for h in mine["history"]] == ["withdrawn", "granted"]


def test_withdrawing_without_consent_is_a_conflict(people_api: Api, cognito: Cognito) -> None:
    # Given an employee who never consented
    t = build_tenant(people_api, cognito)
    # When they withdraw
    status, body = people_api.delete("/v1/me/consent", t.emp1)
    # Then there is nothing to withdraw
    assert (status, body["error"]["code"]) == (409, "conflict")


def test_regranting_after_withdrawal_starts_clean_and_ingestion_accepts_again(
    people_api: Api,
    cognito: Cognito,
    ca: LocalCA,
    post_events: PostEvents,
    withdrawals: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an employee who consented to everything, then withdrew
    monkeypatch.setenv("CONSENT_CACHE_TTL_S", "0")
    t = build_tenant(people_api, cognito)
    agent = enrolled(people_api, t, ca)
    grant(people_api, t.emp1, ["apps", "window_titles", "urls", "input_counts"])
    people_api.delete("/v1/me/consent", t.emp1)
    # When they grant again, for apps only
    status, mine = grant(people_api, t.emp1, ["apps"])
    # Then the new consent covers only apps (nothing carried over), and ingestion accepts apps
    # events again but rejects a window title
    assert (status, mine["status"], mine["categories"]) == (200, "active", ["apps"])
    assert mine["history"][0]["action"] == "granted"
    ok, _ = post_events(agent, {"events": make_events(1)})
    assert ok == 202
    titled = make_events(1)[0] | {"window_title": "Quarterly plan.xlsx"}
    _, rejected = post_events(agent, {"events": [titled]})
    assert [r["code"] for r in rejected["rejected"]] == ["category_not_consented"]


def test_consent_stays_pinned_to_its_version_when_a_new_policy_is_published(
    people_api: Api, cognito: Cognito
) -> None:
    # Given consent to 2026-01
    t = build_tenant(people_api, cognito)
    grant(people_api, t.emp1, ["apps"])
    # When the DPO publishes 2026-02
    status, _ = people_api.post("/v1/consent-policies", t.dpo, POLICY | {"version": "2026-02", "text": "v2"})
    _, mine = people_api.get("/v1/me/consent", t.emp1)
    stale, stale_body = grant(people_api, t.emp2, ["apps"], version="2026-01")
    upgraded, up = grant(people_api, t.emp1, ["apps", "urls"], version="2026-02")
    # Then the existing consent is still 2026-01 (and says a newer one exists); a new grant must
    # take the newest version; re-consenting moves to it
    assert status == 201
    assert (mine["policy_version"], mine["latest_policy_version"]) == ("2026-01", "2026-02")
    assert (stale, stale_body["error"]["code"]) == (409, "conflict")
    assert (upgraded, up["policy_version"], up["history"][0]["action"]) == (200, "2026-02", "changed")


def test_a_published_policy_is_immutable(people_api: Api, cognito: Cognito) -> None:
    # Given the tenant's published 2026-01
    t = build_tenant(people_api, cognito)
    # When the DPO posts 2026-01 again with other text
    status, body = people_api.post("/v1/consent-policies", t.dpo, POLICY | {"text": "changed"})
    _, policies = people_api.get("/v1/consent-policies", t.emp1)
    # Then it is refused and the text is unchanged
    assert (status, body["error"]["code"]) == (409, "conflict")
    assert [p["text"] for p in policies["items"]] == [POLICY["text"]]


def test_categories_outside_the_policy_or_an_unknown_version_are_refused(
    people_api: Api, cognito: Cognito
) -> None:
    # Given a policy covering apps only
    t = build_tenant(people_api, cognito)
    people_api.post("/v1/consent-policies", t.dpo, POLICY | {"version": "2026-03", "categories": ["apps"]})
    # When the employee asks for urls too, or for a version that does not exist
    wide, _ = grant(people_api, t.emp1, ["apps", "urls"], version="2026-03")
    unknown, _ = grant(people_api, t.emp1, ["apps"], version="1999-01")
    keystrokes, _ = grant(people_api, t.emp1, ["keystrokes"], version="2026-03")
    # Then each is a validation error and nothing was granted
    _, mine = people_api.get("/v1/me/consent", t.emp1)
    assert (wide, unknown, keystrokes) == (422, 422, 422)
    assert (mine["status"], mine["history"]) == ("none", [])


@pytest.mark.parametrize("role", ["admin", "manager", "dpo", "auditor"])
def test_nobody_but_the_employee_can_grant_consent(people_api: Api, cognito: Cognito, role: str) -> None:
    # Given a tenant and a non-employee of each role (the body even names an employee)
    t = build_tenant(people_api, cognito)
    caller = {"admin": t.admin, "manager": t.manager1, "dpo": t.dpo, "auditor": t.auditor}[role]
    # When they try to grant consent
    status, _ = grant(people_api, caller, ["apps"])
    smuggled, _ = grant(people_api, t.emp1, ["apps"], employee_id=t.employees["emp2"]["employee_id"])
    # Then it is forbidden, and an employee cannot name someone else either (unknown field)
    _, emp2 = people_api.get(
        f"/v1/employees/{t.emp2.employee_id}/consent", t.admin, path_params={"id": t.emp2.employee_id or ""}
    )
    assert (status, smuggled, emp2["status"]) == (403, 422, "none")


def test_managers_and_admins_read_consent_status_within_their_scope(
    people_api: Api, cognito: Cognito
) -> None:
    # Given emp1 (team one) consented
    t = build_tenant(people_api, cognito)
    grant(people_api, t.emp1, ["apps"])
    path = f"/v1/employees/{t.emp1.employee_id}/consent"
    params = {"id": t.emp1.employee_id or ""}
    # When the admin, the DPO, team one's manager and team two's manager read it
    results = {
        name: people_api.get(path, user, path_params=params)
        for name, user in (
            ("admin", t.admin),
            ("dpo", t.dpo),
            ("manager1", t.manager1),
            ("manager2", t.manager2),
        )
    }
    # Then all but team two's manager see the active consent and its history
    assert {k: v[0] for k, v in results.items()} == {
        "admin": 200,
        "dpo": 200,
        "manager1": 200,
        "manager2": 403,
    }
    assert results["manager1"][1]["status"] == "active"
    assert "history" not in results["manager2"][1]


def test_a_change_based_on_a_stale_read_is_refused_and_writes_nothing(
    people_api: Api, cognito: Cognito, aws_resources: Resources
) -> None:
    # Given an employee's consent, read by two concurrent requests
    from datetime import UTC, datetime

    from shared.dynamo.consent import ConsentChange, ConsentLedger, ConsentState, StaleConsent

    t = build_tenant(people_api, cognito)
    grant(people_api, t.emp1, ["apps"])
    ledger = ConsentLedger(boto3.client("dynamodb", region_name=REGION), aws_resources.consent_table)
    eid = t.emp1.employee_id or ""
    seen = ledger.current(t.tenant_id, eid)
    grant(people_api, t.emp1, ["apps", "urls"])  # the other request wins
    # When the slower one writes on the state it read
    now = datetime.now(UTC)
    change = ConsentChange(
        "changed", ConsentStatus.ACTIVE, "2026-01", frozenset({"input_counts"}), "x", "api", now
    )
    with pytest.raises(StaleConsent):
        ledger.record(
            t.tenant_id,
            eid,
            ConsentState(ConsentStatus.ACTIVE, "2026-01", frozenset({"input_counts"}), now),
            change,
            seen,
        )
    # Then neither the state nor the history took it
    assert ledger.current(t.tenant_id, eid).categories == {"apps", "urls"}
    assert len(ledger.history(t.tenant_id, eid)) == 2
