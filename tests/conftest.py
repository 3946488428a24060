"""Shared fixtures: a real PostgreSQL per test session, moto per test, a registered device with consent."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg.conninfo import conninfo_to_dict, make_conninfo

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("AWS_REGION", "eu-west-1")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
    os.environ[_name] = "testing"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "WorkforceMonitoring")
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"

from infra_cdk.local.pki import Issued, LocalCA  # noqa: E402
from infra_cdk.local.resources import REGION, Resources, create_resources  # noqa: E402
from shared import aws  # noqa: E402
from shared.certs import identity_from_pem  # noqa: E402
from shared.dynamo.consent import ConsentState, ConsentStatus, ConsentStore  # noqa: E402
from shared.dynamo.devices import Device, DeviceRegistry  # noqa: E402
from tests.support.postgres import fresh_database, server_url  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with server_url() as url:
        yield url


@pytest.fixture(scope="session")
def pg_url(pg_server: str) -> Iterator[str]:
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def db(pg_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the migrated test database, with the event tables emptied first."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE activity_events, activity_hourly, activity_dirty, activity_daily, activity_team_daily,"
            " activity_tenant_daily"
        )
        yield conn


@pytest.fixture
def aws_resources(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with mock_aws():
        aws.reset_clients()
        res = create_resources()
        for key, value in res.env().items():
            monkeypatch.setenv(key, value)
        yield res
    aws.reset_clients()


@pytest.fixture(scope="session")
def ca() -> LocalCA:
    return LocalCA()


@dataclass
class Agent:
    """An enrolled agent: its certificate, the registry entry, and the ids that come with it."""

    tenant_id: str
    employee_id: str
    device: Device
    cert: Issued


def enroll(ca: LocalCA, table: str, tenant_id: str | None = None, employee_id: str | None = None) -> Agent:
    tenant_id = tenant_id or f"t-{uuid.uuid4().hex[:8]}"
    employee_id = employee_id or str(uuid.uuid4())
    cert = ca.issue(f"device-{employee_id[:8]}")
    ident = identity_from_pem(cert.cert_pem)
    device = Device(
        device_id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        employee_id=employee_id,
        cert_key=ident.cert_key,
        issuer=ident.issuer,
        serial=ident.serial,
        not_before=ident.not_before,
        not_after=ident.not_after,
    )
    DeviceRegistry(boto3.client("dynamodb", region_name=REGION), table).put(device)
    return Agent(tenant_id, employee_id, device, cert)


def set_consent(table: str, agent: Agent, status: ConsentStatus, categories: set[str] | None = None) -> None:
    ConsentStore(boto3.client("dynamodb", region_name=REGION), table).put_current(
        agent.tenant_id,
        agent.employee_id,
        ConsentState(
            status=status,
            policy_version="2026-01" if status is ConsentStatus.ACTIVE else None,
            categories=frozenset(categories or set()),
            updated_at=datetime.now(UTC),
        ),
    )


ALL_CATEGORIES = {"apps", "window_titles", "urls", "input_counts"}


@pytest.fixture
def agent(aws_resources: Resources, ca: LocalCA) -> Agent:
    """An enrolled agent whose employee consented to every category."""
    a = enroll(ca, aws_resources.devices_table)
    set_consent(aws_resources.consent_table, a, ConsentStatus.ACTIVE, ALL_CATEGORIES)
    return a


RoleConnect = Callable[[str], psycopg.Connection]


@pytest.fixture
def connect_as(pg_url: str) -> Iterator[RoleConnect]:
    """Connections to the shared test database signed in as a function's own role (least privilege
    is tested through these)."""
    opened: list[psycopg.Connection] = []

    def connect(role: str) -> psycopg.Connection:
        password = secrets.token_urlsafe(16)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"ALTER ROLE {role} PASSWORD '{password}'")
        conn = psycopg.connect(
            make_conninfo(**(conninfo_to_dict(pg_url) | {"user": role, "password": password}))
        )
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
