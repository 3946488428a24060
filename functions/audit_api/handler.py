"""Admin API, audit: query the tenant's log, verify its chain, and an employee's own access log.

Every route verifies the Cognito token itself, then hands the principal to one logic call;
each call leaves its own entry in the log (reading the log is an access to personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime  # noqa: TC003 - Powertools reads the annotations at runtime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from functions.audit_api import logic
from functions.audit_api.models import AccessLog, AuditEventList, VerifyResult
from functions.audit_api.repository import PgAuditLog
from functions.audit_api.settings import AuditApiSettings
from shared import aws
from shared.audit import AuditRecorder
from shared.audit.checkpoint import CheckpointStore, kms_public_key
from shared.audit.denials import AuditDenialRecorder
from shared.auth.directory import PgScopeDirectory
from shared.auth.openapi import responses
from shared.auth.policy import Authorizer, LogDenialRecorder
from shared.auth.settings import token_verifier
from shared.db.pool import pool_for
from shared.http import register_error_handlers
from shared.observability import freeze_heap, logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.auth.principal import Principal
    from shared.auth.tokens import TokenVerifier

app = APIGatewayRestResolver(enable_validation=True)
register_error_handlers(app)

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
NextToken = Annotated[str | None, Query(max_length=32, description="from the previous page")]
Code = Annotated[str | None, Query(max_length=256)]


@dataclass(frozen=True)
class Deps:
    verifier: TokenVerifier
    authz: Authorizer
    log: PgAuditLog


def _request_id() -> str:
    try:
        return str(app.current_event.request_context.request_id or "")
    except (AttributeError, KeyError):
        return ""


@cache
def deps() -> Deps:
    s = AuditApiSettings()
    pool = pool_for(s)
    scope = PgScopeDirectory(pool)
    recorder = AuditRecorder()
    built = Deps(
        verifier=token_verifier(s),
        authz=Authorizer(scope, scope, AuditDenialRecorder(pool, recorder, _request_id, LogDenialRecorder())),
        log=PgAuditLog(
            pool,
            recorder,
            CheckpointStore(aws.s3(), s.audit_checkpoint_bucket, s.audit_checkpoint_prefix),
            lambda: kms_public_key(aws.kms(), s.audit_signing_key_id),
        ),
    )
    freeze_heap()
    return built


def principal() -> tuple[Principal, Deps]:
    d = deps()
    p = d.verifier.principal(app.current_event.headers.get("Authorization"))
    logger.append_keys(tenant_id=p.tenant_id, actor=p.actor)
    return p, d


@app.get(
    "/v1/audit/events",
    responses=responses(200, AuditEventList, "Audit entries, newest first", 400),
    tags=["audit"],
)
def get_events(
    from_: Annotated[datetime, Query(alias="from")],
    to: datetime,
    actor: Code = None,
    subject: Code = None,
    action: Code = None,
    limit: Limit = 100,
    next_token: NextToken = None,
) -> AuditEventList:
    p, d = principal()
    f = logic.EventFilter(from_, to, actor, subject, action)
    return logic.list_events(p, f, limit, next_token, d.log, d.authz, _request_id())


@app.get(
    "/v1/audit/verify",
    responses=responses(200, VerifyResult, "The tenant chain's verification"),
    tags=["audit"],
)
def get_verify() -> VerifyResult:
    p, d = principal()
    return logic.verify_chain(p, d.log, d.authz, _request_id())


@app.get(
    "/v1/me/access-log",
    responses=responses(200, AccessLog, "Who accessed my data, newest first", 400),
    tags=["audit"],
)
def get_my_access_log(limit: Limit = 100, next_token: NextToken = None) -> AccessLog:
    p, d = principal()
    return logic.my_access_log(p, limit, next_token, d.log, d.authz, _request_id())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
