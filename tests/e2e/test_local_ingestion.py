"""`make local`'s agent API over real mutual TLS, through the stream, into PostgreSQL."""

from __future__ import annotations

import http.client
import json
import signal
import ssl
import subprocess
import time
from typing import Any

import psycopg
import pytest

from infra_cdk.local.demo import admin_call, id_token
from infra_cdk.local.from_template import EMPTY_CODE_ZIP
from infra_cdk.local.pki import LocalCA
from tests.e2e.conftest import REPO_ROOT, RunningStack, start_stack, stop_stack
from tests.support.activity import make_events
from tests.support.local import ended

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def tls(stack: RunningStack, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(stack.path(stack.info["ca_cert"])))
    if cert and key:
        ctx.load_cert_chain(cert, key)
    return ctx


def request(
    stack: RunningStack, method: str, path: str, employee: dict[str, Any] | None, body: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    host, port = stack.info["agent_api"].removeprefix("https://").split(":")
    cert = (
        (str(stack.path(employee["device_cert"])), str(stack.path(employee["device_key"])))
        if employee
        else (None, None)
    )
    conn = http.client.HTTPSConnection(host, int(port), context=tls(stack, *cert), timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def token_of(stack: RunningStack, email: str) -> str:
    return id_token(stack.info, email)


def admin(
    stack: RunningStack, method: str, path: str, token: str | None, body: Any = None
) -> tuple[int, Any]:
    return admin_call(stack.info, method, path, token, body, timeout=30)


def grant_consent(stack: RunningStack, employee: dict[str, Any], categories: set[str]) -> None:
    # The employee grants consent through the consent API, with their own token.
    status, body = admin(
        stack,
        "PUT",
        "/v1/me/consent",
        token_of(stack, employee["email"]),
        {"policy_version": stack.info["demo"]["policy_version"], "categories": sorted(categories)},
    )
    assert status == 200, body


def stored_count(stack: RunningStack, employee_id: str) -> int:
    with psycopg.connect(stack.info["database_url"]) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM activity_events WHERE employee_id = %s", (employee_id,)
            ).fetchone()[0]
        )


def test_an_agent_posts_over_mutual_tls_and_its_events_are_stored(local_stack: RunningStack) -> None:
    employee = local_stack.info["demo"]["users"]["employees"][0]
    # Given no consent yet (the demo tenant starts without any)
    status, body = request(local_stack, "GET", "/v1/agent/config", employee)
    assert (status, body["consent"]["status"]) == (200, "none")
    status, body = request(
        local_stack, "POST", "/v1/events", employee, json.dumps({"events": make_events(5)}).encode()
    )
    assert (status, body["error"]["code"]) == (403, "consent_required")
    # When the employee consents (through the consent API) and the agent posts a batch
    grant_consent(local_stack, employee, {"apps", "window_titles", "urls", "input_counts"})
    time.sleep(5.5)  # the agent API's consent cache lives 5 s
    events = make_events(200, seed=42)
    status, body = request(
        local_stack, "POST", "/v1/events", employee, json.dumps({"events": events}).encode()
    )
    assert (status, body) == (202, {"accepted": 200, "rejected": []})
    # Then the poller delivers the stream to the consumer and every event is stored once
    deadline = time.monotonic() + 60
    while stored_count(local_stack, employee["employee_id"]) < 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stored_count(local_stack, employee["employee_id"]) == 200
    # And posting the same batch again stores nothing more
    assert (
        request(local_stack, "POST", "/v1/events", employee, json.dumps({"events": events}).encode())[0]
        == 202
    )
    time.sleep(3)
    assert stored_count(local_stack, employee["employee_id"]) == 200


def test_no_client_certificate_is_refused_in_the_tls_handshake(local_stack: RunningStack) -> None:
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        request(local_stack, "GET", "/v1/agent/config", None)


def test_a_certificate_of_another_ca_is_refused_in_the_tls_handshake(
    local_stack: RunningStack, tmp_path: Any
) -> None:
    issued = LocalCA("Rogue CA").issue("rogue-device")
    (tmp_path / "c.pem").write_text(issued.cert_pem)
    (tmp_path / "c.key").write_text(issued.key_pem)
    rogue = {"device_cert": str(tmp_path / "c.pem"), "device_key": str(tmp_path / "c.key")}
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        request(local_stack, "GET", "/v1/agent/config", rogue)


def test_bad_requests_get_api_gateway_answers(local_stack: RunningStack) -> None:
    employee = local_stack.info["demo"]["users"]["employees"][1]
    status, body = request(local_stack, "GET", "/v1/no-such-route", employee)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = request(local_stack, "POST", "/v1/events", employee, b"x" * (11 * 1024 * 1024))
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    # The admin API: an unknown path or method is the cloud gateway's 404 (infra_cdk.api_common)
    from infra_cdk.constants import NO_ROUTE_MESSAGE

    admin_token = token_of(local_stack, local_stack.info["demo"]["users"]["admin"])
    for method, path in (("GET", "/v1/no-such-route"), ("DELETE", "/v1/teams")):
        status, body = admin(local_stack, method, path, admin_token)
        assert (status, body["error"]["code"], body["error"]["message"]) == (
            404,
            "not_found",
            NO_ROUTE_MESSAGE,
        )
    status, body = admin(local_stack, "POST", "/v1/teams", admin_token, {"name": "x" * (11 * 1024 * 1024)})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_sigterm_stops_everything_and_leaves_no_process_behind(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stack = start_stack(tmp_path_factory.mktemp("stop-test"))
    assert stop_stack(stack, signal.SIGTERM) == 0
    leftovers = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(stack.state_dir) not in leftovers
    assert "stopped" in stack.log()


def test_demo_people_sign_in_to_the_local_cognito_and_get_rs256_tokens(local_stack: RunningStack) -> None:
    import jwt

    idp = local_stack.aws("cognito-idp")
    demo = local_stack.info["demo"]
    tokens = idp.initiate_auth(
        ClientId=local_stack.info["user_pool_client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": demo["users"]["manager_a"], "PASSWORD": demo["password"]},
    )["AuthenticationResult"]
    header = jwt.get_unverified_header(tokens["IdToken"])
    claims = jwt.decode(tokens["IdToken"], options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert claims["custom:tenant_id"] == demo["tenant_id"]
    assert claims["cognito:groups"] == ["manager"]


def test_people_use_the_admin_api_with_their_tokens(local_stack: RunningStack) -> None:
    demo = local_stack.info["demo"]
    team_a = demo["teams"]["a"]
    # A manager sees their team, not the other one
    manager = token_of(local_stack, demo["users"]["manager_a"])
    status, teams = admin(local_stack, "GET", "/v1/teams", manager)
    assert status == 200
    assert [t["team_id"] for t in teams["items"]] == [team_a]
    # An employee reads their own consent, and not a colleague's
    me, colleague = demo["users"]["employees"][2], demo["users"]["employees"][3]
    token = token_of(local_stack, me["email"])
    status, mine = admin(local_stack, "GET", "/v1/me/consent", token)
    assert (status, mine["status"]) == (200, "none")
    status, body = admin(local_stack, "GET", f"/v1/employees/{colleague['employee_id']}/consent", token)
    assert status in (403, 404)
    # Without a token, the gateway answers before any function
    status, body = admin(local_stack, "GET", "/v1/teams", None)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    status, body = admin(local_stack, "GET", "/v1/nothing-here", manager)
    assert (status, body["error"]["code"]) == (404, "not_found")
    # The OpenAPI document lists the admin routes
    status, doc = admin(local_stack, "GET", "/v1/openapi.json", manager)
    assert status == 200
    assert "/v1/me/consent" in doc["paths"]


def test_withdrawal_stops_ingestion_and_every_read_is_audited(local_stack: RunningStack) -> None:
    demo = local_stack.info["demo"]
    employee = demo["users"]["employees"][4]
    grant_consent(local_stack, employee, {"apps", "input_counts"})
    time.sleep(5.5)
    events = [e for e in make_events(10, seed=5) if "window_title" not in e and "url" not in e]
    status, body = request(
        local_stack, "POST", "/v1/events", employee, json.dumps({"events": events}).encode()
    )
    assert (status, body["accepted"]) == (202, len(events))
    # When the employee withdraws
    status, body = admin(local_stack, "DELETE", "/v1/me/consent", token_of(local_stack, employee["email"]))
    assert status == 202
    assert body["purge_id"]
    # Then within the consent cache's seconds the agent is told to stop
    time.sleep(5.5)
    status, body = request(
        local_stack, "POST", "/v1/events", employee, json.dumps({"events": events}).encode()
    )
    assert (status, body["error"]["code"]) == (403, "consent_required")
    # And the DPO finds the manager's and the employee's accesses in an audit log that verifies
    dpo = token_of(local_stack, demo["users"]["dpo"])
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlencode

    window = {
        "from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    status, log = admin(local_stack, "GET", f"/v1/audit/events?{urlencode(window)}", dpo)
    assert status == 200
    assert log["events"]
    status, verdict = admin(local_stack, "GET", "/v1/audit/verify", dpo)
    assert (status, verdict["ok"]) == (200, True)


def test_the_auditor_reads_and_verifies_the_audit_log_under_their_grant_and_no_activity(
    local_stack: RunningStack,
) -> None:
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlencode

    demo = local_stack.info["demo"]
    auditor = token_of(local_stack, demo["users"]["auditor"])
    started = datetime.now(UTC) - timedelta(seconds=1)
    window = {
        "from": (started - timedelta(hours=1)).isoformat(),
        "to": (started + timedelta(minutes=5)).isoformat(),
    }
    # The seeded 30-day grant lets the auditor read the log and check its chain
    status, log = admin(local_stack, "GET", f"/v1/audit/events?{urlencode(window)}", auditor)
    assert status == 200, log
    assert log["events"]
    status, verdict = admin(local_stack, "GET", "/v1/audit/verify", auditor)
    assert (status, verdict["ok"]) == (200, True)
    # They may look up who a subject is (the directory), but not read people's activity, the
    # productivity rules, or change anything
    employee = demo["users"]["employees"][0]["employee_id"]
    status, _ = admin(local_stack, "GET", f"/v1/employees/{employee}", auditor)
    assert status == 200
    for method, path, body in (
        ("GET", f"/v1/analytics/employees/{employee}/daily?from=2026-11-01&to=2026-11-30", None),
        ("GET", "/v1/productivity-rules", None),
        ("POST", "/v1/teams", {"name": "Auditors' own", "manager_ids": []}),
    ):
        status, answer = admin(local_stack, method, path, auditor, body)
        assert (status, answer.get("error", {}).get("code")) == (403, "forbidden"), (path, status, answer)
    # And what they did is in the log they read: their reads allowed, the three refusals denied
    since = {"from": started.isoformat(), "to": window["to"]}
    status, log = admin(local_stack, "GET", f"/v1/audit/events?{urlencode(since)}", auditor)
    assert status == 200, log
    outcomes = [(e["action"], e["outcome"]) for e in log["events"]]
    assert ("audit.events.read", "allowed") in outcomes
    assert ("audit.verify", "allowed") in outcomes
    assert sum(outcome == "denied" for _, outcome in outcomes) >= 3, outcomes


def test_the_audit_checkpoint_schedule_runs_on_demand_and_the_chain_verifies_against_it(
    local_stack: RunningStack,
) -> None:
    import os
    import sys

    from tests.e2e.conftest import REPO_ROOT

    env = {**os.environ, "LOCAL_STATE_DIR": str(local_stack.state_dir)}
    run = subprocess.run(
        [sys.executable, "-m", "infra_cdk.local.run_schedule", "audit_checkpoint"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout[run.stdout.index("{\n") :])
    assert result["written"] is True
    dpo = token_of(local_stack, local_stack.info["demo"]["users"]["dpo"])
    status, verdict = admin(local_stack, "GET", "/v1/audit/verify", dpo)
    assert (status, verdict["ok"]) == (200, True)


def test_sam_invoke_gets_the_template_function_and_the_local_stack_environment(
    local_stack: RunningStack,
) -> None:
    from infra_cdk.local.from_template import function_logical_id
    from infra_cdk.local.sam_invoke import env_vars

    (template_path,) = (local_stack.state_dir / "cdk.out").glob("*.template.json")
    template = json.loads(template_path.read_text())
    logical_id = function_logical_id(template["Resources"], "ingest_api")
    assert template["Resources"][logical_id]["Type"] == "AWS::Lambda::Function"
    (values,) = env_vars(template, "ingest_api", local_stack.info).values()
    for name in ("DEVICES_TABLE", "CONSENT_TABLE", "TENANTS_TABLE", "EVENTS_STREAM_NAME"):
        assert values[name] == local_stack.info["resources"][name]
    assert values["AWS_ENDPOINT_URL"] == local_stack.info["aws_endpoint"]


def test_sam_finds_every_function_s_code_and_layer_in_the_synthesized_assets(
    local_stack: RunningStack,
) -> None:
    # `sam local invoke -t cdk.out/<stack>.template.json` reads code from each resource's
    # aws:asset:path (CDK writes it when asset metadata is on, as `cdk synth` has it by default).
    import os
    import sys

    from infra_cdk.constants import existing_functions
    from infra_cdk.local.from_template import function_logical_id
    from tests.e2e.conftest import REPO_ROOT

    cdk_out = local_stack.state_dir / "cdk.out"
    (template_path,) = cdk_out.glob("*.template.json")
    resources = json.loads(template_path.read_text())["Resources"]
    for function in existing_functions():
        resource = resources[function_logical_id(resources, function)]
        assert resource["Metadata"]["aws:asset:property"] == "Code", function
        code = cdk_out / resource["Metadata"]["aws:asset:path"]
        module, _ = resource["Properties"]["Handler"].rsplit(".", 1)
        assert (code / (module.replace(".", "/") + ".py")).is_file(), function
        for layer in resource["Properties"].get("Layers", []):
            layer_resource = resources[layer["Ref"]]
            assert layer_resource["Metadata"]["aws:asset:property"] == "Content", function
            assert (cdk_out / layer_resource["Metadata"]["aws:asset:path"]).exists(), function
    # And SAM itself, run as `make sam-invoke` runs it, reads them all: it names no function whose
    # code it cannot find. Here (no Docker engine) it then stops at its container-runtime check.
    env = {**os.environ, "LOCAL_STATE_DIR": str(local_stack.state_dir), "SAM_CLI_TELEMETRY": "0"}
    event = next((REPO_ROOT / "events" / "ingest_api").glob("*.json"))
    run = subprocess.run(
        [sys.executable, "-m", "infra_cdk.local.sam_invoke", "ingest_api", str(event)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    said = run.stdout + run.stderr
    assert "does not support invoking it locally" not in said, said
    if "requires a container runtime" not in said:  # a machine with Docker runs the function
        assert run.returncode == 0, said


def test_every_personal_data_read_leaves_exactly_one_entry_per_person_read(local_stack: RunningStack) -> None:
    demo = local_stack.info["demo"]
    tenant = demo["tenant_id"]

    def log_size() -> int:
        with psycopg.connect(local_stack.info["database_url"]) as conn:
            return int(
                conn.execute("SELECT count(*) FROM audit_log WHERE tenant_id = %s", (tenant,)).fetchone()[0]
            )

    employees = demo["users"]["employees"]
    team_a = [e for e in employees if e["team"] == "a"]
    period = "from=2026-11-01&to=2026-11-30"
    reads = [
        # (who, path, how many people's data the answer holds)
        (employees[5]["email"], "/v1/me/consent", 1),
        (demo["users"]["manager_a"], f"/v1/employees/{team_a[1]['employee_id']}", 1),
        (demo["users"]["manager_a"], "/v1/employees", len(team_a)),
        (demo["users"]["admin"], "/v1/employees", len(employees)),
        (demo["users"]["dpo"], f"/v1/employees/{team_a[0]['employee_id']}/consent", 1),
        (employees[5]["email"], f"/v1/analytics/employees/{employees[5]['employee_id']}/daily?{period}", 1),
        (demo["users"]["manager_a"], f"/v1/analytics/teams/{demo['teams']['a']}/daily?{period}", len(team_a)),
        (
            demo["users"]["admin"],
            f"/v1/analytics/top-apps?{period}",
            1,
        ),  # the tenant's aggregate: no one person
    ]
    for who, path, people in reads:
        token = token_of(local_stack, who)
        before = log_size()
        status, _ = admin(local_stack, "GET", path, token)
        assert status == 200, path
        assert log_size() - before == people, path


def test_stack_json_names_the_reports_bucket_and_the_template_state_machines(
    local_stack: RunningStack,
) -> None:
    info = local_stack.info
    s3 = local_stack.aws("s3")
    # The reports bucket of API.md's contract exists, encrypted with the template's KMS key
    encryption = s3.get_bucket_encryption(Bucket=info["reports_bucket"])["ServerSideEncryptionConfiguration"]
    (rule,) = encryption["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].startswith("arn:aws:kms:")
    # Every state machine of the template is in moto, named in stack.json (none yet: the purge
    # and report workflows are later issues; tests/infrastructure/test_local_workflows.py runs one)
    held = {
        m["stateMachineArn"] for m in local_stack.aws("stepfunctions").list_state_machines()["stateMachines"]
    }
    assert set(info["state_machines"].values()) <= held


def test_a_state_machine_task_runs_the_real_handler_inside_the_local_stack(local_stack: RunningStack) -> None:
    # Until the purge and report workflows exist, a one-task machine made here over the AWS API
    # shows the stack's wiring: moto executes it, and its Lambda task runs the stack's own
    # analytics_rollup handler in the stack's process (with the stack's database).
    role = _role(local_stack, "e2e-task-role")
    function = local_stack.aws("lambda").create_function(
        FunctionName="e2e-rollup", Runtime="python3.12", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": EMPTY_CODE_ZIP},
        Environment={"Variables": {"POWERTOOLS_SERVICE_NAME": "analytics_rollup"}},
    )["FunctionArn"]  # fmt: skip
    definition = {
        "StartAt": "Rollup",
        "States": {"Rollup": {"Type": "Task", "Resource": function, "ResultPath": "$.rollup", "End": True}},
    }
    sfn = local_stack.aws("stepfunctions")
    machine = sfn.create_state_machine(name="e2e-rollup", definition=json.dumps(definition), roleArn=role)
    event = json.loads(next((REPO_ROOT / "events" / "analytics_rollup").glob("*.json")).read_text())
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(event))
    described = ended(sfn, execution["executionArn"])
    assert described["status"] == "SUCCEEDED", described
    rollup = json.loads(described["output"])["rollup"]
    assert {"employee_days", "recategorized_tenants"} <= set(rollup), rollup
    # A second execution without a name is a new execution, as in AWS
    again = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(event))
    assert again["executionArn"] != execution["executionArn"]


def test_a_withdrawal_reaches_a_state_machine_through_an_event_rule_on_the_bus(
    local_stack: RunningStack,
) -> None:
    # Until the purge workflow exists, a rule made here on the stack's bus shows the path it will
    # take: consent_api publishes ConsentWithdrawn, the local EventBridge starts the target
    # state machine with the event's detail, as EventBridge does.
    from infra_cdk.constants import CONSENT_SOURCE, CONSENT_WITHDRAWN

    info = local_stack.info
    role = _role(local_stack, "e2e-purge-role")
    sfn = local_stack.aws("stepfunctions")
    definition = {"StartAt": "Received", "States": {"Received": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(name="e2e-purge", definition=json.dumps(definition), roleArn=role)[
        "stateMachineArn"
    ]
    bus = info["resources"]["EVENT_BUS_NAME"]
    events = local_stack.aws("events")
    pattern = {"source": [CONSENT_SOURCE], "detail-type": [CONSENT_WITHDRAWN]}
    events.put_rule(Name="e2e-withdrawn", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule="e2e-withdrawn",
        EventBusName=bus,
        Targets=[{"Id": "purge", "Arn": machine, "InputPath": "$.detail"}],
    )
    # When an employee who consented withdraws through the consent API
    employee = info["demo"]["users"]["employees"][3]
    grant_consent(local_stack, employee, {"apps"})
    status, body = admin(local_stack, "DELETE", "/v1/me/consent", token_of(local_stack, employee["email"]))
    assert status == 202, body
    # Then one execution started, its input the withdrawal's detail
    (execution,) = sfn.list_executions(stateMachineArn=machine)["executions"]
    described = ended(sfn, execution["executionArn"])
    detail = json.loads(described["input"])
    assert detail["employee_id"] == employee["employee_id"]
    assert detail["purge_id"] == body["purge_id"]
    assert described["status"] == "SUCCEEDED"


def _role(stack: RunningStack, name: str) -> str:
    document = json.dumps({"Version": "2012-10-17", "Statement": []})
    return str(stack.aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"])
