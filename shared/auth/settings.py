"""Settings every admin-API function shares: the user pool, its app client, the token it accepts."""

from __future__ import annotations

from pydantic import Field

from shared.auth.jwks import HttpJwksSource, JwksCache, JwksSource, cognito_issuer, cognito_jwks_url
from shared.auth.tokens import TokenPolicy, TokenUse, TokenVerifier
from shared.settings import DbSettings


class AdminApiSettings(DbSettings):
    user_pool_id: str
    user_pool_client_id: str
    # API Gateway's Cognito authorizer (no OAuth scopes) lets only ID tokens through, and only ID
    # tokens carry custom:tenant_id without a pre-token-generation trigger: "id" by default.
    accepted_token_use: TokenUse = TokenUse.ID
    # The pool's region if it differs from the function's (AWS_REGION).
    cognito_region: str | None = None
    # Overrides the pool's public JWKS URL (the local stack's moto server serves it elsewhere).
    jwks_url: str | None = None
    token_leeway_s: int = Field(default=30, ge=0, le=120)
    jwks_min_refetch_interval_s: float = Field(default=300.0, ge=1.0)
    jwks_max_age_s: float = Field(default=3600.0, ge=60.0)

    @property
    def issuer(self) -> str:
        region = self.cognito_region or self.aws_region
        if not region:
            raise ValueError("set COGNITO_REGION or AWS_REGION")
        return cognito_issuer(region, self.user_pool_id)


def token_verifier(settings: AdminApiSettings, source: JwksSource | None = None) -> TokenVerifier:
    """The verifier for this pool and client (``source`` replaces the HTTPS JWKS fetch in tests)."""
    issuer = settings.issuer
    keys = JwksCache(
        source or HttpJwksSource(settings.jwks_url or cognito_jwks_url(issuer)),
        min_refetch_interval_s=settings.jwks_min_refetch_interval_s,
        max_age_s=settings.jwks_max_age_s,
    )
    policy = TokenPolicy(
        issuer=issuer,
        client_id=settings.user_pool_client_id,
        token_use=settings.accepted_token_use,
        leeway_s=settings.token_leeway_s,
    )
    return TokenVerifier(policy, keys)
