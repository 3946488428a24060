"""Data: customer KMS keys, Aurora PostgreSQL Serverless v2 behind an RDS Proxy, DynamoDB
tables, and the S3 buckets (reports; receipts & audit checkpoints under Object Lock; mTLS
truststore)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from infra_cdk.constants import DB_MASTER_USER, DB_NAME, DB_PORT, DB_USERS, TABLE_SPECS, TRUSTSTORE_KEY
from infra_cdk.nag import acknowledge
from infra_cdk.retention import log_retention

if TYPE_CHECKING:
    from infra_cdk.config import EnvironmentConfig
    from infra_cdk.network import Network

_BASIC_EXECUTION = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
)
TRUSTSTORE_DIR = Path(__file__).resolve().parent / "truststore"


class Keys(Construct):
    """One customer-managed key per concern, so a key policy or a shredding decision has one scope."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables = self._add_key("Tables", "DynamoDB tables")
        self.database = self._add_key("Database", "Aurora storage and Performance Insights")
        self.buckets = self._add_key("Buckets", "S3 reports and receipts")
        self.stream = self._add_key("Stream", "Kinesis stream, its on-failure queue and the event bus")
        self.alarms = self._add_key("Alarms", "SNS alarm topic")
        self.subject_data_keys = self._add_key(
            "SubjectDataKeys",
            "wraps per-employee data keys (AWS Encryption SDK); destroying one is crypto-shredding",
        )
        self.signing = kms.Key(
            self,
            "AuditSigning",
            description="signs audit hash-chain checkpoints and erasure receipts",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.alarms.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )

    def _add_key(self, construct_id: str, purpose: str) -> kms.Key:
        return kms.Key(
            self,
            construct_id,
            description=f"Workforce monitoring: {purpose}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )


class Data(Construct):
    """The stores. ``tables`` maps the names of ``constants.Tables`` to their tables."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: Network,
        keys: Keys,
        assets_bucket: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._assets_bucket = assets_bucket
        self._config = config
        self._network = network
        self._keys = keys
        self.tables = {name: self._add_table(name) for name in TABLE_SPECS}
        self.cluster = self._add_cluster()
        self.proxy = self._add_proxy()
        self.access_logs_bucket = self._add_access_logs_bucket()
        self.reports_bucket = self._add_reports_bucket()
        self.receipts_bucket = self._add_receipts_bucket()
        self.truststore_bucket, self.truststore_deployment = self._add_truststore()

    # --- DynamoDB ------------------------------------------------------------------------
    def _add_table(self, name: str) -> dynamodb.Table:
        spec = TABLE_SPECS[name]
        table = dynamodb.Table(
            self,
            f"{name}Table",
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=(
                dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING)
                if spec.sort_key
                else None
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._keys.tables,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self._config.deletion_protection,
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index_name, index_key in spec.gsis:
            table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=index_key, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    # --- Aurora ----------------------------------------------------------------------------
    def _add_cluster(self) -> rds.DatabaseCluster:
        db = self._config.db
        cluster_identifier = f"workforce-monitoring-{self._config.name}"
        # Created here (not by CDK's LogRetention custom resource) so its retention is declarative.
        postgresql_logs = logs.LogGroup(
            self,
            "ClusterLogs",
            log_group_name=f"/aws/rds/cluster/{cluster_identifier}/postgresql",
            retention=log_retention(self._config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        insights = {
            "enable_performance_insights": True,
            "performance_insight_encryption_key": self._keys.database,
        }
        readers = [
            rds.ClusterInstance.serverless_v2(f"reader{i + 1}", scale_with_writer=i == 0, **insights)
            for i in range(db.readers)
        ]
        cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_17_7
            ),
            writer=rds.ClusterInstance.serverless_v2("writer", **insights),
            readers=readers,
            serverless_v2_min_capacity=db.min_acu,
            serverless_v2_max_capacity=db.max_acu,
            vpc=self._network.vpc,
            vpc_subnets=self._network.private_subnets,
            port=DB_PORT,
            default_database_name=DB_NAME,
            # RDS creates, stores (in Secrets Manager) and rotates the master password itself.
            manage_master_user_password=True,
            credentials=rds.Credentials.from_username(DB_MASTER_USER),
            storage_encrypted=True,
            storage_encryption_key=self._keys.database,
            iam_authentication=True,
            backup=rds.BackupProps(retention=Duration.days(db.backup_retention_days)),
            deletion_protection=self._config.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            cluster_identifier=cluster_identifier,
            cloudwatch_logs_exports=["postgresql"],
            enable_performance_insights=True,
            performance_insight_encryption_key=self._keys.database,
            copy_tags_to_snapshot=True,
        )
        cluster.node.add_dependency(postgresql_logs)
        acknowledge(
            cluster,
            "AwsSolutions-RDS11",
            "The cluster is reachable only from the RDS Proxy's and the migration function's "
            "security groups inside isolated subnets; a non-default port adds no protection here.",
        )
        if not self._config.deletion_protection:
            acknowledge(
                cluster,
                "AwsSolutions-RDS10",
                f"Deletion protection is on in prod only; {self._config.name} is rebuilt freely "
                "and its cluster is snapshotted on removal.",
            )
        return cluster

    def _add_proxy(self) -> rds.DatabaseProxy:
        # End-to-end IAM authentication: clients sign in to the proxy with IAM tokens and the
        # proxy signs in to the database with IAM too, so no per-user secret exists. The proxy's
        # role may connect as the functions' database users only.
        role = iam.Role(self, "ProxyRole", assumed_by=iam.ServicePrincipal("rds.amazonaws.com"))
        for user in DB_USERS:
            self.cluster.grant_connect(role, user)
        proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            proxy_target=rds.ProxyTarget.from_cluster(self.cluster),
            db_proxy_name=f"workforce-monitoring-{self._config.name}",
            vpc=self._network.vpc,
            vpc_subnets=self._network.private_subnets,
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            role=role,
            iam_auth=True,
            require_tls=True,
            idle_client_timeout=Duration.minutes(30),
            borrow_timeout=Duration.seconds(30),
        )
        self.cluster.connections.allow_default_port_from(proxy, "RDS Proxy to the cluster")
        return proxy

    # --- S3 ----------------------------------------------------------------------------------
    def _bucket(self, construct_id: str, **kwargs: object) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            **kwargs,  # type: ignore[arg-type]
        )

    def _add_access_logs_bucket(self) -> s3.Bucket:
        bucket = self._bucket(
            "AccessLogsBucket",
            # Server access log delivery supports SSE-S3 only.
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(self._config.log_retention_days))],
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This is the server access log bucket of the other buckets; logging it into itself would loop.",
        )
        return bucket

    def _logged_bucket(self, construct_id: str, **kwargs: object) -> s3.Bucket:
        return self._bucket(
            construct_id,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=f"{construct_id}/",
            **kwargs,
        )

    def _add_reports_bucket(self) -> s3.Bucket:
        return self._logged_bucket(
            "ReportsBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self._keys.buckets,
            bucket_key_enabled=True,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
        )

    def _add_receipts_bucket(self) -> s3.Bucket:
        """Erasure receipts and audit checkpoints: write once, kept for the retention period."""
        return self._logged_bucket(
            "ReceiptsBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self._keys.buckets,
            bucket_key_enabled=True,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(self._config.receipts_retention_days)
            ),
        )

    def _add_truststore(self) -> tuple[s3.Bucket, s3_deployment.BucketDeployment]:
        """The agent API's mTLS truststore: the device CA bundle of this environment."""
        bucket = self._logged_bucket("TruststoreBucket", encryption=s3.BucketEncryption.S3_MANAGED)
        pem = TRUSTSTORE_DIR / f"{self._config.name}.pem"
        deployment = s3_deployment.BucketDeployment(
            self,
            "Truststore",
            destination_bucket=bucket,
            sources=[s3_deployment.Source.data(TRUSTSTORE_KEY, pem.read_text(encoding="ascii"))],
            prune=False,
            retain_on_delete=True,
            memory_limit=256,
        )
        self._acknowledge_bucket_deployment_handler(bucket)
        return bucket, deployment

    def _acknowledge_bucket_deployment_handler(self, bucket: s3.Bucket) -> None:
        """The findings on the handler aws-cdk-lib provides for BucketDeployment (a stack singleton)."""
        stack = Stack.of(self)
        handler = next(
            child for child in stack.node.children if child.node.id.startswith("Custom::CDKBucketDeployment")
        )
        reason = (
            "aws-cdk-lib's BucketDeployment handler copies the truststore from the CDK asset bucket into "
            "the truststore bucket; its runtime and policy come with aws-cdk-lib and are scoped to those "
            "two buckets."
        )
        findings = [
            "AwsSolutions-L1",
            _BASIC_EXECUTION,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{self._assets_bucket}/*]",
            f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(bucket.node.default_child)}.Arn>/*]",
        ] + [
            f"AwsSolutions-IAM5[Action::s3:{action}]"
            for action in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")
        ]
        for finding in findings:
            acknowledge(handler, finding, reason)
