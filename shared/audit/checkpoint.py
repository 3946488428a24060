"""Signed checkpoints of the audit chains, kept in the Object-Lock bucket.

A checkpoint states every tenant chain's head ``(tenant_id, seq, hash)`` at one moment and is
chained to the previous checkpoint by that checkpoint's document digest, like CloudTrail's
digest files. The document is canonical JSON (sorted keys, no whitespace, ASCII), its digest
``SHA-256(document)``; the KMS asymmetric key signs the message
``b"wm-audit-checkpoint/1\\n" + hex(digest)`` (``MessageType=RAW``: short, whatever the number
of tenants). Anyone holding only the public key can check it, offline.

S3 object ``<prefix><number:012d>.json`` = ``{"document": {...}, "signature": base64,
"signing_algorithm": "ECDSA_SHA_256"}``; written once (``If-None-Match: *``) under a
compliance-mode retention, so not even the account root can replace or delete it in time.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from shared.audit.canonical import format_ts
from shared.errors import Conflict, DependencyUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterator

    import psycopg
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client

FORMAT = "wm-audit-checkpoint/1"
DEFAULT_PREFIX = "audit-checkpoints/"
SIGNING_ALGORITHM: Final = "ECDSA_SHA_256"
_RSA_ALGORITHMS = {"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256"}

# Every tenant's head without scanning the whole log: a skip scan over the primary key.
HEADS_SQL = """
WITH RECURSIVE tenants AS (
    SELECT min(tenant_id) AS tenant_id FROM audit_log
    UNION ALL
    SELECT (SELECT min(a.tenant_id) FROM audit_log a WHERE a.tenant_id > t.tenant_id)
    FROM tenants t WHERE t.tenant_id IS NOT NULL
)
SELECT h.tenant_id, h.seq, h.hash
FROM tenants t
CROSS JOIN LATERAL (
    SELECT a.tenant_id, a.seq, a.hash FROM audit_log a
    WHERE a.tenant_id = t.tenant_id ORDER BY a.seq DESC LIMIT 1
) h
ORDER BY h.tenant_id
"""


class CheckpointConflict(Conflict):
    """Another run wrote this checkpoint number first."""

    default_message = "A checkpoint with this number already exists."


@dataclass(frozen=True, slots=True)
class ChainHead:
    tenant_id: str
    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement: chain heads at ``created_at``, chained to checkpoint ``number - 1``."""

    number: int
    created_at: datetime
    prev_digest: str | None
    heads: tuple[ChainHead, ...]
    key_id: str
    public_key_sha256: str

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "number": self.number,
            "created_at": format_ts(self.created_at),
            "prev_checkpoint_sha256": self.prev_digest,
            "key_id": self.key_id,
            "public_key_sha256": self.public_key_sha256,
            "heads": [{"tenant_id": h.tenant_id, "seq": h.seq, "hash": h.hash.hex()} for h in self.heads],
        }

    def document_bytes(self) -> bytes:
        return canonical_json(self.document())

    def digest(self) -> str:
        return hashlib.sha256(self.document_bytes()).hexdigest()

    def signing_message(self) -> bytes:
        return f"{FORMAT}\n{self.digest()}".encode()

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Checkpoint:
        if doc.get("format") != FORMAT:
            raise ValueError(f"unknown checkpoint format {doc.get('format')!r}")
        return cls(
            number=int(doc["number"]),
            created_at=datetime.fromisoformat(doc["created_at"]),
            prev_digest=doc["prev_checkpoint_sha256"],
            heads=tuple(
                ChainHead(h["tenant_id"], int(h["seq"]), bytes.fromhex(h["hash"])) for h in doc["heads"]
            ),
            key_id=str(doc["key_id"]),
            public_key_sha256=str(doc["public_key_sha256"]),
        )


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: bytes
    signing_algorithm: str = SIGNING_ALGORITHM

    def to_json(self) -> bytes:
        return canonical_json(
            {
                "document": self.checkpoint.document(),
                "signature": base64.b64encode(self.signature).decode(),
                "signing_algorithm": self.signing_algorithm,
            }
        )

    @classmethod
    def from_json(cls, body: bytes) -> SignedCheckpoint:
        raw = json.loads(body)
        return cls(
            Checkpoint.from_document(raw["document"]),
            base64.b64decode(raw["signature"], validate=True),
            str(raw["signing_algorithm"]),
        )


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_heads(conn: psycopg.Connection[Any]) -> list[ChainHead]:
    """The head of every tenant's chain, in tenant order."""
    return [ChainHead(t, s, bytes(h)) for t, s, h in conn.execute(HEADS_SQL).fetchall()]


def object_key(prefix: str, number: int) -> str:
    return f"{prefix}{number:012d}.json"


# --- signing (KMS) and verifying (public key only) -----------------------------------------
class Signer(Protocol):
    key_id: str

    def public_key_der(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class KmsSigner:
    """Signs with a KMS asymmetric key; the private key never leaves KMS."""

    def __init__(self, client: KMSClient, key_id: str) -> None:
        self._client = client
        self.key_id = key_id
        self._public: bytes | None = None

    def public_key_der(self) -> bytes:
        if self._public is None:
            self._public = kms_public_key(self._client, self.key_id)
        return self._public

    def sign(self, message: bytes) -> bytes:
        try:
            resp = self._client.sign(
                KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM
            )
        except (BotoCoreError, ClientError) as err:
            raise DependencyUnavailable("KMS could not sign the checkpoint.") from err
        return resp["Signature"]


def kms_public_key(client: KMSClient, key_id: str) -> bytes:
    """The key's public half (DER SubjectPublicKeyInfo), fetched once for offline verification."""
    try:
        return client.get_public_key(KeyId=key_id)["PublicKey"]
    except (BotoCoreError, ClientError) as err:
        raise DependencyUnavailable("KMS did not return the public key.") from err


def load_public_key(data: bytes) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """A PEM or DER public key, as KMS GetPublicKey or ``openssl`` gives it."""
    key = (
        serialization.load_pem_public_key(data)
        if data.lstrip().startswith(b"-----")
        else serialization.load_der_public_key(data)
    )
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("the checkpoint key must be an EC or RSA public key")
    return key


def public_key_fingerprint(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def signature_valid(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, signed: SignedCheckpoint) -> bool:
    """Whether ``signed`` carries a valid signature by ``key`` over its own document."""
    message = signed.checkpoint.signing_message()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and signed.signing_algorithm == SIGNING_ALGORITHM:
            key.verify(signed.signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey) and signed.signing_algorithm in _RSA_ALGORITHMS:
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if signed.signing_algorithm == "RSASSA_PKCS1_V1_5_SHA_256"
                else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            )
            key.verify(signed.signature, message, pad, hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


# --- the bucket -----------------------------------------------------------------------------
class CheckpointStore:
    """Checkpoints in S3, one object each, numbered so that key order is checkpoint order."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    def keys(self) -> list[str]:
        try:
            keys: list[str] = []
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=self._prefix
            ):
                keys.extend(obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(".json"))
        except (BotoCoreError, ClientError) as err:
            raise DependencyUnavailable("The checkpoint bucket could not be listed.") from err
        return sorted(keys)

    def read(self, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as err:
            raise DependencyUnavailable(f"Checkpoint {key} could not be read.") from err

    def all(self) -> Iterator[tuple[str, bytes]]:
        for key in self.keys():
            yield key, self.read(key)

    def latest(self) -> SignedCheckpoint | None:
        found = self.latest_object()
        return SignedCheckpoint.from_json(found[0][1]) if found else None

    def latest_object(self) -> list[tuple[str, bytes]]:
        """The newest checkpoint object as ``[(key, body)]``, or ``[]``."""
        keys = self.keys()
        return [(keys[-1], self.read(keys[-1]))] if keys else []

    def put(self, signed: SignedCheckpoint, retain_until: datetime | None) -> str:
        """Write a new checkpoint object; never replaces one (``CheckpointConflict``)."""
        key = object_key(self._prefix, signed.checkpoint.number)
        extra: dict[str, Any] = {}
        if retain_until is not None:
            extra = {
                "ObjectLockMode": "COMPLIANCE",
                "ObjectLockRetainUntilDate": retain_until.astimezone(UTC),
            }
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=signed.to_json(),
                ContentType="application/json",
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
                **extra,
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                raise CheckpointConflict() from err
            raise DependencyUnavailable("The checkpoint could not be written.") from err
        except BotoCoreError as err:
            raise DependencyUnavailable("The checkpoint could not be written.") from err
        return key
