"""CloudWatch Logs retention from a number of days (cdk.json says days; CDK wants its enum)."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from infra_cdk.constants import LOG_RETENTION_DAYS


def log_retention(days: int) -> logs.RetentionDays:
    return logs.RetentionDays[LOG_RETENTION_DAYS[days]]
