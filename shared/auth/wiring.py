"""What every admin-API function builds once per container: token verifier, authorizer (whose
denials are audited), and the recorder of allowed accesses; and how a request becomes a principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.audit import AuditRecorder
from shared.audit.denials import AuditDenialRecorder
from shared.auth.access_audit import PgAccessAudit
from shared.auth.directory import PgScopeDirectory
from shared.auth.policy import Authorizer, LogDenialRecorder
from shared.auth.settings import token_verifier
from shared.db.pool import pool_for
from shared.http import request_id
from shared.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from psycopg_pool import ConnectionPool

    from shared.auth.principal import Principal
    from shared.auth.settings import AdminApiSettings
    from shared.auth.tokens import TokenVerifier


@dataclass(frozen=True)
class AdminCore:
    pool: ConnectionPool[Any]
    scope: PgScopeDirectory
    recorder: AuditRecorder
    verifier: TokenVerifier
    authz: Authorizer
    audit: PgAccessAudit


def admin_core(settings: AdminApiSettings, app: APIGatewayRestResolver) -> AdminCore:
    pool = pool_for(settings)
    scope = PgScopeDirectory(pool)
    recorder = AuditRecorder()

    def current_request_id() -> str:
        return request_id(app)

    return AdminCore(
        pool=pool,
        scope=scope,
        recorder=recorder,
        verifier=token_verifier(settings),
        authz=Authorizer(
            scope, scope, AuditDenialRecorder(pool, recorder, current_request_id, LogDenialRecorder())
        ),
        audit=PgAccessAudit(pool, recorder, current_request_id),
    )


def authenticate(app: APIGatewayRestResolver, verifier: TokenVerifier) -> Principal:
    """The verified caller of the current request (401 otherwise), added to every log line."""
    principal = verifier.principal(app.current_event.headers.get("Authorization"))
    logger.append_keys(tenant_id=principal.tenant_id, actor=principal.actor)
    return principal
