"""Constructs that later issues build on, checked on small stacks (fast, no full synth)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from infra_cdk.config import load_environment
from infra_cdk.constants import REPO_ROOT, existing_functions
from infra_cdk.workflows import Workflows
from tests.infrastructure.conftest import function_named, resources

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.infrastructure


def test_state_machines_log_everything_and_are_traced() -> None:
    # Given the workflows construct and a state machine a later issue adds
    stack = Stack(App(), "Test")
    config = load_environment(json.loads((REPO_ROOT / "cdk.json").read_text())["context"], "dev")
    workflows = Workflows(stack, "Workflows", config=config)
    workflows.add_state_machine(
        "purge", sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Start")), timeout=Duration.hours(1)
    )
    # Then it logs ALL with execution data and is traced with X-Ray
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": Match.any_value(),
            },
            "TracingConfiguration": {"Enabled": True},
            "Tags": [{"Key": "workflow", "Value": "purge"}],
        },
    )
    assert list(workflows.state_machines) == ["purge"]


def test_only_packages_with_a_handler_are_functions(tmp_path: Path) -> None:
    # Given a functions/ tree with a handler package and a helper package
    (tmp_path / "ingest_api").mkdir()
    (tmp_path / "ingest_api" / "handler.py").write_text("")
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    # Then only the handler package is a function
    assert existing_functions(tmp_path) == ["ingest_api"]
    assert existing_functions(tmp_path / "missing") == []


def test_provisioned_concurrency_comes_from_config(templates: dict[str, dict[str, Any]]) -> None:
    # Given prod's config (provisioned concurrency for ingest_api)
    prod = templates["prod"]
    function_id, _ = function_named(prod, "ingest_api")
    aliases = [
        a["Properties"]
        for a in resources(prod, "AWS::Lambda::Alias").values()
        if a["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    # Then its live alias keeps that many instances warm
    assert aliases[0]["Name"] == "live"
    assert aliases[0]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
