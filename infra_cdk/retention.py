"""CloudWatch Logs retention from a number of days (cdk.json says days; CDK wants its enum)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from infra_cdk.constants import LOG_RETENTION_DAYS

if TYPE_CHECKING:
    from constructs import Construct


def log_retention(days: int) -> logs.RetentionDays:
    return logs.RetentionDays[LOG_RETENTION_DAYS[days]]


def pascal(name: str) -> str:
    """``ingest_stream`` -> ``IngestStream``: the construct id of a function or state machine."""
    return "".join(part.capitalize() for part in name.split("_"))


def retained_log_group(scope: Construct, construct_id: str, days: int) -> logs.LogGroup:
    """The log group of a function or state machine, kept ``days`` days, removed with the stack."""
    return logs.LogGroup(
        scope, f"{construct_id}Logs", retention=log_retention(days), removal_policy=RemovalPolicy.DESTROY
    )
