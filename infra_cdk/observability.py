"""Observability: the alarms of ARCHITECTURE.md to one SNS topic, and a dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra_cdk.constants import (
    ANALYTICS_ROLLUP_LAG_ALARM_S,
    ANALYTICS_ROLLUP_SERVICE,
    FUNCTIONS,
    METRIC_ANALYTICS_ROLLUP_LAG,
    METRIC_AUTHORIZATION_FAILURES,
    METRIC_OLDEST_OPEN_PURGE_AGE,
    METRICS_NAMESPACE,
    PURGE_AGE_SERVICE,
)

if TYPE_CHECKING:
    from aws_cdk import aws_apigateway as apigw

    from infra_cdk.config import EnvironmentConfig
    from infra_cdk.data import Keys
    from infra_cdk.functions import Functions
    from infra_cdk.stream import Stream
    from infra_cdk.workflows import Workflows

FIVE_MINUTES = Duration.minutes(5)
API_P95_LATENCY_MS = 500
API_5XX_RATE = 0.01
ITERATOR_AGE_MS = 60_000
AUTHORIZATION_FAILURES_PER_5MIN = 50


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        keys: Keys,
        functions: Functions,
        stream: Stream,
        workflows: Workflows,
        apis: dict[str, apigw.RestApi],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.topic = self._add_topic(keys)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._widgets: list[cloudwatch.IWidget] = []
        for name, api in apis.items():
            self._add_api_alarms(name, api)
        for name, function in functions.functions.items():
            self._add_function_alarms(name, function)
        if "ingest_stream" in functions.functions:
            self._add_iterator_age_alarm(functions.functions["ingest_stream"])
        self._add_dlq_alarm(stream)
        for name, machine in workflows.state_machines.items():
            self._alarm(
                f"{name}-failed-executions",
                machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"),
                threshold=0,
                description=f"{name} executions failed",
            )
        self._add_application_alarms([name for name in functions.functions if FUNCTIONS[name].api])
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", widgets=[self._widgets])

    def _add_topic(self, keys: Keys) -> sns.Topic:
        topic = sns.Topic(self, "AlarmTopic", master_key=keys.alarms, enforce_ssl=True)
        topic.add_subscription(subscriptions.EmailSubscription(self._config.alarm_email))
        return topic

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        return alarm

    def _service_maximum_alarm(
        self, name: str, metric_name: str, service: str, *, threshold: float, description: str, title: str
    ) -> None:
        """An alarm, and a dashboard graph, on the 5-minute maximum of a metric one service emits."""
        metric = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"service": service},
            period=FIVE_MINUTES,
            statistic="Maximum",
        )
        self._alarm(name, metric, threshold=threshold, description=description)
        self._widgets.append(cloudwatch.GraphWidget(title=title, left=[metric], width=6))

    def _add_api_alarms(self, name: str, api: apigw.RestApi) -> None:
        latency = api.metric_latency(period=FIVE_MINUTES, statistic="p95")
        server_errors = api.metric_server_error(period=FIVE_MINUTES, statistic="Average")
        self._alarm(
            f"{name}-api-p95-latency",
            latency,
            threshold=API_P95_LATENCY_MS,
            evaluation_periods=3,
            description=f"{name} API p95 latency above {API_P95_LATENCY_MS} ms",
        )
        self._alarm(
            f"{name}-api-5xx-rate",
            server_errors,
            threshold=API_5XX_RATE,
            evaluation_periods=2,
            description=f"{name} API 5xx rate above {API_5XX_RATE:.0%}",
        )
        self._widgets.append(
            cloudwatch.GraphWidget(title=f"{name} API", left=[latency], right=[server_errors], width=12)
        )

    def _add_function_alarms(self, name: str, function: cloudwatch.IMetric | object) -> None:
        errors = function.metric_errors(period=FIVE_MINUTES, statistic="Sum")  # type: ignore[attr-defined]
        throttles = function.metric_throttles(period=FIVE_MINUTES, statistic="Sum")  # type: ignore[attr-defined]
        self._alarm(f"{name}-errors", errors, threshold=0, description=f"{name} raised errors")
        self._alarm(f"{name}-throttles", throttles, threshold=0, description=f"{name} was throttled")
        self._widgets.append(cloudwatch.GraphWidget(title=name, left=[errors, throttles], width=6))

    def _add_iterator_age_alarm(self, function: object) -> None:
        iterator_age = cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name="IteratorAge",
            dimensions_map={"FunctionName": function.function_name},  # type: ignore[attr-defined]
            period=FIVE_MINUTES,
            statistic="Maximum",
        )
        self._alarm(
            "ingest-stream-iterator-age",
            iterator_age,
            threshold=ITERATOR_AGE_MS,
            evaluation_periods=3,
            description="the stream consumer is falling behind",
        )
        self._widgets.append(
            cloudwatch.GraphWidget(title="Kinesis iterator age", left=[iterator_age], width=6)
        )

    def _add_dlq_alarm(self, stream: Stream) -> None:
        depth = stream.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=FIVE_MINUTES, statistic="Maximum"
        )
        self._alarm("consumer-dlq-depth", depth, threshold=0, description="records failed permanently")
        self._widgets.append(cloudwatch.GraphWidget(title="Consumer DLQ depth", left=[depth], width=6))

    def _add_application_alarms(self, api_functions: list[str]) -> None:
        """Metrics the functions emit with Powertools (namespace WorkforceMonitoring, dimension service)."""
        if api_functions:
            per_service = {
                f"m{i}": cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name=METRIC_AUTHORIZATION_FAILURES,
                    dimensions_map={"service": name},
                    period=FIVE_MINUTES,
                    statistic="Sum",
                )
                for i, name in enumerate(api_functions)
            }
            authorization_failures = cloudwatch.MathExpression(
                expression=" + ".join(per_service),
                using_metrics=per_service,
                label="authorisation failures (all APIs)",
                period=FIVE_MINUTES,
            )
            self._alarm(
                "authorization-failure-spike",
                authorization_failures,
                threshold=AUTHORIZATION_FAILURES_PER_5MIN,
                description="many authorisation failures (denials are audited; look for probing)",
            )
            self._widgets.append(
                cloudwatch.GraphWidget(title="Authorisation failures", left=[authorization_failures], width=6)
            )
        self._service_maximum_alarm(
            "purge-sla-breach",
            METRIC_OLDEST_OPEN_PURGE_AGE,
            PURGE_AGE_SERVICE,
            threshold=self._config.purge_sla_hours * 3600,
            description=f"a purge is open longer than its {self._config.purge_sla_hours} h SLA",
            title="Oldest open purge",
        )
        self._service_maximum_alarm(
            "analytics-rollup-lag",
            METRIC_ANALYTICS_ROLLUP_LAG,
            ANALYTICS_ROLLUP_SERVICE,
            threshold=ANALYTICS_ROLLUP_LAG_ALARM_S,
            description=f"analytics answers are more than {ANALYTICS_ROLLUP_LAG_ALARM_S // 60} min behind stored events",
            title="Analytics rollup lag",
        )
