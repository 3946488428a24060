"""Signed checkpoints in the Object-Lock bucket, and the verifier that checks the log against them
with the public key only (also as ``python -m shared.audit.verify``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import psycopg
import pytest

from functions.audit_checkpoint import handler
from infra_cdk.local.apigw import FakeLambdaContext
from infra_cdk.local.resources import REGION
from shared.audit import AuditRecorder
from shared.audit.canonical import ChainedEntry, canonical_bytes, chain_hash
from shared.audit.checkpoint import CheckpointStore, load_public_key
from shared.audit.verify import main as verify_main
from shared.audit.verify import verify
from shared.db import pool as db_pool
from tests.integration.audit.conftest import RETENTION_DAYS, AuditAws, append, entry

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[3] / "events" / "audit_checkpoint" / "scheduled.json"
TENANTS = ("t-alpha", "t-beta")


@pytest.fixture
def run_checkpoint(audit_aws: AuditAws) -> Iterator[Any]:
    handler.deps.cache_clear()

    def run() -> dict[str, Any]:
        return handler.lambda_handler(json.loads(SAMPLE.read_text()), FakeLambdaContext())

    yield run
    handler.deps.cache_clear()
    db_pool.close_all()


def verify_all(url: str, aws: AuditAws, tenant: str | None = None) -> Any:
    store = CheckpointStore(boto3.client("s3", region_name=REGION), aws.bucket)
    with psycopg.connect(url) as conn:
        return verify(conn, store, load_public_key(aws.public_key_der), tenant)


def as_attacker(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql, params)


def test_the_sample_event_writes_a_signed_checkpoint_under_compliance_retention(
    run_checkpoint: Any, audit_aws: AuditAws, audit_url: str
) -> None:
    # Given two tenants' chains
    for t in TENANTS:
        append(audit_url, t, 3)
    # When the schedule fires
    result = run_checkpoint()
    # Then checkpoint 1 holds both heads, is locked in compliance mode, and verifies
    assert result == {
        "written": True,
        "number": 1,
        "key": "audit-checkpoints/000000000001.json",
        "tenants": 2,
    }
    s3 = boto3.client("s3", region_name=REGION)
    head = s3.head_object(Bucket=audit_aws.bucket, Key=result["key"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    doc = json.loads(s3.get_object(Bucket=audit_aws.bucket, Key=result["key"])["Body"].read())["document"]
    assert [(h["tenant_id"], h["seq"]) for h in doc["heads"]] == [("t-alpha", 3), ("t-beta", 3)]
    assert doc["prev_checkpoint_sha256"] is None
    assert (head["ObjectLockRetainUntilDate"] - head["LastModified"]).days in (
        RETENTION_DAYS - 1,
        RETENTION_DAYS,
    )
    report = verify_all(audit_url, audit_aws)
    assert report.ok
    assert (report.checked, report.checkpoints) == (6, 1)


def test_checkpoints_are_chained_and_skipped_when_nothing_changed(
    run_checkpoint: Any, audit_aws: AuditAws, audit_url: str
) -> None:
    # Given a checkpoint of a chain
    append(audit_url, "t-alpha", 2)
    first = run_checkpoint()
    # When the schedule fires again without new entries, then after new ones
    unchanged = run_checkpoint()
    append(audit_url, "t-alpha", 1)
    second = run_checkpoint()
    # Then the idle run writes nothing and the next checkpoint names its predecessor
    assert (first["number"], unchanged["written"], second["number"]) == (1, False, 2)
    store = CheckpointStore(boto3.client("s3", region_name=REGION), audit_aws.bucket)
    cps = [json.loads(body)["document"] for _, body in store.all()]
    assert cps[1]["prev_checkpoint_sha256"] is not None
    assert verify_all(audit_url, audit_aws).ok


@pytest.mark.parametrize("deleted", ["tail", "whole_chain"])
def test_truncation_older_than_the_last_checkpoint_is_detected(
    run_checkpoint: Any, audit_aws: AuditAws, audit_url: str, deleted: str
) -> None:
    # Given a checkpointed chain of six entries, then its tail (or all of it) deleted
    append(audit_url, "t-alpha", 6)
    append(audit_url, "t-beta", 2)
    run_checkpoint()
    cut = 5 if deleted == "tail" else 1
    as_attacker(audit_url, "DELETE FROM audit_log WHERE tenant_id = 't-alpha' AND seq >= %s", (cut,))
    # When the log is verified (hashes alone would pass: what remains is a valid chain)
    report = verify_all(audit_url, audit_aws)
    # Then the truncation is reported
    assert [(p.kind, p.tenant_id, p.seq) for p in report.problems] == [("truncated", "t-alpha", cut)]


def test_a_rewritten_and_rehashed_chain_contradicts_the_checkpoint(
    run_checkpoint: Any, audit_aws: AuditAws, audit_url: str
) -> None:
    # Given a checkpointed chain whose entry 2 an attacker rewrote, re-hashing everything after it
    append(audit_url, "t-alpha", 4)
    run_checkpoint()
    with psycopg.connect(audit_url) as conn:
        rows = conn.execute(
            "SELECT tenant_id, seq, format, ts, actor_type, actor_id, action, resource, subject_ref, purpose,"
            " outcome, request_id, detail_enc, prev_hash, hash FROM audit_log WHERE tenant_id = 't-alpha'"
            " ORDER BY seq"
        ).fetchall()
    prev = bytes(rows[0][14])
    for r in rows[1:]:
        e = ChainedEntry(*r[:12], r[12], prev, b"")
        if e.seq == 2:
            e = ChainedEntry(*r[:5], "someone-else", *r[6:12], r[12], prev, b"")
        digest = chain_hash(canonical_bytes(e), prev)
        as_attacker(
            audit_url,
            "UPDATE audit_log SET actor_id = %s, prev_hash = %s, hash = %s WHERE tenant_id = 't-alpha' AND seq = %s",
            (e.actor_id, prev, digest, e.seq),
        )
        prev = digest
    # When the log is verified
    report = verify_all(audit_url, audit_aws)
    # Then the hashes agree with each other but not with the signed head
    assert [(p.kind, p.seq) for p in report.problems] == [("checkpoint_mismatch", 4)]


def test_the_offline_verifier_cli_checks_with_the_public_key_only(
    run_checkpoint: Any,
    audit_aws: AuditAws,
    audit_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a checkpointed log and the public key in a file
    append(audit_url, "t-alpha", 3)
    run_checkpoint()
    key_file = tmp_path / "audit-signing.der"
    key_file.write_bytes(audit_aws.public_key_der)
    args = ["--database-url", audit_url, "--bucket", audit_aws.bucket]
    capsys.readouterr()
    # When the CLI verifies it (with the key file, and with the key fetched from KMS)
    ok_file = verify_main([*args, "--public-key", str(key_file)])
    first_output = json.loads(capsys.readouterr().out)
    ok_kms = verify_main([*args, "--kms-key-id", audit_aws.key_id, "--tenant", "t-alpha"])
    capsys.readouterr()
    # and again after one entry was altered
    as_attacker(audit_url, "UPDATE audit_log SET outcome = 'denied' WHERE tenant_id = 't-alpha' AND seq = 2")
    bad = verify_main([*args, "--public-key", str(key_file)])
    bad_output = json.loads(capsys.readouterr().out)
    # Then it exits 0 for the intact log and 1 naming the altered entry
    assert (ok_file, ok_kms, bad) == (0, 0, 1)
    assert first_output["ok"] is True
    assert (bad_output["ok"], bad_output["first_bad_seq"]) == (False, 2)


def test_checkpoint_role_is_enough_to_read_the_heads(connect_as: Any, pg_url: str, tenant: str) -> None:
    # Given an entry in the shared database
    with psycopg.connect(pg_url) as conn:
        AuditRecorder().record(conn, entry(tenant))
    # When the checkpoint's role reads the chain heads
    from shared.audit.checkpoint import chain_heads

    heads = chain_heads(connect_as("wm_audit_checkpoint"))
    # Then the tenant's head is among them
    assert any(h.tenant_id == tenant and h.seq == 1 for h in heads)
