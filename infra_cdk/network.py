"""Network: a VPC with isolated private subnets only; VPC endpoints instead of a NAT gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra_cdk.nag import acknowledge
from infra_cdk.retention import log_retention

if TYPE_CHECKING:
    from infra_cdk.config import EnvironmentConfig

# The AWS services that functions inside the VPC call. Lambda's own log delivery, Kinesis
# polling and X-Ray segment upload by the Lambda service itself need no endpoint.
INTERFACE_ENDPOINTS = {
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Events": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "StepFunctions": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    # The admin functions fetch the user pool's JWKS (the pool has no domain, as PrivateLink needs).
    "CognitoIdp": ec2.InterfaceVpcEndpointAwsService.COGNITO_IDP,
}
GATEWAY_ENDPOINTS = {
    "S3": ec2.GatewayVpcEndpointAwsService.S3,
    "DynamoDb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
}


class Network(Construct):
    """The VPC; ``private_subnets`` is where functions, the proxy and the cluster live."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.vpc = self._add_vpc()
        self._add_flow_log()
        self.interface_endpoints = self._add_endpoints()
        self.private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

    def _add_vpc(self) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(self._config.vpc_cidr),
            availability_zones=self._config.availability_zones,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
                )
            ],
        )
        acknowledge(
            vpc,
            "CloudFormation-Validate::W3010",
            "The zones are named in cdk.json on purpose: synth must not look them up in the account.",
        )
        return vpc

    def _add_flow_log(self) -> None:
        log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=log_retention(self._config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

    def _add_endpoints(self) -> list[ec2.InterfaceVpcEndpoint]:
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        for name, gateway_service in GATEWAY_ENDPOINTS.items():
            self.vpc.add_gateway_endpoint(f"{name}Endpoint", service=gateway_service, subnets=[subnets])
        # Closed by default: each function in the VPC is let in by allow_endpoints_from().
        return [
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=interface_service,
                subnets=subnets,
                private_dns_enabled=True,
                open=False,
            )
            for name, interface_service in INTERFACE_ENDPOINTS.items()
        ]

    def allow_endpoints_from(self, other: ec2.IConnectable, description: str) -> None:
        """Let ``other`` reach the interface endpoints (HTTPS)."""
        for endpoint in self.interface_endpoints:
            endpoint.connections.allow_default_port_from(other, description)
