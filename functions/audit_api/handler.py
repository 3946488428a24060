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
from functions.audit_api.models import AccessLog, AuditEventList, AuditReport, VerifyResult
from functions.audit_api.repository import PgAuditLog
from functions.audit_api.settings import AuditApiSettings
from shared import aws
from shared.audit.checkpoint import CheckpointStore, kms_public_key
from shared.auth.openapi import responses
from shared.auth.wiring import admin_core, authenticate
from shared.http import register_error_handlers, request_id
from shared.observability import freeze_heap, logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.auth.policy import Authorizer
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


@cache
def deps() -> Deps:
    s = AuditApiSettings()
    core = admin_core(s, app)
    built = Deps(
        verifier=core.verifier,
        authz=core.authz,
        log=PgAuditLog(
            core.pool,
            core.recorder,
            CheckpointStore(aws.s3(), s.audit_checkpoint_bucket, s.audit_checkpoint_prefix),
            lambda: kms_public_key(aws.kms(), s.audit_signing_key_id),
        ),
    )
    freeze_heap()
    return built


def principal() -> tuple[Principal, Deps]:
    d = deps()
    return authenticate(app, d.verifier), d


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
    return logic.list_events(p, f, limit, next_token, d.log, d.authz, request_id(app))


@app.get(
    "/v1/audit/report",
    responses=responses(200, AuditReport, "The period's audit report, with the chain verified", 400),
    tags=["audit"],
)
def get_report(from_: Annotated[datetime, Query(alias="from")], to: datetime) -> AuditReport:
    p, d = principal()
    return logic.audit_report(p, from_, to, d.log, d.authz, request_id(app))


@app.get(
    "/v1/audit/verify",
    responses=responses(200, VerifyResult, "The tenant chain's verification"),
    tags=["audit"],
)
def get_verify() -> VerifyResult:
    p, d = principal()
    return logic.verify_chain(p, d.log, d.authz, request_id(app))


@app.get(
    "/v1/me/access-log",
    responses=responses(200, AccessLog, "Who accessed my data, newest first", 400),
    tags=["audit"],
)
def get_my_access_log(limit: Limit = 100, next_token: NextToken = None) -> AccessLog:
    p, d = principal()
    return logic.my_access_log(p, limit, next_token, d.log, d.authz, request_id(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
