"""Deployment: CodeDeploy canary deployments of each function's ``live`` alias, rolled back
when the new version's alarm fires (environments with ``canary: true``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from constructs import Construct

from infra_cdk.nag import acknowledge

if TYPE_CHECKING:
    from infra_cdk.config import EnvironmentConfig
    from infra_cdk.functions import Functions

# Run once per deploy by a trigger on the version itself: there is no traffic to shift.
NOT_CANARIED = frozenset({"db_migrate"})


class Deployment(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, functions: Functions
    ) -> None:
        super().__init__(scope, construct_id)
        self.groups: dict[str, codedeploy.LambdaDeploymentGroup] = {}
        names = [name for name in functions.aliases if name not in NOT_CANARIED]
        if not config.canary or not names:
            return
        self._application = codedeploy.LambdaApplication(self, "Application")
        for name in names:
            self._add_group(name, functions)

    def _add_group(self, name: str, functions: Functions) -> None:
        alias = functions.aliases[name]
        construct_id = "".join(part.capitalize() for part in name.split("_"))
        alias_errors = cloudwatch.Alarm(
            self,
            f"{construct_id}CanaryErrors",
            metric=alias.metric_errors(period=Duration.minutes(1), statistic="Sum"),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"errors of {name}'s live alias during a deployment",
        )
        group = codedeploy.LambdaDeploymentGroup(
            self,
            construct_id,
            application=self._application,
            alias=alias,
            deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            alarms=[alias_errors],
            auto_rollback=codedeploy.AutoRollbackConfig(
                deployment_in_alarm=True, failed_deployment=True, stopped_deployment=True
            ),
        )
        acknowledge(
            group.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSCodeDeployRoleForLambdaLimited]",
            "The AWS managed CodeDeploy role for Lambda is limited to shifting alias weights "
            "and reading alarms; it is the documented role for Lambda deployment groups.",
        )
        self.groups[name] = group
