"""Workflows: how the purge and report state machines (their own issues) are made: logging
ALL with execution data to a log group, X-Ray tracing, a failed-executions alarm, and a
``workflow`` tag with the name (the local stack finds them by it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration, Tags
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra_cdk.constants import WORKFLOW_TAG
from infra_cdk.retention import pascal, retained_log_group

if TYPE_CHECKING:
    from infra_cdk.config import EnvironmentConfig


class Workflows(Construct):
    """``state_machines`` by name; observability alarms on each one's failed executions."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.state_machines: dict[str, sfn.StateMachine] = {}

    def add_state_machine(
        self, name: str, definition_body: sfn.DefinitionBody, *, timeout: Duration
    ) -> sfn.StateMachine:
        construct_id = pascal(name)
        log_group = retained_log_group(self, construct_id, self._config.log_retention_days)
        machine = sfn.StateMachine(
            self,
            construct_id,
            definition_body=definition_body,
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        Tags.of(machine).add(WORKFLOW_TAG, name)
        self.state_machines[name] = machine
        return machine
