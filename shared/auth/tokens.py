"""Cognito bearer-token verification in the function itself.

API Gateway's Cognito authorizer checks the signature and expiry but neither ``client_id`` nor
``token_use``, so every admin function verifies again: RS256 only, the key by ``kid`` from the
pool's JWKS, ``iss``, ``token_use``, the app client (``aud`` for ID tokens, ``client_id`` for
access tokens) and ``exp`` with a small leeway. Any failure is 401 ``unauthenticated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import jwt

from shared.auth.jwks import ALGORITHM
from shared.auth.principal import Principal, principal_from_claims
from shared.errors import Unauthenticated
from shared.observability import logger

if TYPE_CHECKING:
    from shared.auth.jwks import JwksCache

_REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "token_use"]


class TokenUse(StrEnum):
    ID = "id"
    ACCESS = "access"


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    client_id: str
    token_use: TokenUse
    leeway_s: int = 30


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (API Gateway also passes a bare token)."""
    if not authorization:
        raise Unauthenticated()
    scheme, _, rest = authorization.strip().partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else authorization.strip()
    if not token or " " in token:
        raise Unauthenticated()
    return token


def _refuse(reason: str, **extra: Any) -> Unauthenticated:
    logger.warning("token refused: %s", reason, extra={"security_event": True, "reason": reason, **extra})
    return Unauthenticated()


class TokenVerifier:
    """Verifies a Cognito token against one pool and app client and yields its principal."""

    def __init__(self, policy: TokenPolicy, keys: JwksCache) -> None:
        self._policy = policy
        self._keys = keys

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims, or ``Unauthenticated``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise _refuse("malformed token") from err
        if header.get("alg") != ALGORITHM:
            # Refuses alg=none and HS256-with-the-public-key before any key is looked up.
            raise _refuse("algorithm not allowed", alg=str(header.get("alg")))
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refuse("no key id")
        key = self._keys.key_for(kid)
        if key is None:
            raise _refuse("unknown key id")
        p = self._policy
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                issuer=p.issuer,
                leeway=p.leeway_s,
                options={"require": _REQUIRED_CLAIMS, "verify_aud": False},
            )
        except jwt.PyJWTError as err:
            raise _refuse(f"invalid token: {type(err).__name__}") from err
        if claims.get("token_use") != p.token_use.value:
            raise _refuse("wrong token_use", token_use=str(claims.get("token_use")))
        client = claims.get("aud") if p.token_use is TokenUse.ID else claims.get("client_id")
        if client != p.client_id:
            raise _refuse("token of another app client")
        return claims

    def principal(self, authorization: str | None) -> Principal:
        """The caller behind an ``Authorization`` header value, or ``Unauthenticated``."""
        claims = self.claims(bearer_token(authorization))
        principal = principal_from_claims(claims)
        if principal is None:
            # An access token without a pre-token-generation trigger carries no tenant: fail closed.
            raise _refuse("no tenant in token")
        return principal
