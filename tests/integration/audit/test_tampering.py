"""The verifier passes an untouched chain and finds every kind of change made behind the
application's back (as a superuser with triggers off: the attacker the log is for)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest

from shared.audit.canonical import ChainedEntry, canonical_bytes, chain_hash
from shared.audit.verify import VerifyReport, verify_chains
from tests.integration.audit.conftest import append

pytestmark = pytest.mark.integration

LENGTH = 6
TARGET = 3  # the entry every test tampers with: it has a predecessor and successors


def verify_tenant(url: str, tenant: str) -> VerifyReport:
    report = VerifyReport()
    with psycopg.connect(url) as conn:
        verify_chains(conn, report, tenant_id=tenant)
    return report


def as_attacker(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # superuser: triggers off
        conn.execute(sql, params)


@pytest.fixture
def chain_url(pg_url: str, tenant: str) -> str:
    append(pg_url, tenant, LENGTH)
    return pg_url


def test_an_untouched_chain_verifies(chain_url: str, tenant: str) -> None:
    # Given a chain of six entries with every column filled
    # When it is verified
    report = verify_tenant(chain_url, tenant)
    # Then every entry checks out
    assert report.ok
    assert report.checked == LENGTH


def _flip(value: Any, position: int) -> Any:
    """The value with one byte changed (at ``position``: 0 = first, -1 = last)."""
    if isinstance(value, str):
        raw = bytearray(value.encode())
        raw[position] ^= 0x01
        return raw.decode()
    if isinstance(value, bytes | memoryview):
        raw = bytearray(value)
        raw[position] ^= 0x01
        return bytes(raw)
    if isinstance(value, int):
        return value ^ 0x08 if position == 0 else value ^ 0x10
    if hasattr(value, "microsecond"):
        return value + timedelta(microseconds=1)
    import uuid

    assert isinstance(value, uuid.UUID)
    return uuid.UUID(bytes=bytes(_flip(value.bytes, position)))


COLUMNS = [
    "tenant_id", "seq", "format", "ts", "actor_type", "actor_id", "action", "resource", "subject_ref",
    "purpose", "outcome", "request_id", "detail_enc", "prev_hash", "hash",
]  # fmt: skip


@pytest.mark.parametrize("position", [0, -1], ids=["first_byte", "last_byte"])
@pytest.mark.parametrize("column", COLUMNS)
def test_a_single_byte_change_in_any_column_is_detected(
    chain_url: str, tenant: str, column: str, position: int
) -> None:
    # Given a chain, and one byte of one column of entry 3 changed
    with psycopg.connect(chain_url) as conn:
        value = conn.execute(
            f"SELECT {column} FROM audit_log WHERE tenant_id = %s AND seq = %s",
            (tenant, TARGET),
        ).fetchone()[0]
    as_attacker(
        chain_url,
        f"UPDATE audit_log SET {column} = %s WHERE tenant_id = %s AND seq = %s",
        (_flip(value, position), tenant, TARGET),
    )
    # When the chain is verified
    report = verify_tenant(chain_url, tenant)
    # Then it fails at entry 3
    assert not report.ok
    assert report.first_bad_seq == TARGET, report.problems


@pytest.mark.parametrize("seq", [1, TARGET])
def test_a_deleted_entry_is_detected(chain_url: str, tenant: str, seq: int) -> None:
    # Given a chain with one entry deleted
    as_attacker(chain_url, "DELETE FROM audit_log WHERE tenant_id = %s AND seq = %s", (tenant, seq))
    # When it is verified
    report = verify_tenant(chain_url, tenant)
    # Then the gap is reported where the entry was
    assert [(p.kind, p.seq) for p in report.problems] == [("gap", seq)]


def test_reordered_entries_are_detected(chain_url: str, tenant: str) -> None:
    # Given entries 3 and 4 swapped
    as_attacker(
        chain_url,
        "UPDATE audit_log SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END + 1000"
        " WHERE tenant_id = %s AND seq IN (3, 4)",
        (tenant,),
    )
    as_attacker(
        chain_url, "UPDATE audit_log SET seq = seq - 1000 WHERE tenant_id = %s AND seq > 1000", (tenant,)
    )
    # When the chain is verified
    report = verify_tenant(chain_url, tenant)
    # Then it fails at the first swapped entry
    assert report.first_bad_seq == TARGET
    assert {p.kind for p in report.problems} >= {"hash_mismatch", "broken_link"}


def test_an_inserted_entry_is_detected_even_when_correctly_hashed(chain_url: str, tenant: str) -> None:
    # Given a forged entry inserted after entry 2, hashed correctly onto it, later entries renumbered
    with psycopg.connect(chain_url) as conn:
        row = conn.execute(
            "SELECT tenant_id, seq, format, ts, actor_type, actor_id, action, resource, subject_ref, purpose,"
            " outcome, request_id, detail_enc, prev_hash, hash FROM audit_log WHERE tenant_id = %s AND seq = 2",
            (tenant,),
        ).fetchone()
    prev = bytes(row[14])
    forged = ChainedEntry(
        tenant, TARGET, 1, row[3], "user", "intruder", "analytics.employee_daily.read",
        "analytics/employee_daily", None, "team_management", "allowed", "forged", None, prev, b"",
    )  # fmt: skip
    digest = chain_hash(canonical_bytes(forged), prev)
    as_attacker(
        chain_url, "UPDATE audit_log SET seq = seq + 1000 WHERE tenant_id = %s AND seq >= 3", (tenant,)
    )
    as_attacker(
        chain_url, "UPDATE audit_log SET seq = seq - 999 WHERE tenant_id = %s AND seq > 1000", (tenant,)
    )
    as_attacker(
        chain_url,
        "INSERT INTO audit_log VALUES (%s, %s, 1, %s, 'user', 'intruder', 'analytics.employee_daily.read',"
        " 'analytics/employee_daily', NULL, 'team_management', 'allowed', 'forged', NULL, %s, %s)",
        (tenant, TARGET, row[3], prev, digest),
    )
    # When the chain is verified
    report = verify_tenant(chain_url, tenant)
    # Then the entry after the forged one no longer links or hashes
    assert not report.ok
    assert report.first_bad_seq == TARGET + 1
