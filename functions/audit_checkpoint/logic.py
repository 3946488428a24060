"""Checkpoint use case: sign every tenant chain's head and append the checkpoint to the bucket.

Each checkpoint names its predecessor's digest, so the bucket holds a chain of signed
statements; a chain head that a checkpoint has seen can never silently disappear from the log
(the verifier reports it as truncation). Nothing changed since the last checkpoint: nothing is
written. Two runs racing for the same number: the loser re-reads and chains after the winner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shared.audit.checkpoint import (
    ChainHead,
    Checkpoint,
    CheckpointConflict,
    SignedCheckpoint,
    Signer,
    load_public_key,
    public_key_fingerprint,
)

if TYPE_CHECKING:
    from datetime import datetime, timedelta

_ATTEMPTS = 3


class HeadSource(Protocol):
    def heads(self) -> list[ChainHead]: ...


class CheckpointRepository(Protocol):
    def latest(self) -> SignedCheckpoint | None: ...

    def put(self, signed: SignedCheckpoint, retain_until: datetime | None) -> str: ...


@dataclass(frozen=True)
class CheckpointResult:
    written: bool
    number: int
    key: str | None
    tenants: int

    def as_dict(self) -> dict[str, object]:
        return {"written": self.written, "number": self.number, "key": self.key, "tenants": self.tenants}


def write_checkpoint(
    heads: HeadSource,
    store: CheckpointRepository,
    signer: Signer,
    now: datetime,
    retention: timedelta,
) -> CheckpointResult:
    """Sign the current chain heads as the next checkpoint, unless they are what the last one says."""
    fingerprint = public_key_fingerprint(load_public_key(signer.public_key_der()))
    for attempt in range(_ATTEMPTS):
        current = tuple(heads.heads())
        previous = store.latest()
        if previous is not None and previous.checkpoint.heads == current:
            return CheckpointResult(False, previous.checkpoint.number, None, len(current))
        checkpoint = Checkpoint(
            number=previous.checkpoint.number + 1 if previous else 1,
            created_at=now,
            prev_digest=previous.checkpoint.digest() if previous else None,
            heads=current,
            key_id=signer.key_id,
            public_key_sha256=fingerprint,
        )
        signed = SignedCheckpoint(checkpoint, signer.sign(checkpoint.signing_message()))
        try:
            key = store.put(signed, now + retention)
        except CheckpointConflict:
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return CheckpointResult(True, checkpoint.number, key, len(current))
    raise AssertionError("unreachable")  # pragma: no cover
