"""The local stack's AWS resources, created in moto from the synthesized CDK template itself.

The app is synthesized for ``dev`` with ``local=true``; each function's environment is read from
the template and every ``Ref`` / ``Fn::GetAtt`` in it is resolved by creating that resource from
its template properties (tables with their key schemas and indexes, the stream, the bus, KMS
keys with their key specs, the Cognito pool with its groups and client, the state machines with
their definitions and the functions, aliases and roles those reference). So names, keys and
settings cannot drift from what deploys to AWS. Local differences: the pool's MFA is off and the
client also allows ``USER_PASSWORD_AUTH`` (a machine without a phone); a Lambda function in moto
holds no code, only its ``POWERTOOLS_SERVICE_NAME``, and ``infra_cdk.local.workflows`` runs that
package's handler in-process when it is invoked; IAM roles are created without their policies
(moto does not enforce them); state machines are created without their logging and tracing
settings (no CloudWatch Logs or X-Ray locally).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from infra_cdk.constants import WORKFLOW_TAG

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# The pseudo parameters a definition or ARN may name (moto's default account).
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::AccountId": "123456789012",
}

SYNTH = (
    "import sys; from infra_cdk.app import build_app; "
    "build_app({'env': 'dev', 'local': 'true'}, outdir=sys.argv[1]).synth()"
)


def synth_local_template(outdir: Path) -> dict[str, Any]:
    """Synthesize the dev stack for local use (in a child process: jsii starts Node.js)."""
    subprocess.run([sys.executable, "-c", SYNTH, str(outdir)], check=True, capture_output=True, text=True)  # noqa: S603
    (path,) = outdir.glob("*.template.json")
    return dict(json.loads(path.read_text()))


def function_variables(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource["Properties"].get("Environment", {}).get("Variables", {}))


def function_logical_id(resources: dict[str, Any], function: str) -> str:
    """The logical id of the template's function whose ``POWERTOOLS_SERVICE_NAME`` is ``function``."""
    for logical_id, resource in resources.items():
        if (
            resource["Type"] == "AWS::Lambda::Function"
            and function_variables(resource).get("POWERTOOLS_SERVICE_NAME") == function
        ):
            return str(logical_id)
    raise KeyError(f"no function {function} in the template")


@dataclass
class Created:
    ref: str
    arn: str


class TemplateResources:
    def __init__(self, template: dict[str, Any], region: str, prefix: str = "wm-local") -> None:
        self._resources: dict[str, Any] = template["Resources"]
        self._outputs: dict[str, Any] = template.get("Outputs", {})
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
            "AWS::IAM::Role": self._role,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::Alias": self._alias,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Events::Rule": self._rule,
        }

    def _client(self, name: str) -> Any:
        return boto3.client(name, region_name=self._region)  # type: ignore[call-overload]

    # --- what the functions and people need -------------------------------------------------
    def function_environment(self, function_name: str) -> dict[str, str]:
        """The function's template environment with every reference resolved; ``DB_*`` is left out
        (locally the functions use ``DATABASE_URL``)."""
        variables = function_variables(self._resources[function_logical_id(self._resources, function_name)])
        return {k: self.resolve(v) for k, v in variables.items() if not k.startswith("DB_")}

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

    def output(self, name: str) -> str:
        """A stack output's value, with the resource it names created (``ReportsBucket``, say)."""
        return self.resolve(self._outputs[name]["Value"])

    def state_machines(self) -> dict[str, str]:
        """Every state machine of the template, created with its definition: name -> ARN (the name
        is the ``workflow`` tag ``infra_cdk.workflows`` gives it, else the logical id)."""
        machines = {}
        for logical_id, resource in self._resources.items():
            if resource["Type"] == "AWS::StepFunctions::StateMachine":
                tags = {t["Key"]: t["Value"] for t in resource.get("Properties", {}).get("Tags", [])}
                machines[tags.get(WORKFLOW_TAG, logical_id)] = self.create(logical_id).arn
        return machines

    def event_rules(self) -> list[str]:
        """Every EventBridge rule of the template on its bus, with its targets (their inputs;
        not their roles, retry policies or dead-letter queues): the rules' ARNs."""
        return [
            self.create(logical_id).arn
            for logical_id, resource in self._resources.items()
            if resource["Type"] == "AWS::Events::Rule"
        ]

    def resolve(self, value: Any) -> str:
        """A string property: literal, or ``Ref`` / ``Fn::GetAtt ... Arn`` / ``Fn::Join`` / ``Fn::Sub``
        with every resource it names created."""
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute == "Arn":
                return self.create(logical_id).arn
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(self.resolve(part) for part in parts)
        if "Fn::Sub" in value:
            return self._sub(value["Fn::Sub"])
        raise ValueError(f"cannot resolve {value!r} locally")

    def _ref(self, ref: str) -> str:
        if ref == "AWS::Region":
            return self._region
        if ref in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[ref]
        return self.create(ref).ref

    def resolve_all(self, value: Any) -> Any:
        """A document (a policy, say) with every intrinsic in it resolved."""
        if isinstance(value, list):
            return [self.resolve_all(item) for item in value]
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub"):
                return self.resolve(value)
            return {k: self.resolve_all(v) for k, v in value.items()}
        return value

    def _sub(self, spec: str | list[Any]) -> str:
        text, variables = (spec, {}) if isinstance(spec, str) else (spec[0], spec[1])

        def one(match: re.Match[str]) -> str:
            escaped, name = match.groups()
            if escaped:  # ${!Literal} is the text ${Literal}
                return "${" + name + "}"
            if name in variables:
                return self.resolve(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.resolve({"Fn::GetAtt": [logical_id, attribute]})
            return self.resolve({"Ref": name})

        return re.sub(r"\$\{(!?)([^}]*)\}", one, str(text))

    def create(self, logical_id: str) -> Created:
        if logical_id not in self._created:
            resource = self._resources[logical_id]
            maker = self._makers.get(resource["Type"])
            if maker is None:
                raise ValueError(f"{logical_id} ({resource['Type']}) has no local equivalent")
            self._created[logical_id] = maker(logical_id, resource.get("Properties", {}))
        return self._created[logical_id]

    # --- makers ---------------------------------------------------------------------------------
    def _name(self, logical_id: str, limit: int = 255) -> str:
        """``<prefix>-<logical id>``, shortened with a hash of it where AWS limits the length."""
        name = f"{self._prefix}-{logical_id}"
        if len(name) <= limit:
            return name
        return f"{name[: limit - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"

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
        if "BucketEncryption" in props:  # SSE-KMS with the template's key, as in AWS
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": self.resolve_all(
                        rule["ServerSideEncryptionByDefault"]
                    ),
                    **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        return Created(name, f"arn:aws:s3:::{name}")

    def _group(self, _logical_id: str, props: dict[str, Any]) -> Created:
        pool_id = self.resolve(props["UserPoolId"])
        self._client("cognito-idp").create_group(UserPoolId=pool_id, GroupName=props["GroupName"])
        return Created(props["GroupName"], props["GroupName"])

    def _role(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = props.get("RoleName") or self._name(logical_id, 64)
        role = self._client("iam").create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(self.resolve_all(props["AssumeRolePolicyDocument"])),
        )["Role"]
        return Created(name, role["Arn"])

    def _function(self, logical_id: str, props: dict[str, Any]) -> Created:
        """The function in moto's Lambda with no code: its service name says which package's
        handler ``infra_cdk.local.workflows.InProcessLambda`` runs when it is invoked."""
        service = function_variables({"Properties": props}).get("POWERTOOLS_SERVICE_NAME")
        if not isinstance(service, str):
            raise ValueError(f"{logical_id} has no POWERTOOLS_SERVICE_NAME: it cannot run locally")
        fn = self._client("lambda").create_function(
            FunctionName=props.get("FunctionName") or self._name(logical_id, 64),
            Runtime=props.get("Runtime", "python3.12"),
            Role=self.resolve(props["Role"]),
            Handler=props.get("Handler", "handler.lambda_handler"),
            Code={"ZipFile": EMPTY_CODE_ZIP},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": {"POWERTOOLS_SERVICE_NAME": service}},
        )
        return Created(fn["FunctionName"], fn["FunctionArn"])

    def _alias(self, _logical_id: str, props: dict[str, Any]) -> Created:
        lambda_ = self._client("lambda")
        function = self.resolve(props["FunctionName"])
        version = lambda_.publish_version(FunctionName=function)["Version"]
        alias = lambda_.create_alias(FunctionName=function, Name=props["Name"], FunctionVersion=version)
        return Created(alias["AliasArn"], alias["AliasArn"])

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> Created:
        if "DefinitionString" in props:
            definition = self.resolve(props["DefinitionString"])
        else:
            definition = json.dumps(self.resolve_all(props["Definition"]))
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", self.resolve(value))
        json.loads(definition)  # a definition that does not parse is the template's fault: say so here
        machine = self._client("stepfunctions").create_state_machine(
            name=props.get("StateMachineName") or self._name(logical_id, 80),
            definition=definition,
            roleArn=self.resolve(props["RoleArn"]),
            type=props.get("StateMachineType", "STANDARD"),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags", [])],
        )
        return Created(machine["stateMachineArn"], machine["stateMachineArn"])

    def _rule(self, logical_id: str, props: dict[str, Any]) -> Created:
        events = self._client("events")
        name = props.get("Name") or self._name(logical_id, 64)
        bus = self.resolve(props.get("EventBusName", "default"))
        kwargs: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            kwargs["EventPattern"] = json.dumps(self.resolve_all(props["EventPattern"]))
        if "ScheduleExpression" in props:
            kwargs["ScheduleExpression"] = props["ScheduleExpression"]
        arn = events.put_rule(**kwargs)["RuleArn"]
        kept = ("Id", "Arn", "Input", "InputPath", "InputTransformer")
        targets = [
            {k: self.resolve_all(v) for k, v in t.items() if k in kept} for t in props.get("Targets", [])
        ]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return Created(name, arn)


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "# runs in-process locally: infra_cdk.local.workflows\n")
    return buffer.getvalue()


# A function package for moto: locally the code runs in-process, not from here.
EMPTY_CODE_ZIP = _empty_zip()
