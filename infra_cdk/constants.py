"""Names and static settings of the infrastructure, in one place.

Pure data: importing this module must stay cheap (``layers/build.py`` and the tests read it
without loading aws-cdk-lib).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PROJECT = "WorkforceMonitoring"
METRICS_NAMESPACE = "WorkforceMonitoring"
ENVIRONMENTS = ("dev", "staging", "prod")

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_DIR = REPO_ROOT / "layers"
LAYER_BUILD_DIR = LAYER_DIR / "build"

# The layer is built for exactly this runtime; infra_cdk.functions asserts it is the newest
# Python runtime aws-cdk-lib offers, and layers/build.py passes it to pip --python-version.
PYTHON_VERSION = "3.14"
LAMBDA_ARCHITECTURE = "arm64"
# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels
# (psycopg-binary 3.3 ships only those) work as well as manylinux2014 ones.
LAYER_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
LIVE_ALIAS = "live"

# The retention periods CloudWatch Logs accepts (days -> aws_logs.RetentionDays member).
LOG_RETENTION_DAYS = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1827: "FIVE_YEARS",
    3653: "TEN_YEARS",
}


def stack_name(env_name: str) -> str:
    return f"{PROJECT}-{env_name}"


# --- Data stores -------------------------------------------------------------------------
class Tables:
    """DynamoDB tables: construct id -> (partition key, sort key); GSIs and TTL below."""

    DEVICES = "Devices"
    CONSENT = "Consent"
    TENANTS = "Tenants"
    DATA_KEYS = "DataKeys"
    IDEMPOTENCY = "Idempotency"


@dataclass(frozen=True)
class TableSpec:
    partition_key: str
    sort_key: str | None = None
    gsis: tuple[tuple[str, str], ...] = ()  # (index name, partition key); projection ALL
    ttl_attribute: str | None = None


TABLE_SPECS: dict[str, TableSpec] = {
    Tables.DEVICES: TableSpec("cert_key", gsis=(("device_id-index", "device_id"),)),
    Tables.CONSENT: TableSpec("pk", "sk"),
    Tables.TENANTS: TableSpec("tenant_id"),
    Tables.DATA_KEYS: TableSpec("subject"),
    Tables.IDEMPOTENCY: TableSpec("id", ttl_attribute="expiration"),
}
DEVICES_DEVICE_ID_INDEX = "device_id-index"

DB_NAME = "monitoring"
DB_PORT = 5432
DB_MASTER_USER = "wm_master"
DB_MIGRATION_USER = "wm_migrator"
DB_INGEST_USER = "wm_ingest"

TRUSTSTORE_KEY = "truststore.pem"
# Where audit_checkpoint writes signed chain heads in the receipts bucket (shared.audit.checkpoint).
AUDIT_CHECKPOINT_PREFIX = "audit-checkpoints/"

# --- Auth ----------------------------------------------------------------------------------
USER_GROUPS = ("admin", "manager", "dpo", "auditor", "employee")
PRIVILEGED_GROUPS = ("admin", "dpo", "auditor")
CUSTOM_ATTRIBUTES = ("tenant_id", "employee_id")

# API Gateway's answer to a method and path no route serves (locally, the admin gateway's).
NO_ROUTE_MESSAGE = "No route matches this method and path."

# --- Events --------------------------------------------------------------------------------
# What the functions publish on the bus (source, detail-type), for the rules that route them
# (the purge workflow starts on ConsentWithdrawn); a test keeps these equal to the functions'.
CONSENT_SOURCE = "workforce.consent"
CONSENT_WITHDRAWN = "ConsentWithdrawn"
INGESTION_SOURCE = "workforce.ingestion"
ACTIVITY_STORED = "ActivityStored"
WORKFLOW_TAG = "workflow"  # each state machine's tag with its workflow name (the local stack reads it)

# --- Metrics the application emits (Powertools EMF) that alarms watch -----------------------
METRIC_AUTHORIZATION_FAILURES = "AuthorizationFailures"
METRIC_OLDEST_OPEN_PURGE_AGE = "OldestOpenPurgeAgeSeconds"
PURGE_AGE_SERVICE = "purge_tasks"  # the Powertools service that emits it
# How long the oldest changed employee-day has waited for its rollup; analytics answers lag by this.
METRIC_ANALYTICS_ROLLUP_LAG = "AnalyticsRollupLagSeconds"
ANALYTICS_ROLLUP_SERVICE = "analytics_rollup"
ANALYTICS_ROLLUP_LAG_ALARM_S = 15 * 60


# --- Functions -------------------------------------------------------------------------------
ApiName = Literal["agent", "admin"]


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]


@dataclass(frozen=True)
class FunctionSpec:
    """Static settings of one function; its environment and grants are wired in infra_cdk.functions."""

    description: str
    memory_mb: int = 512
    timeout_s: int = 29
    in_vpc: bool = False
    api: ApiName | None = None
    routes: tuple[Route, ...] = ()
    schedule: str | None = None  # EventBridge Scheduler expression
    db_user: str | None = None  # connects to Aurora through the RDS Proxy with IAM auth as this user


FUNCTIONS: dict[str, FunctionSpec] = {
    "ingest_api": FunctionSpec(
        "Agent API: accepts event batches and serves the agent's config",
        memory_mb=1024,
        api="agent",
        routes=(Route("/v1/events", ("POST",)), Route("/v1/agent/config", ("GET",))),
    ),
    "ingest_stream": FunctionSpec(
        "Kinesis consumer: stores events in Aurora, keeps rollups, publishes ActivityStored",
        memory_mb=1024,
        timeout_s=120,
        in_vpc=True,
        db_user=DB_INGEST_USER,
    ),
    "db_migrate": FunctionSpec(
        "Applies the SQL migrations on deploy",
        timeout_s=300,
        in_vpc=True,
        db_user=DB_MIGRATION_USER,
    ),
    "directory_api": FunctionSpec(
        "Admin API: teams, employees, devices; serves the OpenAPI document",
        db_user="wm_directory",
        in_vpc=True,
        api="admin",
        routes=(
            Route("/v1/openapi.json", ("GET",)),
            Route("/v1/teams", ("GET", "POST")),
            Route("/v1/employees", ("GET", "POST")),
            Route("/v1/employees/{id}", ("GET",)),
            Route("/v1/devices", ("POST",)),
            Route("/v1/devices/{id}", ("DELETE",)),
            Route("/v1/access-grants", ("GET", "POST")),
        ),
    ),
    "consent_api": FunctionSpec(
        "Admin API: consent policies and employee consent",
        db_user="wm_consent",
        in_vpc=True,
        api="admin",
        routes=(
            Route("/v1/consent-policies", ("GET", "POST")),
            Route("/v1/me/consent", ("GET", "PUT", "DELETE")),
            Route("/v1/employees/{id}/consent", ("GET",)),
        ),
    ),
    "analytics_api": FunctionSpec(
        "Admin API: productivity analytics",
        db_user="wm_analytics",
        memory_mb=1024,
        in_vpc=True,
        api="admin",
        routes=(
            Route("/v1/analytics/employees/{id}/daily", ("GET",)),
            Route("/v1/analytics/teams/{id}/daily", ("GET",)),
            Route("/v1/analytics/employees/{id}/weekly", ("GET",)),
            Route("/v1/analytics/teams/{id}/weekly", ("GET",)),
            Route("/v1/analytics/top-apps", ("GET",)),
            Route("/v1/productivity-rules", ("GET", "PUT")),
        ),
    ),
    "analytics_rollup": FunctionSpec(
        "Rebuilds the daily analytics rollups of changed employee-days; applies new productivity rules",
        db_user="wm_analytics_rollup",
        memory_mb=1024,
        timeout_s=600,
        in_vpc=True,
        schedule="rate(1 minute)",
    ),
    "reporting_api": FunctionSpec(
        "Admin API: reports, data-subject requests, purges",
        db_user="wm_reporting",
        in_vpc=True,
        api="admin",
        routes=(
            Route("/v1/reports", ("GET", "POST")),
            Route("/v1/reports/{id}", ("GET",)),
            Route("/v1/dsr", ("POST",)),
            Route("/v1/dsr/{id}", ("GET",)),
            Route("/v1/me/data-export", ("GET",)),
            Route("/v1/purges/{id}", ("GET",)),
        ),
    ),
    "audit_api": FunctionSpec(
        "Admin API: audit log query and verification, the employee's own access log",
        db_user="wm_audit",
        in_vpc=True,
        api="admin",
        routes=(
            Route("/v1/audit/events", ("GET",)),
            Route("/v1/audit/verify", ("GET",)),
            Route("/v1/audit/report", ("GET",)),
            Route("/v1/me/access-log", ("GET",)),
        ),
    ),
    # Task functions of the purge and report state machines (workflows.py); their own issues
    # add the state machines and the grants.
    "purge_tasks": FunctionSpec(
        "Purge workflow tasks: block, delete, destroy the data key, verify, write the receipt",
        db_user="wm_purge",
        timeout_s=300,
        in_vpc=True,
    ),
    "report_tasks": FunctionSpec(
        "Report workflow tasks: query, render CSV/JSON/PDF into the reports bucket",
        db_user="wm_reporting",
        memory_mb=2048,
        timeout_s=900,
        in_vpc=True,
    ),
    "audit_checkpoint": FunctionSpec(
        "Signs the audit hash-chain heads with KMS and writes them to the Object-Lock bucket",
        db_user="wm_audit_checkpoint",
        timeout_s=120,
        in_vpc=True,
        schedule="rate(1 hour)",
    ),
}


# Every database user a function signs in as; the RDS Proxy may connect as exactly these.
DB_USERS = tuple(sorted({spec.db_user for spec in FUNCTIONS.values() if spec.db_user}))


def existing_functions(functions_dir: Path = FUNCTIONS_DIR) -> list[str]:
    """Names of the function packages present (a directory with a handler.py), sorted."""
    if not functions_dir.is_dir():
        return []
    return sorted(p.parent.name for p in functions_dir.glob("*/handler.py"))
