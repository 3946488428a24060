"""Functions: every package under ``functions/`` that has a registry entry in
``constants.FUNCTIONS``, built by one helper, with its environment and least-privilege grants.

Adding a function: create ``functions/<name>/handler.py``, add its ``FunctionSpec`` to
``constants.FUNCTIONS`` and, if it needs more than its DB user, ``_environment_<name>`` and
``_grant_<name>`` methods here.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import (
    Annotations,
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    triggers,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk.constants import (
    AUDIT_CHECKPOINT_PREFIX,
    DB_MIGRATION_USER,
    DB_NAME,
    DB_PORT,
    DEVICES_DEVICE_ID_INDEX,
    FUNCTIONS,
    LIVE_ALIAS,
    METRICS_NAMESPACE,
    PYTHON_VERSION,
    Tables,
    existing_functions,
)
from infra_cdk.nag import acknowledge
from infra_cdk.retention import pascal, retained_log_group

if TYPE_CHECKING:
    from infra_cdk.auth import Auth
    from infra_cdk.config import EnvironmentConfig
    from infra_cdk.data import Data, Keys
    from infra_cdk.network import Network
    from infra_cdk.stream import Stream

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
_NOT_BUILT = "LAYER_NOT_BUILT.txt"

_BASIC_EXECUTION = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
)
_VPC_EXECUTION = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]"


@jsii.implements(ILocalBundling)
class _CopyTree:
    """Local "bundling" that only copies a directory (so no Docker is ever needed)."""

    def __init__(self, source: Path | None, target: str, marker: str | None = None) -> None:
        self._source = source
        self._target = target
        self._marker = marker

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:  # noqa: ARG002 - jsii signature
        target = Path(output_dir) / self._target
        if self._source is not None:
            shutil.copytree(
                self._source,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        if self._marker is not None:
            target.mkdir(parents=True, exist_ok=True)
            (target / _NOT_BUILT).write_text(self._marker, encoding="utf-8")
        return True


def _copied(source: Path, bundler: _CopyTree, asset_hash: str | None = None) -> lambda_.Code:
    """A copied directory as an asset. CDK hashes a bundled asset by its source and bundling
    options, not by what the local bundler writes, so two bundles of one source need their own
    ``asset_hash`` or they are staged (and deployed) as one."""
    return lambda_.Code.from_asset(
        str(source),
        bundling=BundlingOptions(image=DockerImage.from_registry("unused-local-bundling"), local=bundler),
        asset_hash_type=AssetHashType.CUSTOM if asset_hash else None,
        asset_hash=asset_hash,
    )


@jsii.implements(lambda_.IEventSourceDlq)
class _OnFailureQueue:
    """An SQS on-failure destination granted exactly what sending needs.

    (``SqsDlq`` grants ``grantSendMessages``, whose KMS actions are wildcards.)
    """

    def __init__(self, queue: sqs.IQueue, key: kms.IKey) -> None:
        self._queue = queue
        self._key = key

    def bind(self, _target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction) -> Any:
        self._queue.grant(target_handler, "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
        self._key.grant(target_handler, "kms:GenerateDataKey", "kms:Decrypt")
        return lambda_.DlqDestinationConfig(destination=self._queue.queue_arn)


class Functions(Construct):
    """``functions`` and ``aliases`` (``live``) by function name, for the APIs, alarms and deployment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: Network,
        keys: Keys,
        data: Data,
        stream: Stream,
        auth: Auth,
        functions_dir: Path,
        layer_build_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        assert RUNTIME.name == f"python{PYTHON_VERSION}", "constants.PYTHON_VERSION must match RUNTIME"
        self._config = config
        self._network = network
        self._keys = keys
        self._data = data
        self._stream = stream
        self._auth = auth
        self._functions_dir = functions_dir
        self.layer = self._add_layer(layer_build_dir)
        self._code = _copied(functions_dir, _CopyTree(functions_dir, "functions"))
        self.functions: dict[str, lambda_.Function] = {}
        self.aliases: dict[str, lambda_.Alias] = {}
        self._add_functions()

    # --- building blocks ---------------------------------------------------------------------
    def _add_layer(self, build_dir: Path) -> lambda_.LayerVersion:
        if (build_dir / "python").is_dir():
            code = lambda_.Code.from_asset(str(build_dir))
        else:
            # Synth must work before `make layer`; `make deploy` always builds the layer first.
            # (The source directory only anchors the asset; nothing is copied from it.)
            marker = "Run `make layer` before deploying.\n"
            code = _copied(
                self._functions_dir if self._functions_dir.is_dir() else Path(__file__).resolve().parent,
                _CopyTree(None, "python", marker=marker),
                # not the functions' code asset, which has the same source and bundling options
                asset_hash=hashlib.sha256(f"layer-placeholder:{marker}".encode()).hexdigest(),
            )
            Annotations.of(self).add_warning_v2(
                "wm:layer-not-built", f"{build_dir / 'python'} does not exist: the layer is a placeholder"
            )
        return lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=code,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="shared/ and the third-party packages of every function",
        )

    def make_function(self, name: str, environment: dict[str, str]) -> lambda_.Function:
        """The one way a function is made: arm64, newest Python, shared layer, Powertools, tracing."""
        spec = FUNCTIONS[name]
        construct_id = pascal(name)
        log_group = retained_log_group(self, construct_id, self._config.log_retention_days)
        function = lambda_.Function(
            self,
            construct_id,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self._code,
            handler=f"functions.{name}.handler.lambda_handler",
            layers=[self.layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            reserved_concurrent_executions=self._config.reserved_concurrency.get(name),
            vpc=self._network.vpc if spec.in_vpc else None,
            vpc_subnets=self._network.private_subnets if spec.in_vpc else None,
            environment={
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
        )
        self._acknowledge_execution_role(function, in_vpc=spec.in_vpc)
        if spec.in_vpc:
            self._network.allow_endpoints_from(function, f"{name} to the VPC endpoints")
        self.functions[name] = function
        self.aliases[name] = lambda_.Alias(
            self,
            f"{construct_id}Live",
            alias_name=LIVE_ALIAS,
            version=function.current_version,
            provisioned_concurrent_executions=self._config.provisioned_concurrency.get(name),
        )
        return function

    @staticmethod
    def _acknowledge_execution_role(function: lambda_.Function, *, in_vpc: bool) -> None:
        assert function.role is not None
        acknowledge(
            function.role,
            _BASIC_EXECUTION,
            "The AWS managed Lambda execution policy grants exactly log delivery; it is the documented "
            "minimum for every function.",
        )
        if in_vpc:
            acknowledge(
                function.role,
                _VPC_EXECUTION,
                "The AWS managed policy grants exactly the ENI management a function in a VPC needs; "
                "it is the documented minimum for VPC functions.",
            )
        acknowledge(
            function.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active X-Ray tracing needs xray:PutTraceSegments/PutTelemetryRecords"
            + (" and the VPC policy ec2:*NetworkInterface actions" if in_vpc else "")
            + ", which support no resource-level permissions.",
        )

    def _db_environment(self, user: str) -> dict[str, str]:
        return {
            "DB_HOST": self._data.proxy.endpoint,
            "DB_PORT": str(DB_PORT),
            "DB_NAME": DB_NAME,
            "DB_USER": user,
            "DB_IAM_AUTH": "true",
        }

    def _admin_api_environment(self) -> dict[str, str]:
        """What every admin-API function needs to verify tokens itself (shared.auth.AdminApiSettings)."""
        return {
            "USER_POOL_ID": self._auth.user_pool.user_pool_id,
            "USER_POOL_CLIENT_ID": self._auth.client.user_pool_client_id,
        }

    def _checkpoint_statements(self, actions: list[str]) -> list[iam.PolicyStatement]:
        """Read (and, with Put*, write) audit checkpoints: objects under their prefix, listing only it."""
        bucket = self._data.receipts_bucket
        return [
            iam.PolicyStatement(
                actions=actions, resources=[bucket.arn_for_objects(f"{AUDIT_CHECKPOINT_PREFIX}*")]
            ),
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{AUDIT_CHECKPOINT_PREFIX}*"]}},
            ),
        ]

    def _acknowledge_checkpoint_prefix(self, function: lambda_.Function) -> None:
        assert function.role is not None
        acknowledge(
            function.role,
            f"AwsSolutions-IAM5[Resource::<{_logical_id(self._data.receipts_bucket)}.Arn>/{AUDIT_CHECKPOINT_PREFIX}*]",
            "Checkpoint objects are numbered as they are written; the grant is limited to the "
            "audit-checkpoint prefix of the receipts bucket and to the exact object actions needed.",
        )

    def _add_functions(self) -> None:
        for name in existing_functions(self._functions_dir):
            if name not in FUNCTIONS:
                Annotations.of(self).add_warning_v2(
                    "wm:unregistered-function",
                    f"functions/{name} has no entry in infra_cdk.constants.FUNCTIONS and is not deployed",
                )
                continue
            db_user = FUNCTIONS[name].db_user
            environment = self._db_environment(db_user) if db_user else {}
            if FUNCTIONS[name].api == "admin":
                environment |= self._admin_api_environment()
            environment_of = getattr(self, f"_environment_{name}", None)
            if environment_of is not None:
                environment |= environment_of()
            function = self.make_function(name, environment)
            if db_user:
                self._data.proxy.grant_connect(function, db_user)
                self._data.proxy.connections.allow_from(
                    function, ec2.Port.tcp(DB_PORT), f"{name} to the RDS Proxy"
                )
            grant = getattr(self, f"_grant_{name}", None)
            if grant is not None:
                grant(function)

    # --- per-function wiring: _environment_<name>() and _grant_<name>(function) ----------------
    def _environment_ingest_api(self) -> dict[str, str]:
        tables = self._data.tables
        return {
            "DEVICES_TABLE": tables[Tables.DEVICES].table_name,
            "CONSENT_TABLE": tables[Tables.CONSENT].table_name,
            "TENANTS_TABLE": tables[Tables.TENANTS].table_name,
            "EVENTS_STREAM_NAME": self._stream.stream.stream_name,
        }

    def _grant_ingest_api(self, function: lambda_.Function) -> None:
        # GetItem on the tables themselves only: Table.grant would add the devices table's
        # indexes, which ingestion never reads (it looks devices up by certificate key).
        tables = self._data.tables
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[tables[t].table_arn for t in (Tables.DEVICES, Tables.CONSENT, Tables.TENANTS)],
            )
        )
        self._keys.tables.grant(function, "kms:Decrypt")
        self._stream.stream.grant(function, "kinesis:PutRecords")
        self._keys.stream.grant(function, "kms:GenerateDataKey")

    def _environment_ingest_stream(self) -> dict[str, str]:
        tables = self._data.tables
        return {
            "CONSENT_TABLE": tables[Tables.CONSENT].table_name,
            "DATA_KEYS_TABLE": tables[Tables.DATA_KEYS].table_name,
            "DATA_KEY_KMS_KEY_ARN": self._keys.subject_data_keys.key_arn,
            "EVENT_BUS_NAME": self._stream.bus.event_bus_name,
        }

    def _grant_ingest_stream(self, function: lambda_.Function) -> None:
        tables = self._data.tables
        consumer = self._config.consumer
        tables[Tables.CONSENT].grant(function, "dynamodb:GetItem")
        tables[Tables.DATA_KEYS].grant(function, "dynamodb:GetItem", "dynamodb:PutItem")
        self._keys.tables.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        self._keys.subject_data_keys.grant(function, "kms:GenerateDataKey", "kms:Decrypt")
        self._stream.bus.grant_put_events_to(function)
        self.aliases["ingest_stream"].add_event_source(
            event_sources.KinesisEventSource(
                self._stream.stream,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=consumer.batch_size,
                max_batching_window=Duration.seconds(consumer.max_batching_window_s),
                parallelization_factor=consumer.parallelization_factor,
                bisect_batch_on_error=True,
                retry_attempts=consumer.retry_attempts,
                max_record_age=Duration.seconds(consumer.max_record_age_s),
                report_batch_item_failures=True,
                on_failure=_OnFailureQueue(self._stream.dead_letter_queue, self._keys.stream),
            )
        )

    def _environment_db_migrate(self) -> dict[str, str]:
        # Bootstrap: the first run signs in as the master user (password from the secret RDS
        # manages and rotates) directly on the writer, to create the IAM-authenticated roles.
        secret = self._data.cluster.secret
        assert secret is not None
        function_users = sorted(
            {
                spec.db_user
                for spec in FUNCTIONS.values()
                if spec.db_user and spec.db_user != DB_MIGRATION_USER
            }
        )
        return {
            "DB_BOOTSTRAP_HOST": self._data.cluster.cluster_endpoint.hostname,
            "DB_BOOTSTRAP_SECRET_ARN": secret.secret_arn,
            "DB_FUNCTION_USERS": ",".join(function_users),
        }

    def _grant_db_migrate(self, function: lambda_.Function) -> None:
        cluster = self._data.cluster
        assert cluster.secret is not None
        cluster.secret.grant_read(function)
        cluster.connections.allow_default_port_from(function, "db_migrate bootstrap on the writer")
        triggers.Trigger(
            self,
            "DbMigrateOnDeploy",
            handler=function,
            timeout=Duration.minutes(5),
            execute_after=[cluster, self._data.proxy],
            execute_on_handler_change=True,
        )

    def _environment_directory_api(self) -> dict[str, str]:
        return {"DEVICES_TABLE": self._data.tables[Tables.DEVICES].table_name}

    def _grant_directory_api(self, function: lambda_.Function) -> None:
        devices = self._data.tables[Tables.DEVICES]
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[devices.table_arn],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{devices.table_arn}/index/{DEVICES_DEVICE_ID_INDEX}"]
            )
        )
        self._keys.tables.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")

    def _environment_consent_api(self) -> dict[str, str]:
        return {
            "CONSENT_TABLE": self._data.tables[Tables.CONSENT].table_name,
            "EVENT_BUS_NAME": self._stream.bus.event_bus_name,
        }

    def _grant_consent_api(self, function: lambda_.Function) -> None:
        # TransactWriteItems (CURRENT + history in one write) is authorised as PutItem per item.
        consent = self._data.tables[Tables.CONSENT]
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                resources=[consent.table_arn],
            )
        )
        self._keys.tables.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        self._stream.bus.grant_put_events_to(function)
        self._keys.stream.grant(function, "kms:GenerateDataKey")

    def _environment_analytics_api(self) -> dict[str, str]:
        return {"TENANTS_TABLE": self._data.tables[Tables.TENANTS].table_name}

    def _grant_analytics_api(self, function: lambda_.Function) -> None:
        # The tenant's minimum group size; everything else is in PostgreSQL.
        tables = self._data.tables
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[tables[Tables.TENANTS].table_arn])
        )
        self._keys.tables.grant(function, "kms:Decrypt")

    def _environment_audit_checkpoint(self) -> dict[str, str]:
        return {
            "AUDIT_SIGNING_KEY_ID": self._keys.signing.key_arn,
            "AUDIT_CHECKPOINT_BUCKET": self._data.receipts_bucket.bucket_name,
            "AUDIT_CHECKPOINT_RETENTION_DAYS": str(self._config.receipts_retention_days),
            "AUDIT_CHECKPOINT_PREFIX": AUDIT_CHECKPOINT_PREFIX,
        }

    def _grant_audit_checkpoint(self, function: lambda_.Function) -> None:
        self._keys.signing.grant(function, "kms:Sign", "kms:GetPublicKey")
        self._keys.buckets.grant(function, "kms:GenerateDataKey", "kms:Decrypt")
        for statement in self._checkpoint_statements(
            ["s3:GetObject", "s3:PutObject", "s3:PutObjectRetention"]
        ):
            function.add_to_role_policy(statement)
        self._acknowledge_checkpoint_prefix(function)

    def _environment_audit_api(self) -> dict[str, str]:
        return {
            "AUDIT_SIGNING_KEY_ID": self._keys.signing.key_arn,
            "AUDIT_CHECKPOINT_BUCKET": self._data.receipts_bucket.bucket_name,
            "AUDIT_CHECKPOINT_PREFIX": AUDIT_CHECKPOINT_PREFIX,
        }

    def _grant_audit_api(self, function: lambda_.Function) -> None:
        # Verification uses the public key only: never kms:Sign here.
        self._keys.signing.grant(function, "kms:GetPublicKey")
        self._keys.buckets.grant(function, "kms:Decrypt")
        for statement in self._checkpoint_statements(["s3:GetObject"]):
            function.add_to_role_policy(statement)
        self._acknowledge_checkpoint_prefix(function)


def _logical_id(construct: Construct) -> str:
    """The logical id cdk-nag names in findings (``<LogicalId.Arn>``)."""
    from aws_cdk import CfnElement, Stack

    element = construct.node.default_child
    assert isinstance(element, CfnElement)
    return Stack.of(construct).get_logical_id(element)
