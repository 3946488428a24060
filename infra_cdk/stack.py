"""One environment's stack: the constructs of ARCHITECTURE.md, wired together."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import CfnOutput, Stack, Tags

from infra_cdk.admin_api import AdminApi, admin_functions
from infra_cdk.agent_api import FUNCTION as AGENT_FUNCTION
from infra_cdk.agent_api import AgentApi
from infra_cdk.auth import Auth
from infra_cdk.constants import PROJECT
from infra_cdk.data import Data, Keys
from infra_cdk.deployment import Deployment
from infra_cdk.functions import Functions
from infra_cdk.network import Network
from infra_cdk.observability import Observability
from infra_cdk.schedules import Schedules
from infra_cdk.stream import Stream
from infra_cdk.workflows import Workflows

if TYPE_CHECKING:
    from pathlib import Path

    from aws_cdk import aws_apigateway as apigw
    from constructs import Construct

    from infra_cdk.config import EnvironmentConfig


class MonitoringStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        functions_dir: Path,
        layer_build_dir: Path,
        assets_bucket: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._availability_zones = list(config.availability_zones)
        for key, value in (("project", PROJECT), ("environment", config.name)):
            # DBProxyTargetGroup takes no tags, although CDK treats it as taggable.
            Tags.of(self).add(key, value, exclude_resource_types=["AWS::RDS::DBProxyTargetGroup"])
        self.network = Network(self, "Network", config=config)
        self.keys = Keys(self, "Keys")
        self.data = Data(
            self, "Data", config=config, network=self.network, keys=self.keys, assets_bucket=assets_bucket
        )
        self.stream = Stream(self, "Stream", config=config, keys=self.keys)
        self.auth = Auth(self, "Auth", config=config)
        self.functions = Functions(
            self,
            "Functions",
            config=config,
            network=self.network,
            keys=self.keys,
            data=self.data,
            stream=self.stream,
            auth=self.auth,
            functions_dir=functions_dir,
            layer_build_dir=layer_build_dir,
        )
        apis: dict[str, apigw.RestApi] = {}
        if AGENT_FUNCTION in self.functions.aliases:
            self.agent_api = AgentApi(
                self, "AgentApi", config=config, functions=self.functions, data=self.data
            )
            apis["agent"] = self.agent_api.api
        if admin_functions(self.functions):
            self.admin_api = AdminApi(
                self, "AdminApi", config=config, functions=self.functions, auth=self.auth
            )
            apis["admin"] = self.admin_api.api
        self.workflows = Workflows(self, "Workflows", config=config)
        self.schedules = Schedules(self, "Schedules", functions=self.functions)
        self.observability = Observability(
            self,
            "Observability",
            config=config,
            keys=self.keys,
            functions=self.functions,
            stream=self.stream,
            workflows=self.workflows,
            apis=apis,
        )
        self.deployment = Deployment(self, "Deployment", config=config, functions=self.functions)
        self._add_outputs()

    @property
    def availability_zones(self) -> list[str]:
        """The configured zones: the default would look them up in the account at synth."""
        return self._availability_zones

    def _add_outputs(self) -> None:
        outputs = {
            "UserPoolId": self.auth.user_pool.user_pool_id,
            "UserPoolClientId": self.auth.client.user_pool_client_id,
            "ReportsBucket": self.data.reports_bucket.bucket_name,
            "EventsStream": self.stream.stream.stream_name,
            "EventBus": self.stream.bus.event_bus_name,
            "AlarmTopic": self.observability.topic.topic_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
