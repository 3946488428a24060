"""The canonical form is fixed byte for byte (format 1), injective, and rejects what it cannot pin down."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.audit.canonical import GENESIS_HASH, ChainedEntry, canonical_bytes, chain_hash, expected_hash

ENTRY = ChainedEntry(
    tenant_id="t-1", seq=1, format=1, ts=datetime(2026, 12, 4, 17, 0, 0, 123456, tzinfo=UTC),
    actor_type="user", actor_id="manager-7", action="analytics.employee_daily.read",
    resource="analytics/employee_daily", subject_ref=uuid.UUID(int=1), purpose="team_management",
    outcome="allowed", request_id="req-1", detail_enc=b"\x01\x02", prev_hash=GENESIS_HASH, hash=b"",
)  # fmt: skip


def test_the_format_1_encoding_is_pinned_byte_for_byte() -> None:
    # Given an entry
    # When it is serialised
    out = canonical_bytes(ENTRY)

    # Then the bytes are exactly the documented layout (other implementations can rebuild them)
    def f(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    expected = b"WMAUDIT\x01" + b"".join(
        f(x) for x in (b"t-1", b"1", b"2026-12-04T17:00:00.123456Z", b"user", b"manager-7",
                       b"analytics.employee_daily.read", b"analytics/employee_daily", uuid.UUID(int=1).bytes,
                       b"team_management", b"allowed", b"req-1", b"\x01\x02")
    )  # fmt: skip
    assert out == expected
    assert chain_hash(out, GENESIS_HASH) == hashlib.sha256(expected + bytes(32)).digest()


def test_the_same_instant_in_another_time_zone_serialises_the_same() -> None:
    # Given the same instant expressed at UTC+2
    local = replace(ENTRY, ts=ENTRY.ts.astimezone(timezone(timedelta(hours=2))))
    # When / Then the canonical bytes are identical
    assert canonical_bytes(local) == canonical_bytes(ENTRY)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"actor_id": "ab", "action": "c"}, {"actor_id": "a", "action": "bc"}),
        ({"detail_enc": None}, {"detail_enc": b""}),
        ({"subject_ref": None}, {"subject_ref": uuid.UUID(int=0)}),
    ],
    ids=["moved_boundary", "null_vs_empty_bytes", "null_vs_zero_uuid"],
)
def test_different_entries_never_share_a_canonical_form(a: dict[str, object], b: dict[str, object]) -> None:
    # Given two entries that a naive concatenation would confuse
    # When / Then their canonical forms differ
    assert canonical_bytes(replace(ENTRY, **a)) != canonical_bytes(replace(ENTRY, **b))  # type: ignore[arg-type]


def test_the_hash_covers_the_predecessor() -> None:
    # Given the same entry after two different predecessors
    # When / Then the hashes differ
    assert expected_hash(ENTRY) != expected_hash(replace(ENTRY, prev_hash=b"\x01" * 32))


def test_naive_timestamps_and_unknown_formats_are_refused() -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="timezone"):
        canonical_bytes(replace(ENTRY, ts=datetime(2026, 1, 1)))
    with pytest.raises(ValueError, match="format"):
        canonical_bytes(replace(ENTRY, format=2))
