"""The local stack's AWS resources, created in moto from the synthesized CDK template itself.

The app is synthesized for ``dev`` with ``local=true``; each function's environment is read from
the template and every ``Ref`` / ``Fn::GetAtt`` in it is resolved by creating that resource from
its template properties (tables with their key schemas and indexes, the stream, the bus, KMS
keys with their key specs, the Cognito pool with its groups and client). So names, keys and
settings cannot drift from what deploys to AWS. Two local differences, both for a machine
without a phone: the pool's MFA is off, and the client also allows ``USER_PASSWORD_AUTH``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SYNTH = (
    "import sys; from infra_cdk.app import build_app; "
    "build_app({'env': 'dev', 'local': 'true'}, outdir=sys.argv[1]).synth()"
)


def synth_local_template(outdir: Path) -> dict[str, Any]:
    """Synthesize the dev stack for local use (in a child process: jsii starts Node.js)."""
    subprocess.run([sys.executable, "-c", SYNTH, str(outdir)], check=True, capture_output=True, text=True)  # noqa: S603
    (path,) = outdir.glob("*.template.json")
    return dict(json.loads(path.read_text()))


@dataclass
class Created:
    ref: str
    arn: str


class TemplateResources:
    def __init__(self, template: dict[str, Any], region: str, prefix: str = "wm-local") -> None:
        self._resources: dict[str, Any] = template["Resources"]
        self._region = region
        self._prefix = prefix
        self._created: dict[str, Created] = {}
        self._makers: dict[str, Callable[[str, dict[str, Any]], Created]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::Kinesis::Stream": self._stream,
            "AWS::Events::EventBus": self._bus,
            "AWS::KMS::Key": self._key,
            "AWS::Cognito::UserPool": self._user_pool,
            "AWS::Cognito::UserPoolClient": self._user_pool_client,
            "AWS::Cognito::UserPoolGroup": self._group,
            "AWS::S3::Bucket": self._bucket,
        }

    def _client(self, name: str) -> Any:
        return boto3.client(name, region_name=self._region)  # type: ignore[call-overload]

    # --- what the functions and people need -------------------------------------------------
    def function_environment(self, function_name: str) -> dict[str, str]:
        """The function's template environment with every reference resolved; ``DB_*`` is left out
        (locally the functions use ``DATABASE_URL``)."""
        for resource in self._resources.values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            if variables.get("POWERTOOLS_SERVICE_NAME") == function_name:
                return {k: self.resolve(v) for k, v in variables.items() if not k.startswith("DB_")}
        raise KeyError(f"no function {function_name} in the template")

    def user_pool(self) -> tuple[str, str]:
        """(pool id, client id): the template's pool, its groups, and its client."""
        pool_id = client_id = ""
        for logical_id, resource in self._resources.items():
            if resource["Type"] == "AWS::Cognito::UserPool":
                pool_id = self.create(logical_id).ref
            elif resource["Type"] == "AWS::Cognito::UserPoolClient":
                client_id = self.create(logical_id).ref
            elif resource["Type"] == "AWS::Cognito::UserPoolGroup":
                self.create(logical_id)
        return pool_id, client_id

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return self.create(value["Ref"]).ref
        if "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
            return self.create(value["Fn::GetAtt"][0]).arn
        raise ValueError(f"cannot resolve {value!r} locally")

    def create(self, logical_id: str) -> Created:
        if logical_id not in self._created:
            resource = self._resources[logical_id]
            maker = self._makers.get(resource["Type"])
            if maker is None:
                raise ValueError(f"{logical_id} ({resource['Type']}) has no local equivalent")
            self._created[logical_id] = maker(logical_id, resource.get("Properties", {}))
        return self._created[logical_id]

    # --- makers ---------------------------------------------------------------------------------
    def _name(self, logical_id: str) -> str:
        return f"{self._prefix}-{logical_id}"

    def _table(self, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs: dict[str, Any] = {
            "TableName": props.get("TableName") or self._name(logical_id),
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        desc = self._client("dynamodb").create_table(**kwargs)["TableDescription"]
        return Created(desc["TableName"], desc["TableArn"])

    def _stream(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = props.get("Name") or self._name(logical_id)
        kinesis = self._client("kinesis")
        kinesis.create_stream(StreamName=name, ShardCount=int(props.get("ShardCount", 2)))
        return Created(
            name, kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        )

    def _bus(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = props.get("Name") or self._name(logical_id)
        arn = self._client("events").create_event_bus(Name=name)["EventBusArn"]
        return Created(name, arn)

    def _key(self, logical_id: str, props: dict[str, Any]) -> Created:
        meta = self._client("kms").create_key(
            Description=props.get("Description", logical_id),
            KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"),
            KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        )["KeyMetadata"]
        return Created(meta["KeyId"], meta["Arn"])

    def _user_pool(self, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = {
            k: props[k]
            for k in (
                "Policies",
                "Schema",
                "AdminCreateUserConfig",
                "UsernameAttributes",
                "AutoVerifiedAttributes",
            )
            if k in props
        }
        pool = self._client("cognito-idp").create_user_pool(
            PoolName=self._name(logical_id), MfaConfiguration="OFF", **kwargs
        )
        return Created(pool["UserPool"]["Id"], pool["UserPool"]["Arn"])

    def _user_pool_client(self, logical_id: str, props: dict[str, Any]) -> Created:
        flows = sorted(
            {*props.get("ExplicitAuthFlows", []), "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
        )
        client = self._client("cognito-idp").create_user_pool_client(
            UserPoolId=self.resolve(props["UserPoolId"]),
            ClientName=self._name(logical_id),
            ExplicitAuthFlows=flows,
            GenerateSecret=False,
        )["UserPoolClient"]
        return Created(client["ClientId"], client["ClientId"])

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = props.get("BucketName") or self._name(logical_id).lower()[:63]
        kwargs: dict[str, Any] = {"Bucket": name}
        if self._region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        if props.get("ObjectLockEnabled"):
            kwargs["ObjectLockEnabledForBucket"] = True
        s3 = self._client("s3")
        s3.create_bucket(**kwargs)
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return Created(name, f"arn:aws:s3:::{name}")

    def _group(self, _logical_id: str, props: dict[str, Any]) -> Created:
        pool_id = self.resolve(props["UserPoolId"])
        self._client("cognito-idp").create_group(UserPoolId=pool_id, GroupName=props["GroupName"])
        return Created(props["GroupName"], props["GroupName"])
