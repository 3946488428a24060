"""Forged and genuine tokens from our own RSA keys, and a JWKS source the tests control."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth.jwks import JwksCache, JwksUnavailable
from shared.auth.tokens import TokenPolicy, TokenUse, TokenVerifier

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TESTPOOL"
CLIENT = "client-admin-api"


@dataclass
class KeyPair:
    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return doc | {"kid": self.kid, "alg": "RS256", "use": "sig"}


class FakeJwks:
    """The pool's JWKS endpoint: counts fetches, can be made to fail."""

    def __init__(self, *keys: KeyPair) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False

    def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.down:
            raise JwksUnavailable("connection refused")
        return {"keys": [k.jwk() for k in self.keys]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claims(token_use: str = "id", **over: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "iss": ISSUER,
        "token_use": token_use,
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "custom:tenant_id": "t-1",
        "cognito:groups": ["manager"],
    }
    base["aud" if token_use == "id" else "client_id"] = CLIENT
    return base | over


def sign(key: KeyPair, payload: dict[str, Any], kid: str | None = None) -> str:
    return jwt.encode(payload, key.private, algorithm="RS256", headers={"kid": kid or key.kid})


@pytest.fixture
def key() -> KeyPair:
    return KeyPair("kid-1")


@pytest.fixture
def jwks(key: KeyPair) -> FakeJwks:
    return FakeJwks(key)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_verifier(jwks: FakeJwks, clock: Clock, token_use: TokenUse = TokenUse.ID) -> TokenVerifier:
    cache = JwksCache(jwks, min_refetch_interval_s=300, retry_after_failure_s=5, clock=clock)
    return TokenVerifier(TokenPolicy(ISSUER, CLIENT, token_use, leeway_s=30), cache)
