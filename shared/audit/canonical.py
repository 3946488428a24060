"""Canonical serialisation of an audit entry and the chain hash (format 1).

The canonical form is a byte string that any language can rebuild from a row of ``audit_log``:

    b"WMAUDIT" || u8(format=1)
    || field(tenant_id) || field(seq) || field(ts) || field(actor_type) || field(actor_id)
    || field(action) || field(resource) || field(subject_ref) || field(purpose)
    || field(outcome) || field(request_id) || field(detail_enc)

    field(v) = u32_be(len(bytes(v))) || bytes(v), or u32_be(0xFFFFFFFF) for NULL
    bytes(text)        = UTF-8
    bytes(seq)         = decimal ASCII, no sign, no leading zeros
    bytes(ts)          = "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, always six fractional digits)
    bytes(subject_ref) = the UUID's 16 raw bytes
    bytes(detail_enc)  = the ciphertext as stored (never the plaintext)

    hash = SHA-256(canonical || prev_hash);  prev_hash of seq 1 = 32 zero bytes

Length prefixes make the encoding injective (no separator can be smuggled inside a field), and
the fixed order means no key sorting or number formatting rules to get wrong. A new format
gets a new number; old rows keep verifying under the format they were written with.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uuid

FORMAT_V1 = 1
MAGIC = b"WMAUDIT"
GENESIS_HASH = bytes(32)
_NULL = struct.pack(">I", 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    """One row of ``audit_log`` exactly as stored (what the hash covers, plus the hashes)."""

    tenant_id: str
    seq: int
    format: int
    ts: datetime
    actor_type: str
    actor_id: str
    action: str
    resource: str
    subject_ref: uuid.UUID | None
    purpose: str
    outcome: str
    request_id: str
    detail_enc: bytes | None
    prev_hash: bytes
    hash: bytes


def format_ts(ts: datetime) -> str:
    """RFC 3339 UTC with microseconds, the precision PostgreSQL keeps."""
    if ts.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _field(value: bytes | None) -> bytes:
    if value is None:
        return _NULL
    return struct.pack(">I", len(value)) + value


def canonical_bytes(e: ChainedEntry) -> bytes:
    """The canonical form of an entry (format 1); raises ``ValueError`` for an unknown format."""
    if e.format != FORMAT_V1:
        raise ValueError(f"unknown audit entry format {e.format}")
    parts = (
        e.tenant_id.encode(),
        str(e.seq).encode(),
        format_ts(e.ts).encode(),
        e.actor_type.encode(),
        e.actor_id.encode(),
        e.action.encode(),
        e.resource.encode(),
        e.subject_ref.bytes if e.subject_ref is not None else None,
        e.purpose.encode(),
        e.outcome.encode(),
        e.request_id.encode(),
        e.detail_enc,
    )
    return MAGIC + bytes((e.format,)) + b"".join(_field(p) for p in parts)


def chain_hash(canonical: bytes, prev_hash: bytes) -> bytes:
    """``SHA-256(canonical || prev_hash)``."""
    return hashlib.sha256(canonical + prev_hash).digest()


def expected_hash(e: ChainedEntry) -> bytes:
    """The hash this entry must carry given its own content and its ``prev_hash``."""
    return chain_hash(canonical_bytes(e), e.prev_hash)
