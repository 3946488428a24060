"""Schedules: EventBridge Scheduler invokes the scheduled functions that exist (audit
checkpoints now; compliance reports and retention when their functions land)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from infra_cdk.constants import FUNCTIONS

if TYPE_CHECKING:
    from infra_cdk.functions import Functions


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        self.schedules: dict[str, scheduler.Schedule] = {}
        scheduled = [name for name in functions.aliases if FUNCTIONS[name].schedule]
        if scheduled:
            self._group = scheduler.ScheduleGroup(self, "Group")
        for name in scheduled:
            self._add_schedule(name, functions)

    def _add_schedule(self, name: str, functions: Functions) -> None:
        expression = FUNCTIONS[name].schedule
        assert expression is not None
        self.schedules[name] = scheduler.Schedule(
            self,
            "".join(part.capitalize() for part in name.split("_")),
            schedule=scheduler.ScheduleExpression.expression(expression),
            schedule_group=self._group,
            target=targets.LambdaInvoke(
                functions.aliases[name], retry_attempts=2, max_event_age=Duration.hours(1)
            ),
            description=f"invokes {name}",
        )
