"""The user pool's signing keys (JWKS), cached per container and refetched sparingly.

A token with an unknown ``kid`` can trigger at most one refetch per ``min_refetch_interval_s``, so a
flood of forged tokens with random ``kid`` values costs one HTTPS call, not one per request. When
the keys cannot be had, verification fails closed (401), never open.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Protocol

import jwt

from shared.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable

ALGORITHM = "RS256"


class JwksUnavailable(Exception):
    """The JWKS document could not be fetched or parsed."""


class JwksSource(Protocol):
    def fetch(self) -> dict[str, Any]:
        """The JWKS document (``{"keys": [...]}``); raises ``JwksUnavailable``."""
        ...


class HttpJwksSource:
    """Fetches the pool's ``/.well-known/jwks.json`` over HTTPS with the standard library (no
    third-party HTTP client on the cold-start path)."""

    def __init__(self, url: str, timeout_s: float = 3.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the JWKS URL must be http(s)")
        self.url = url
        self._timeout_s = timeout_s

    def _get(self) -> bytes:
        import urllib.request

        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=self._timeout_s) as resp:  # noqa: S310
            body: bytes = resp.read(1_000_000)
            return body

    def fetch(self) -> dict[str, Any]:
        try:
            doc = json.loads(self._get())
        except (OSError, ValueError) as err:
            raise JwksUnavailable(str(err)) from err
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
            raise JwksUnavailable("the JWKS document has no key list")
        return doc


def cognito_issuer(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def cognito_jwks_url(issuer: str) -> str:
    return f"{issuer}/.well-known/jwks.json"


def _parse_keys(doc: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in doc.get("keys", []):
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        # Only RSA signing keys are usable; a key that declares another algorithm is skipped.
        if not isinstance(kid, str) or jwk.get("kty") != "RSA" or jwk.get("alg", ALGORITHM) != ALGORITHM:
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = jwt.PyJWK(jwk, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            logger.warning("skipping an unreadable JWKS key", extra={"kid": kid})
    return keys


class JwksCache:
    """Signing keys by ``kid``; refetches on an unknown ``kid`` at most once per interval."""

    def __init__(
        self,
        source: JwksSource,
        min_refetch_interval_s: float = 300.0,
        retry_after_failure_s: float = 5.0,
        max_age_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._interval = min_refetch_interval_s
        self._retry_after_failure = retry_after_failure_s
        self._max_age = max_age_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._next_fetch_at: float | None = None
        self.fetches = 0

    def key_for(self, kid: str) -> jwt.PyJWK | None:
        """The key with this ``kid``, or ``None`` (unknown, or the keys cannot be had: fail closed).

        Known keys are trusted for ``max_age_s``; then the set is refetched, so a key the pool has
        withdrawn stops being accepted. If that refetch fails, the keys already known stay in use
        until the next attempt (the set never grows without a successful fetch)."""
        now = self._clock()
        key = self._keys.get(kid)
        may_fetch = self._next_fetch_at is None or now >= self._next_fetch_at
        stale = self._fetched_at is not None and now - self._fetched_at > self._max_age
        if key is not None and not (stale and may_fetch):
            return key
        if not may_fetch:
            return None
        self.fetches += 1
        try:
            doc = self._source.fetch()
        except JwksUnavailable as err:
            self._next_fetch_at = now + self._retry_after_failure
            logger.error("JWKS unavailable", extra={"security_event": True, "error": str(err)})
            return key
        self._next_fetch_at = now + self._interval
        fetched = _parse_keys(doc)
        if fetched:
            self._keys = fetched
            self._fetched_at = now
        return self._keys.get(kid)
