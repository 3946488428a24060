"""Agent API: mutual TLS on a regional custom domain; the default execute-api endpoint is
disabled, so every request carries a client certificate the truststore verified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from infra_cdk.api_common import AGENT_ACCESS_LOG_FIELDS, ONE_MIB, custom_domain, rest_api, web_acl
from infra_cdk.constants import FUNCTIONS, TRUSTSTORE_KEY
from infra_cdk.nag import acknowledge

if TYPE_CHECKING:
    from infra_cdk.config import EnvironmentConfig
    from infra_cdk.data import Data
    from infra_cdk.functions import Functions

FUNCTION = "ingest_api"


class AgentApi(Construct):
    """Created only when ``functions/ingest_api`` exists (API Gateway cannot deploy an API without methods)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        functions: Functions,
        data: Data,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._functions = functions
        self._data = data
        self.api = self._add_api()
        self._add_routes()
        self.domain = self._add_domain()
        self.web_acl = web_acl(
            self,
            api=self.api,
            rate_limit_per_5min=config.agent_api.waf_rate_limit_per_5min,
            max_body_bytes=ONE_MIB,
        )

    def _add_api(self) -> apigw.RestApi:
        api = rest_api(
            self,
            description="Workforce monitoring agent API (mutual TLS)",
            config=self._config,
            api_config=self._config.agent_api,
            access_log_fields=AGENT_ACCESS_LOG_FIELDS,
            disable_execute_api_endpoint=True,
        )
        # No body model: ingest_api validates the body itself, because API Gateway's model
        # validation would answer malformed JSON as it answers a schema failure (one gateway
        # response type, one status), where API.md has 400 invalid_json and 422 validation_error.
        # (A validator with no model for the content type validates no body, as on the admin API.)
        self._validator = api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        return api

    def _add_routes(self) -> None:
        # No test-invoke permission: the console's test invoke bypasses mTLS and is not used.
        integration = apigw.LambdaIntegration(self._functions.aliases[FUNCTION], allow_test_invoke=False)
        for route in FUNCTIONS[FUNCTION].routes:
            resource = self.api.root.resource_for_path(route.path)
            for method in route.methods:
                created = resource.add_method(
                    method,
                    integration,
                    authorization_type=apigw.AuthorizationType.NONE,
                    request_validator=self._validator,
                )
                for finding in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                    acknowledge(
                        created,
                        finding,
                        "Agents authenticate with client certificates: the custom domain requires "
                        "mutual TLS against the device CA truststore, the execute-api endpoint is "
                        "disabled, and ingest_api maps the verified certificate to its registered, "
                        "unrevoked device.",
                    )

    def _add_domain(self) -> apigw.DomainName:
        domain = custom_domain(
            self,
            domain=self._config.domain,
            host=self._config.domain.agent_api,
            api=self.api,
            # Mutual TLS is not available with the TLS 1.3 ("enhanced") policies.
            security_policy=apigw.SecurityPolicy.TLS_1_2,
            mtls=apigw.MTLSConfig(bucket=self._data.truststore_bucket, key=TRUSTSTORE_KEY),
        )
        domain.node.add_dependency(self._data.truststore_deployment)
        return domain
