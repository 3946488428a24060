"""Audit fixtures: a fresh database per test where the whole log is verified, app-role
connections, a KMS signing key and an Object-Lock bucket in moto."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
import psycopg
import pytest

from infra_cdk.local.resources import REGION
from shared.audit import Actor, ActorType, AuditEntry, AuditRecorder, Outcome
from tests.support.postgres import fresh_database

if TYPE_CHECKING:
    from infra_cdk.local.resources import Resources

pytestmark = pytest.mark.integration

RETENTION_DAYS = 7


@pytest.fixture
def audit_url(pg_server: str) -> Iterator[str]:
    """A migrated database of this test's own: the audit log cannot be emptied between tests."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def entry(tenant_id: str, n: int = 0, subject: str | None = "emp-1", **kw: object) -> AuditEntry:
    fields: dict[str, object] = {
        "tenant_id": tenant_id,
        "actor": Actor(ActorType.USER, "manager-7"),
        "action": "analytics.employee_daily.read",
        "resource": "analytics/employee_daily",
        "purpose": "team_management",
        "outcome": Outcome.ALLOWED,
        "request_id": f"req-{n}",
        "subject_employee_id": subject,
    }
    fields.update(kw)
    return AuditEntry(**fields)  # type: ignore[arg-type]


class FixedKeys:
    """Subject data keys in memory (the real one is DataKeyStore)."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], bytes] = {}

    def key_for(self, tenant_id: str, employee_id: str) -> bytes:
        return self.keys.setdefault((tenant_id, employee_id), secrets.token_bytes(32))


def append(url: str, tenant_id: str, count: int, recorder: AuditRecorder | None = None) -> None:
    """``count`` entries in the tenant's chain, every column filled (subject, detail)."""
    recorder = recorder or AuditRecorder(keys=FixedKeys())
    with psycopg.connect(url) as conn:
        recorder.record_many(
            conn, [entry(tenant_id, i, subject=f"emp-{i % 2}", detail=f"note {i}") for i in range(count)]
        )


@dataclass(frozen=True)
class AuditAws:
    key_id: str
    bucket: str
    public_key_der: bytes


@pytest.fixture
def audit_aws(aws_resources: Resources, monkeypatch: pytest.MonkeyPatch, audit_url: str) -> AuditAws:
    """The signing key and the Object-Lock bucket, and the checkpoint function's environment."""
    kms = boto3.client("kms", region_name=REGION)
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    s3 = boto3.client("s3", region_name=REGION)
    bucket = f"wm-receipts-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": REGION},
        ObjectLockEnabledForBucket=True,
    )
    monkeypatch.setenv("AUDIT_SIGNING_KEY_ID", key_id)
    monkeypatch.setenv("AUDIT_CHECKPOINT_BUCKET", bucket)
    monkeypatch.setenv("AUDIT_CHECKPOINT_RETENTION_DAYS", str(RETENTION_DAYS))
    monkeypatch.setenv("DATABASE_URL", audit_url)
    return AuditAws(key_id, bucket, kms.get_public_key(KeyId=key_id)["PublicKey"])
