"""Verify the audit log: every hash, every link, no gaps, and the signed checkpoints.

What it proves, per tenant chain:
- every row's ``hash`` is ``SHA-256(canonical row || prev_hash)`` (any changed byte of any
  covered column shows up), each ``prev_hash`` is its predecessor's ``hash`` and ``seq`` runs
  1, 2, 3, ... without a gap (a deleted, inserted or reordered row shows up);
- every checkpoint is signed by the pinned public key, the checkpoints form an unbroken chain
  (numbers 1..n, each naming its predecessor's digest), and each checkpointed head is still in
  the log with the same hash (a truncated or rewritten chain shows up, up to the last checkpoint).

It needs only read access to ``audit_log``, the bucket, and the PUBLIC key (a PEM/DER file, or
fetched once from KMS ``GetPublicKey``): it never calls KMS to verify.

    python -m shared.audit.verify --database-url postgresql://... --bucket <receipts bucket>
        (--public-key key.pem | --kms-key-id <arn>) [--tenant <id>] [--prefix audit-checkpoints/]

Exit status 0 when everything verifies, 1 otherwise; the report is JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.audit.canonical import GENESIS_HASH, ChainedEntry, expected_hash
from shared.audit.checkpoint import (
    CheckpointStore,
    SignedCheckpoint,
    load_public_key,
    public_key_fingerprint,
    signature_valid,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import psycopg
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

_COLUMNS = (
    "tenant_id, seq, format, ts, actor_type, actor_id, action, resource, subject_ref, purpose,"
    " outcome, request_id, detail_enc, prev_hash, hash"
)


@dataclass(frozen=True)
class Problem:
    kind: str  # hash_mismatch | broken_link | gap | truncated | checkpoint_*
    tenant_id: str | None
    seq: int | None
    detail: str


@dataclass
class VerifyReport:
    checked: int = 0
    tenants: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "checked": self.checked,
            "tenants": self.tenants,
            "checkpoints": self.checkpoints,
            "problems": [asdict(p) for p in self.problems],
        }
        if self.first_bad_seq is not None:
            out["first_bad_seq"] = self.first_bad_seq
        return out


def verify_checkpoints(
    objects: Iterable[tuple[str, bytes]],
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    report: VerifyReport,
    *,
    partial: bool = False,
) -> list[SignedCheckpoint]:
    """Check signatures and the checkpoint chain; returns the checkpoints that parsed, in order.

    ``partial``: the objects are the newest part of the chain (the API checks only the latest);
    the first one is then not required to be checkpoint 1.
    """
    fingerprint = public_key_fingerprint(public_key)
    parsed: list[SignedCheckpoint] = []
    prev: SignedCheckpoint | None = None
    for key, body in objects:
        report.checkpoints += 1
        try:
            signed = SignedCheckpoint.from_json(body)
        except (ValueError, KeyError, TypeError) as err:
            report.problems.append(Problem("checkpoint_unreadable", None, None, f"{key}: {err}"))
            continue
        cp = signed.checkpoint
        if cp.public_key_sha256 != fingerprint:
            report.problems.append(
                Problem("checkpoint_key", None, None, f"{key}: signed with another key ({cp.key_id})")
            )
        elif not signature_valid(public_key, signed):
            report.problems.append(Problem("checkpoint_signature", None, None, f"{key}: signature invalid"))
        if prev is None:
            expected_number = cp.number if partial else 1
            expected_prev = cp.prev_digest if partial else None
        else:
            expected_number = prev.checkpoint.number + 1
            expected_prev = prev.checkpoint.digest()
        if cp.number != expected_number or cp.prev_digest != expected_prev:
            report.problems.append(
                Problem(
                    "checkpoint_chain", None, None,
                    f"{key}: checkpoint {cp.number} does not follow checkpoint {expected_number - 1}",
                )
            )  # fmt: skip
        parsed.append(signed)
        prev = signed
    return parsed


def _rows(conn: psycopg.Connection[Any], tenant_id: str | None) -> Iterable[ChainedEntry]:
    where, params = ("WHERE tenant_id = %s", (tenant_id,)) if tenant_id else ("", ())
    with conn.transaction(), conn.cursor(name="audit_verify") as cur:
        cur.itersize = 5_000
        cur.execute(f"SELECT {_COLUMNS} FROM audit_log {where} ORDER BY tenant_id, seq", params)  # noqa: S608
        for r in cur:
            yield ChainedEntry(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                bytes(r[12]) if r[12] is not None else None, bytes(r[13]), bytes(r[14]),
            )  # fmt: skip


def verify_chains(
    conn: psycopg.Connection[Any],
    report: VerifyReport,
    checkpoints: list[SignedCheckpoint] | None = None,
    tenant_id: str | None = None,
) -> None:
    """Recompute every hash of every chain (or one tenant's), check links, gaps and checkpointed heads."""
    pinned: dict[tuple[str, int], bytes] = {}
    for signed in checkpoints or []:
        for head in signed.checkpoint.heads:
            if tenant_id is None or head.tenant_id == tenant_id:
                pinned.setdefault((head.tenant_id, head.seq), head.hash)
    last_seq: dict[str, int] = {}
    prev_hash = GENESIS_HASH
    current: str | None = None
    for e in _rows(conn, tenant_id):
        report.checked += 1
        if e.tenant_id != current:
            current, prev_hash = e.tenant_id, GENESIS_HASH
            report.tenants += 1
        expected_seq = last_seq.get(e.tenant_id, 0) + 1
        if e.seq != expected_seq:
            report.problems.append(
                Problem("gap", e.tenant_id, expected_seq, f"entries {expected_seq}..{e.seq - 1} are missing")
            )
        elif e.prev_hash != prev_hash:
            report.problems.append(
                Problem("broken_link", e.tenant_id, e.seq, "prev_hash is not the predecessor's hash")
            )
        try:
            if expected_hash(e) != e.hash:
                report.problems.append(
                    Problem("hash_mismatch", e.tenant_id, e.seq, "content does not match hash")
                )
        except ValueError as err:
            report.problems.append(Problem("hash_mismatch", e.tenant_id, e.seq, str(err)))
        pinned_hash = pinned.get((e.tenant_id, e.seq))
        if pinned_hash is not None and pinned_hash != e.hash:
            report.problems.append(
                Problem("checkpoint_mismatch", e.tenant_id, e.seq, "differs from the signed checkpoint")
            )
        last_seq[e.tenant_id] = e.seq
        prev_hash = e.hash
    for (tenant, seq), _ in sorted(pinned.items()):
        if last_seq.get(tenant, 0) < seq:
            report.problems.append(
                Problem(
                    "truncated", tenant, last_seq.get(tenant, 0) + 1,
                    f"a signed checkpoint saw entry {seq}; the log ends at {last_seq.get(tenant, 0)}",
                )
            )  # fmt: skip
            last_seq[tenant] = seq  # one problem per tenant, not one per checkpoint


def verify(
    conn: psycopg.Connection[Any],
    store: CheckpointStore | None = None,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | None = None,
    tenant_id: str | None = None,
    *,
    latest_checkpoint_only: bool = False,
) -> VerifyReport:
    """The whole verification; with a ``store`` the ``public_key`` is required (it is never
    taken from the bucket). ``latest_checkpoint_only`` checks the newest checkpoint's signature
    and heads (one S3 read: for the API), not the whole checkpoint chain (the offline CLI does)."""
    report = VerifyReport()
    checkpoints: list[SignedCheckpoint] = []
    if store is not None:
        if public_key is None:
            raise ValueError("checkpoints are verified against a pinned public key")
        objects = store.latest_object() if latest_checkpoint_only else store.all()
        checkpoints = verify_checkpoints(objects, public_key, report, partial=latest_checkpoint_only)
    verify_chains(conn, report, checkpoints, tenant_id)
    return report


def main(argv: list[str] | None = None) -> int:
    from shared import aws
    from shared.audit.checkpoint import DEFAULT_PREFIX, kms_public_key
    from shared.db.pool import connect
    from shared.settings import DbSettings

    parser = argparse.ArgumentParser(prog="python -m shared.audit.verify", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="defaults to DATABASE_URL / DB_* settings")
    parser.add_argument("--bucket", help="the Object-Lock bucket holding the checkpoints")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--public-key", type=Path, help="PEM or DER public key of the signing key")
    parser.add_argument("--kms-key-id", help="fetch the public key once from KMS GetPublicKey")
    parser.add_argument("--tenant", help="verify one tenant's chain only")
    args = parser.parse_args(argv)

    key = None
    if args.bucket:
        if args.public_key:
            key = load_public_key(args.public_key.read_bytes())
        elif args.kms_key_id:
            key = load_public_key(kms_public_key(aws.kms(), args.kms_key_id))
        else:
            parser.error("--bucket needs --public-key or --kms-key-id")
    store = CheckpointStore(aws.s3(), args.bucket, args.prefix) if args.bucket else None
    settings = DbSettings(database_url=args.database_url) if args.database_url else DbSettings()
    with connect(settings) as conn:
        report = verify(conn, store, key, args.tenant)
    print(json.dumps(report.to_dict(), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
