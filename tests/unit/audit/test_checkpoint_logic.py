"""Checkpoint use case with fakes: numbering, chaining, idle runs, races; signatures checked
with the public key only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from functions.audit_checkpoint.logic import write_checkpoint
from shared.audit.checkpoint import ChainHead, CheckpointConflict, SignedCheckpoint, load_public_key
from shared.audit.verify import VerifyReport, verify_checkpoints

NOW = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


class LocalSigner:
    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = "local"

    def public_key_der(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message, ec.ECDSA(hashes.SHA256()))


class MemoryStore:
    def __init__(self, conflicts: int = 0) -> None:
        self.objects: list[SignedCheckpoint] = []
        self.conflicts = conflicts
        self.retain_until: list[datetime | None] = []

    def latest(self) -> SignedCheckpoint | None:
        return self.objects[-1] if self.objects else None

    def put(self, signed: SignedCheckpoint, retain_until: datetime | None) -> str:
        if self.conflicts:
            self.conflicts -= 1
            self.objects.append(SignedCheckpoint.from_json(signed.to_json()))  # the other run won
            raise CheckpointConflict()
        self.objects.append(signed)
        self.retain_until.append(retain_until)
        return f"audit-checkpoints/{signed.checkpoint.number:012d}.json"

    def bodies(self) -> list[tuple[str, bytes]]:
        return [(f"{i:012d}.json", s.to_json()) for i, s in enumerate(self.objects, 1)]


class Heads:
    def __init__(self, *heads: ChainHead) -> None:
        self.current = list(heads)

    def heads(self) -> list[ChainHead]:
        return list(self.current)


def head(tenant: str, seq: int) -> ChainHead:
    return ChainHead(tenant, seq, bytes([seq]) * 32)


def test_checkpoints_chain_to_each_other_and_verify_with_the_public_key() -> None:
    # Given chain heads that move on between two runs
    heads, store, signer = Heads(head("t-a", 3)), MemoryStore(), LocalSigner()
    first = write_checkpoint(heads, store, signer, NOW, timedelta(days=7))
    heads.current.append(head("t-b", 1))
    second = write_checkpoint(heads, store, signer, NOW + timedelta(hours=1), timedelta(days=7))
    # When the bucket's checkpoints are verified with the public key
    report = VerifyReport()
    verify_checkpoints(store.bodies(), load_public_key(signer.public_key_der()), report)
    # Then they are numbered, chained, retained and valid
    assert (first.number, second.number) == (1, 2)
    assert store.objects[1].checkpoint.prev_digest == store.objects[0].checkpoint.digest()
    assert store.retain_until[0] == NOW + timedelta(days=7)
    assert report.ok


def test_an_idle_run_writes_nothing() -> None:
    # Given a checkpoint of the current heads
    heads, store, signer = Heads(head("t-a", 3)), MemoryStore(), LocalSigner()
    write_checkpoint(heads, store, signer, NOW, timedelta(days=1))
    # When the schedule fires again with no new entries
    result = write_checkpoint(heads, store, signer, NOW, timedelta(days=1))
    # Then nothing is written
    assert (result.written, len(store.objects)) == (False, 1)


def test_a_run_that_loses_the_race_chains_after_the_winner() -> None:
    # Given another run that writes the same number first
    heads, store, signer = Heads(head("t-a", 3)), MemoryStore(conflicts=1), LocalSigner()
    heads.current = [head("t-a", 3)]
    # When this run writes (heads moved on meanwhile, so it has something to add)
    original = heads.heads

    def moving() -> list[ChainHead]:
        return original() if not store.objects else [head("t-a", 4)]

    heads.heads = moving  # type: ignore[method-assign]
    result = write_checkpoint(heads, store, signer, NOW, timedelta(days=1))
    # Then it retries as the next number
    assert result.number == 2
    assert store.objects[1].checkpoint.prev_digest == store.objects[0].checkpoint.digest()


@pytest.mark.parametrize("attack", ["edited_head", "removed_checkpoint", "other_key", "reordered"])
def test_any_change_to_the_checkpoints_is_detected(attack: str) -> None:
    # Given three valid checkpoints
    heads, store, signer = Heads(head("t-a", 1)), MemoryStore(), LocalSigner()
    for seq in (1, 2, 3):
        heads.current = [head("t-a", seq)]
        write_checkpoint(heads, store, signer, NOW, timedelta(days=1))
    bodies = store.bodies()
    # When an attacker changes them
    if attack == "edited_head":
        doc = json.loads(bodies[1][1])
        doc["document"]["heads"][0]["seq"] = 1
        bodies[1] = (bodies[1][0], json.dumps(doc).encode())
    elif attack == "removed_checkpoint":
        del bodies[1]
    elif attack == "other_key":
        forger = LocalSigner()
        forged = SignedCheckpoint(
            store.objects[1].checkpoint, forger.sign(store.objects[1].checkpoint.signing_message())
        )
        bodies[1] = (bodies[1][0], forged.to_json())
    else:
        bodies[1], bodies[2] = bodies[2], bodies[1]
    report = VerifyReport()
    verify_checkpoints(bodies, load_public_key(signer.public_key_der()), report)
    # Then verification fails
    assert not report.ok
