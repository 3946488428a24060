"""Network: a VPC with isolated private subnets only; VPC endpoints instead of a NAT gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

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
        self._add_endpoints()
        self.private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

    def _add_vpc(self) -> ec2.Vpc:
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(self._config.vpc_cidr),
            max_azs=self._config.max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20)
            ],
        )

    def _add_flow_log(self) -> None:
        log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays(self._config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

    def _add_endpoints(self) -> None:
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        for name, gateway_service in GATEWAY_ENDPOINTS.items():
            self.vpc.add_gateway_endpoint(f"{name}Endpoint", service=gateway_service, subnets=[subnets])
        for name, interface_service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint", service=interface_service, subnets=subnets, private_dns_enabled=True
            )
