"""What both REST APIs share: stage settings, access logs, the account's CloudWatch role,
error responses in the API's error shape, the WAF web ACL and the custom domain."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_wafv2 as wafv2

from infra_cdk.constants import NO_ROUTE_MESSAGE
from infra_cdk.nag import acknowledge
from infra_cdk.retention import log_retention

if TYPE_CHECKING:
    from constructs import Construct

    from infra_cdk.config import ApiConfig, DomainConfig, EnvironmentConfig

ONE_MIB = 1024 * 1024

# (response type, status code, error code, message: None for API Gateway's own)
GATEWAY_RESPONSES = (
    # An unknown route or method: API Gateway's default is 403 "Missing Authentication Token"
    # (these APIs use no IAM auth, so it means only that); it is a 404, as locally (API.md).
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "not_found", NO_ROUTE_MESSAGE),
    (apigw.ResponseType.RESOURCE_NOT_FOUND, "404", "not_found", NO_ROUTE_MESSAGE),
    (apigw.ResponseType.DEFAULT_4_XX, None, "bad_request", None),
    (apigw.ResponseType.DEFAULT_5_XX, None, "internal_error", None),
    (apigw.ResponseType.UNAUTHORIZED, "401", "unauthenticated", None),
    (apigw.ResponseType.ACCESS_DENIED, "403", "forbidden", None),
    (apigw.ResponseType.WAF_FILTERED, "403", "forbidden", None),
    (apigw.ResponseType.BAD_REQUEST_BODY, "422", "validation_error", None),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large", None),
    (apigw.ResponseType.THROTTLED, "429", "rate_limited", None),
    (apigw.ResponseType.QUOTA_EXCEEDED, "429", "rate_limited", None),
)


def _error_template(code: str, message: str | None) -> str:
    """API.md's error body as a gateway response template (``$context.error.messageString`` is
    already a quoted JSON string when API Gateway fills it)."""
    text = json.dumps(message) if message is not None else "$context.error.messageString"
    return (
        f'{{"error": {{"code": {json.dumps(code)}, "message": {text}, "request_id": "$context.requestId"}}}}'
    )


_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
}
AGENT_ACCESS_LOG_FIELDS = {
    **_ACCESS_LOG_FIELDS,
    "clientCertSerial": "$context.identity.clientCert.serialNumber",
    "clientCertIssuer": "$context.identity.clientCert.issuerDN",
}
ADMIN_ACCESS_LOG_FIELDS = {**_ACCESS_LOG_FIELDS, "user": "$context.authorizer.claims.sub"}


def api_gateway_account(scope: Construct) -> apigw.CfnAccount:
    """The region's API Gateway account settings (the role execution logging needs); one per stack."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("ApiGatewayAccount")
    if isinstance(existing, apigw.CfnAccount):
        return existing
    role = iam.Role(
        stack,
        "ApiGatewayCloudWatchRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            )
        ],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The AWS managed policy is the documented role API Gateway needs to write execution logs.",
    )
    account = apigw.CfnAccount(stack, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    return account


def stage_options(
    scope: Construct, *, config: EnvironmentConfig, api_config: ApiConfig, access_log_fields: dict[str, str]
) -> apigw.StageOptions:
    log_group = logs.LogGroup(
        scope,
        "AccessLogs",
        retention=log_retention(config.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    return apigw.StageOptions(
        stage_name="live",
        throttling_rate_limit=api_config.rate_limit,
        throttling_burst_limit=api_config.burst_limit,
        access_log_destination=apigw.LogGroupLogDestination(log_group),
        access_log_format=apigw.AccessLogFormat.custom(json.dumps(access_log_fields)),
        tracing_enabled=True,
        logging_level=apigw.MethodLoggingLevel.ERROR,
        data_trace_enabled=False,
        metrics_enabled=True,
    )


def add_error_responses(api: apigw.RestApi) -> None:
    """API Gateway's own errors in the shape of every other error of this API (API.md)."""
    for response_type, status_code, code, message in GATEWAY_RESPONSES:
        api.add_gateway_response(
            f"{response_type.response_type}Response",
            type=response_type,
            status_code=status_code,
            templates={"application/json": _error_template(code, message)},
        )


def rest_api(
    scope: Construct,
    *,
    description: str,
    config: EnvironmentConfig,
    api_config: ApiConfig,
    access_log_fields: dict[str, str],
    disable_execute_api_endpoint: bool,
) -> apigw.RestApi:
    api = apigw.RestApi(
        scope,
        "Api",
        description=description,
        endpoint_types=[apigw.EndpointType.REGIONAL],
        disable_execute_api_endpoint=disable_execute_api_endpoint,
        cloud_watch_role=False,
        deploy_options=stage_options(
            scope, config=config, api_config=api_config, access_log_fields=access_log_fields
        ),
    )
    api.deployment_stage.node.add_dependency(api_gateway_account(scope))
    add_error_responses(api)
    return api


def custom_domain(
    scope: Construct,
    *,
    domain: DomainConfig,
    host: str,
    api: apigw.RestApi,
    security_policy: apigw.SecurityPolicy,
    mtls: apigw.MTLSConfig | None = None,
    endpoint_access_mode: apigw.EndpointAccessMode | None = None,
) -> apigw.DomainName:
    """A regional custom domain with a DNS-validated certificate and its alias record."""
    zone = route53.HostedZone.from_hosted_zone_attributes(
        scope, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name
    )
    certificate = acm.Certificate(
        scope, "Certificate", domain_name=host, validation=acm.CertificateValidation.from_dns(zone)
    )
    domain_name = apigw.DomainName(
        scope,
        "Domain",
        domain_name=host,
        certificate=certificate,
        endpoint_type=apigw.EndpointType.REGIONAL,
        security_policy=security_policy,
        endpoint_access_mode=endpoint_access_mode,
        mtls=mtls,
    )
    domain_name.add_base_path_mapping(api, stage=api.deployment_stage)
    route53.ARecord(
        scope,
        "AliasRecord",
        zone=zone,
        record_name=host,
        target=route53.RecordTarget.from_alias(route53_targets.ApiGatewayDomain(domain_name)),
    )
    return domain_name


def _managed_rule(
    name: str, priority: int, *, count_rules: tuple[str, ...] = ()
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in count_rules
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


# What a WAF block answers where API.md names the error: a batch over 1 MiB is 413 (the agent
# splits it) and a client over its rate is 429 (it backs off), not WAF's 403, which an agent
# reads as "stop collecting". WAF bodies are static, so the request id names the WAF.
WAF_ANSWERS = {
    "payload_too_large": "The request body is larger than 1 MiB; send fewer events per request.",
    "rate_limited": "Too many requests from this address; retry later.",
}


def waf_error_body(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": WAF_ANSWERS[code], "request_id": "waf"}}


def _block_with(status: int, code: str) -> wafv2.CfnWebACL.RuleActionProperty:
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=status, custom_response_body_key=code
            )
        )
    )


def web_acl(
    scope: Construct,
    *,
    api: apigw.RestApi,
    rate_limit_per_5min: int,
    max_body_bytes: int | None,
) -> wafv2.CfnWebACL:
    """Managed rule groups, a per-IP rate limit and, for the agent API, its 1 MiB body limit.

    WAF inspects at most the first 64 KiB of a body, so the common rule set's 8 KiB
    ``SizeRestrictions_BODY`` would block ordinary agent batches: there it only counts, and
    the declared ``Content-Length`` is checked against the API's own limit instead.
    """
    rules = [
        _managed_rule(
            "AWSManagedRulesCommonRuleSet",
            10,
            count_rules=("SizeRestrictions_BODY",) if max_body_bytes else (),
        ),
        _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 20),
        _managed_rule("AWSManagedRulesAmazonIpReputationList", 30),
        wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp",
            priority=1,
            action=_block_with(429, "rate_limited"),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP", limit=rate_limit_per_5min, evaluation_window_sec=300
                )
            ),
            visibility_config=_visibility("RateLimitPerIp"),
        ),
    ]
    if max_body_bytes:
        rules.append(_content_length_rule(max_body_bytes))
    acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(f"{Stack.of(scope).stack_name}-{scope.node.id}"),
        rules=rules,
        custom_response_bodies={
            code: wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON", content=json.dumps(waf_error_body(code))
            )
            for code in WAF_ANSWERS
        },
    )
    wafv2.CfnWebACLAssociation(
        scope, "WebAclAssociation", resource_arn=api.deployment_stage.stage_arn, web_acl_arn=acl.attr_arn
    )
    return acl


def _content_length_rule(max_body_bytes: int) -> wafv2.CfnWebACL.RuleProperty:
    """Blocks requests that declare a body larger than ``max_body_bytes`` (only 1 MiB supported)."""
    assert max_body_bytes == ONE_MIB, "the pattern below encodes 1,048,576"
    more_than_one_mib = r"^0*([1-9]\d{7,}|[2-9]\d{6}|1[1-9]\d{5}|10[5-9]\d{4}|104[9]\d{3}|1048[6-9]\d{2}|10485[89]\d|104857[7-9])$"
    return wafv2.CfnWebACL.RuleProperty(
        name="BodyLargerThanOneMiB",
        priority=5,
        action=_block_with(413, "payload_too_large"),
        statement=wafv2.CfnWebACL.StatementProperty(
            regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": "content-length"}),
                regex_string=more_than_one_mib,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        ),
        visibility_config=_visibility("BodyLargerThanOneMiB"),
    )
