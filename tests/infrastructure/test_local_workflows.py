"""The local stack's Step Functions: a state machine built by ``infra_cdk.workflows`` and
synthesized by CDK is created in moto from its template and executed by moto's engine, its Lambda
tasks running handlers in this process (``infra_cdk.local.workflows``).

The purge and report workflows do not exist yet, so the machine here is made for the test; what
is tested is the path their real definitions will take: CDK's JSON (``Fn::Join`` of ARNs,
aliases, ``arn:${Partition}:states:::lambda:invoke``), payloads, Retry and Catch on the error
names Lambda reports, a missing handler.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Template

from infra_cdk.config import load_environment
from infra_cdk.constants import REPO_ROOT
from infra_cdk.local.from_template import TemplateResources
from infra_cdk.local.workflows import InProcessLambda, RuleDelivery, enable_execution
from infra_cdk.workflows import Workflows
from tests.support.local import ended, free_port

pytestmark = pytest.mark.infrastructure

REGION = "eu-west-1"


class Flaky(Exception):
    pass


class Tasks:
    """The test's task functions, by service name, as ``functions/<service>/handler.py`` would be."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.flaked: set[str] = set()
        self.context: tuple[int, int] = (0, 0)  # the last (remaining ms, memory MB) a handler saw

    def handler_for(self, service: str) -> Any:
        if service == "wf_double":
            return self.double
        if service == "wf_check":
            return self.check
        raise ImportError(f"No module named 'functions.{service}'")

    def double(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls.append(("double", event, context.function_name))
        self.context = (context.get_remaining_time_in_millis(), context.memory_limit_in_mb)
        if event.get("flaky") and event["id"] not in self.flaked:
            self.flaked.add(event["id"])
            raise Flaky("first attempt fails")
        return {"value": event["n"] * 2}

    def check(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls.append(("check", event, context.function_name))
        if event["value"] > 10:
            raise ValueError(f"{event['value']} is too big")
        return {"ok": True}


def synthesized_template() -> dict[str, Any]:
    """A two-task workflow made the way the purge and report workflows are made."""
    stack = Stack(App(), "LocalWorkflows")
    config = load_environment(json.loads((REPO_ROOT / "cdk.json").read_text())["context"], "dev")
    workflows = Workflows(stack, "Workflows", config=config)

    def function(name: str) -> lambda_.Function:
        return lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_inline("def lambda_handler(event, context): ..."),
            environment={"POWERTOOLS_SERVICE_NAME": name},
        )

    double = tasks.LambdaInvoke(
        stack,
        "Double",
        lambda_function=function("wf_double").add_alias("live"),  # a task on an alias, as in prod
        payload_response_only=True,
        result_path="$.doubled",
    ).add_retry(errors=["Flaky"], interval=Duration.seconds(1), max_attempts=2, backoff_rate=1)
    check_function = function("wf_check")
    check = tasks.LambdaInvoke(
        stack,
        "Check",
        lambda_function=check_function,  # lambda:invoke with Payload, the CDK default
        payload=sfn.TaskInput.from_object({"value": sfn.JsonPath.number_at("$.doubled.value")}),
        result_selector={"ok": sfn.JsonPath.string_at("$.Payload.ok")},
        result_path="$.check",
    ).add_catch(sfn.Pass(stack, "Refused"), errors=["ValueError"], result_path="$.error")
    missing = tasks.LambdaInvoke(stack, "Missing", lambda_function=function("wf_missing"))
    flow = (
        sfn.Choice(stack, "Which")
        .when(sfn.Condition.is_present("$.missing"), missing)
        .otherwise(double.next(check))
    )
    machine = workflows.add_state_machine(
        "demo_flow", sfn.DefinitionBody.from_chainable(flow), timeout=Duration.minutes(5)
    )
    # Rules on a bus, as consent_api's ConsentWithdrawn will start the purge workflow
    bus = events.EventBus(stack, "Bus")
    events.Rule(
        stack,
        "Withdrawn",
        event_bus=bus,
        event_pattern=events.EventPattern(source=["test.consent"], detail_type=["ConsentWithdrawn"]),
        targets=[targets.SfnStateMachine(machine, input=events.RuleTargetInput.from_event_path("$.detail"))],
    )
    events.Rule(
        stack,
        "Ping",
        event_bus=bus,
        event_pattern=events.EventPattern(detail_type=["Ping"]),
        targets=[
            targets.LambdaFunction(
                check_function,
                event=events.RuleTargetInput.from_object(
                    {
                        "value": events.EventField.from_path("$.detail.value"),
                        "source": events.EventField.source,
                    }
                ),
            )
        ],
    )
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synthesized_template()


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto in server mode, as the local stack runs it (the engine calls Lambda back over HTTP)."""
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    was = dict(default_user_config["stepfunctions"])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "local")
        env.setenv("AWS_SECRET_ACCESS_KEY", "local")
        env.setenv("MOTO_PORT", str(port))
        try:
            yield endpoint
        finally:
            default_user_config["stepfunctions"].update(was)
            from moto.moto_api import _internal

            _internal.moto_api_backend.reset()  # the backends are this process's: leave them empty
            server.stop()


@pytest.fixture(scope="module")
def started(
    moto_server: str, template: dict[str, Any]
) -> Iterator[tuple[Tasks, InProcessLambda, dict[str, str]]]:
    handlers = Tasks()
    lines: list[str] = []
    dispatcher = InProcessLambda(handlers.handler_for, log=lines.append)
    delivery = RuleDelivery(dispatcher, log=lines.append)
    enable_execution(moto_server, int(moto_server.rsplit(":", 1)[1]))
    dispatcher.start()
    delivery.start()
    try:
        from_template = TemplateResources(template, REGION)
        machines = from_template.state_machines()
        assert len(from_template.event_rules()) == 2
        yield handlers, dispatcher, machines
    finally:
        delivery.stop()
        dispatcher.stop()


@pytest.fixture
def running(
    started: tuple[Tasks, InProcessLambda, dict[str, str]],
) -> tuple[Tasks, InProcessLambda, dict[str, str]]:
    """The module's stack, with this test's calls counted from zero."""
    handlers, dispatcher, _machines = started
    handlers.calls.clear()
    dispatcher.invocations.clear()
    return started


def execute(arn: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn_client = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn_client.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    return ended(sfn_client, execution)


def test_the_template_state_machine_runs_its_tasks_in_process(running: Any) -> None:
    handlers, dispatcher, machines = running
    # Given the workflow created from its synthesized template, found by its workflow tag
    assert list(machines) == ["demo_flow"]
    arn = machines["demo_flow"]
    definition = json.loads(
        boto3.client("stepfunctions", region_name=REGION).describe_state_machine(stateMachineArn=arn)[
            "definition"
        ]
    )
    # (its definition is CDK's, every ARN resolved to the functions created in moto)
    assert definition["States"]["Double"]["Resource"].endswith(":live")
    assert definition["States"]["Check"]["Resource"] == "arn:aws:states:::lambda:invoke"
    # When it runs on a small number
    result = execute(arn, {"id": "a", "n": 3})
    # Then both tasks ran here, with the payloads the definition builds, and it succeeded
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"id": "a", "n": 3, "doubled": {"value": 6}, "check": {"ok": True}}
    assert [(name, event) for name, event, _ in handlers.calls] == [
        ("double", {"id": "a", "n": 3}),
        ("check", {"value": 6}),
    ]
    assert all(function.startswith("wm-local-") for _, _, function in handlers.calls)
    remaining_ms, memory_mb = handlers.context  # the template function's: CDK's default 3 s, 128 MB
    assert 0 < remaining_ms <= 3000
    assert memory_mb == 128
    assert dispatcher.invocations == {"wf_double": 1, "wf_check": 1}


def test_retry_and_catch_match_the_error_names_lambda_reports(running: Any) -> None:
    handlers, dispatcher, machines = running
    # When the first attempt raises Flaky (retried) and the check raises ValueError (caught)
    result = execute(machines["demo_flow"], {"id": "b", "n": 7, "flaky": True})
    # Then the retry ran the task again, and the catch routed the error to Refused
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["doubled"] == {"value": 14}
    assert output["error"]["Error"] == "ValueError"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorType"] == "ValueError"
    assert cause["errorMessage"] == "14 is too big"
    assert cause["stackTrace"]
    assert [name for name, _, _ in handlers.calls] == ["double", "double", "check"]
    assert dispatcher.invocations == {"wf_double": 2, "wf_check": 1}


def test_a_function_without_a_handler_fails_the_execution_as_lambda_does(running: Any) -> None:
    _handlers, _dispatcher, machines = running
    # When the branch whose function has no handler package runs
    result = execute(machines["demo_flow"], {"id": "c", "missing": True})
    # Then the execution fails with Lambda's error for a handler it cannot import
    assert result["status"] == "FAILED", result
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=result["executionArn"]
    )["events"]
    failed = next(e for e in history if e["type"] == "ExecutionFailed")["executionFailedEventDetails"]
    assert failed["error"] == "Runtime.ImportModuleError"
    assert "functions.wf_missing" in failed["cause"]


def test_a_direct_invoke_answers_as_lambda_does(running: Any) -> None:
    handlers, _dispatcher, _machines = running
    lambda_client = boto3.client("lambda", region_name=REGION)
    (function,) = [
        f["FunctionName"]
        for f in lambda_client.list_functions()["Functions"]
        if f["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "wf_check"
    ]
    # When the function is invoked through the Lambda API
    ok = lambda_client.invoke(FunctionName=function, Payload=json.dumps({"value": 1}))
    failed = lambda_client.invoke(FunctionName=function, Payload=json.dumps({"value": 11}))
    # Then it answers the handler's result, or Unhandled with the runtime's error payload
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read()) == {"ok": True}
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"
    # And an asynchronous invocation is answered 202 at once and runs the handler after
    handlers.calls.clear()
    queued = lambda_client.invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps({"value": 2})
    )
    assert queued["StatusCode"] == 202
    deadline = time.monotonic() + 10
    while not handlers.calls:
        assert time.monotonic() < deadline, "the asynchronous invocation did not run"
        time.sleep(0.05)
    assert [(name, event) for name, event, _ in handlers.calls] == [("check", {"value": 2})]
    # And a dry run runs nothing
    handlers.calls.clear()
    assert lambda_client.invoke(FunctionName=function, InvocationType="DryRun")["StatusCode"] == 204
    time.sleep(0.2)
    assert handlers.calls == []


def put_event(detail_type: str, detail: dict[str, Any], source: str = "test.consent") -> None:
    bus = next(
        b["Name"] for b in boto3.client("events", region_name=REGION).list_event_buses()["EventBuses"]
        if b["Name"] != "default"
    )  # fmt: skip
    entry = {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
    answer = boto3.client("events", region_name=REGION).put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, answer


def test_an_event_matching_a_rule_starts_the_target_state_machine_with_its_input_path(running: Any) -> None:
    handlers, _dispatcher, machines = running
    sfn_client = boto3.client("stepfunctions", region_name=REGION)
    before = {
        e["executionArn"]
        for e in sfn_client.list_executions(stateMachineArn=machines["demo_flow"])["executions"]
    }
    # When consent is withdrawn (twice: each event is an execution of its own, as in AWS)
    put_event("ConsentWithdrawn", {"id": "e", "n": 2})
    put_event("ConsentWithdrawn", {"id": "f", "n": 4})
    # Then the rule started the workflow with the event's detail as its input
    started = [
        e["executionArn"]
        for e in sfn_client.list_executions(stateMachineArn=machines["demo_flow"])["executions"]
        if e["executionArn"] not in before
    ]
    assert len(started) == 2
    outputs = sorted((json.loads(ended(sfn_client, arn)["output"]) for arn in started), key=lambda o: o["id"])
    assert [o["doubled"] for o in outputs] == [{"value": 4}, {"value": 8}]
    assert [name for name, _, _ in handlers.calls].count("double") == 2


def test_an_event_matching_a_rule_invokes_the_target_function_with_its_transformed_input(
    running: Any,
) -> None:
    handlers, _dispatcher, _machines = running
    # When an event matches the function's rule, and another matches no rule
    put_event("Ping", {"value": 5}, source="test.pinger")
    put_event("Unrelated", {"value": 6})
    # Then the function ran once (asynchronously), with the input the transformer built
    deadline = time.monotonic() + 10
    while not handlers.calls:
        assert time.monotonic() < deadline, "the function was not invoked"
        time.sleep(0.05)
    time.sleep(0.2)
    assert [(name, event) for name, event, _ in handlers.calls] == [
        ("check", {"value": 5, "source": "test.pinger"})
    ]
