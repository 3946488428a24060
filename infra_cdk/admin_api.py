"""Admin API: Cognito user-pool authorizer on every method, routes served by the admin
functions that exist (each by Lambda proxy integration on its ``live`` alias)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from infra_cdk.api_common import ADMIN_ACCESS_LOG_FIELDS, custom_domain, rest_api, web_acl
from infra_cdk.constants import FUNCTIONS

if TYPE_CHECKING:
    from infra_cdk.auth import Auth
    from infra_cdk.config import EnvironmentConfig
    from infra_cdk.functions import Functions


def admin_functions(functions: Functions) -> list[str]:
    return [name for name in functions.aliases if FUNCTIONS[name].api == "admin"]


class AdminApi(Construct):
    """Created only when at least one admin function exists (an API needs a method to deploy)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        functions: Functions,
        auth: Auth,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._functions = functions
        self.api = rest_api(
            self,
            description="Workforce monitoring admin API (Cognito)",
            config=config,
            api_config=config.admin_api,
            access_log_fields=ADMIN_ACCESS_LOG_FIELDS,
            disable_execute_api_endpoint=True,
        )
        self._validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        self._authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[auth.user_pool]
        )
        self._add_routes()
        self.domain = custom_domain(
            self,
            domain=config.domain,
            host=config.domain.admin_api,
            api=self.api,
            security_policy=apigw.SecurityPolicy.TLS13_1_2_PFS_PQ_2025_09,
            endpoint_access_mode=apigw.EndpointAccessMode.STRICT,
        )
        self.web_acl = web_acl(
            self,
            api=self.api,
            rate_limit_per_5min=config.admin_api.waf_rate_limit_per_5min,
            max_body_bytes=None,
        )

    def _add_routes(self) -> None:
        for name in admin_functions(self._functions):
            integration = apigw.LambdaIntegration(self._functions.aliases[name], allow_test_invoke=False)
            for route in FUNCTIONS[name].routes:
                resource = self.api.root.resource_for_path(route.path)
                for method in route.methods:
                    resource.add_method(
                        method,
                        integration,
                        authorization_type=apigw.AuthorizationType.COGNITO,
                        authorizer=self._authorizer,
                        request_validator=self._validator,
                    )
