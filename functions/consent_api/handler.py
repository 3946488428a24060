"""Admin API, consent: policies, the employee's own consent, and consent status for those in scope."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from functions.consent_api import logic
from functions.consent_api.models import (
    Channel,
    ConsentGrant,
    ConsentStatusOut,
    Policy,
    PolicyCreate,
    PolicyList,
    Withdrawal,
)
from functions.consent_api.settings import ConsentApiSettings
from shared import aws
from shared.auth.openapi import responses
from shared.auth.wiring import admin_core, authenticate
from shared.bus import EventBridgePublisher
from shared.dynamo.consent import ConsentLedger
from shared.http import json_response, register_error_handlers
from shared.observability import freeze_heap, logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.auth.access_audit import PgAccessAudit
    from shared.auth.directory import PgScopeDirectory
    from shared.auth.policy import Authorizer
    from shared.auth.principal import Principal
    from shared.auth.tokens import TokenVerifier

app = APIGatewayRestResolver(enable_validation=True)
register_error_handlers(app)


@dataclass(frozen=True)
class Deps:
    verifier: TokenVerifier
    authz: Authorizer
    ledger: ConsentLedger
    teams: PgScopeDirectory
    publisher: EventBridgePublisher
    bus: str
    audit: PgAccessAudit


@cache
def deps() -> Deps:
    s = ConsentApiSettings()
    core = admin_core(s, app)
    built = Deps(
        verifier=core.verifier,
        authz=core.authz,
        ledger=ConsentLedger(aws.dynamodb(), s.consent_table),
        teams=core.scope,
        publisher=EventBridgePublisher(aws.events()),
        bus=s.event_bus_name,
        audit=core.audit,
    )
    freeze_heap()
    return built


def principal() -> tuple[Principal, Deps]:
    d = deps()
    return authenticate(app, d.verifier), d


@app.post("/v1/consent-policies", responses=responses(201, Policy, "Policy published", 409), tags=["consent"])
def post_policy(body: PolicyCreate) -> Response[Any]:
    p, d = principal()
    return json_response(
        201, logic.publish_policy(p, body, d.ledger, d.authz, d.audit).model_dump(mode="json")
    )


@app.get(
    "/v1/consent-policies",
    responses=responses(200, PolicyList, "Published policies, newest first"),
    tags=["consent"],
)
def get_policies() -> PolicyList:
    p, d = principal()
    return logic.list_policies(p, d.ledger, d.authz)


@app.get(
    "/v1/me/consent",
    responses=responses(200, ConsentStatusOut, "My consent and its history"),
    tags=["consent"],
)
def get_my_consent() -> ConsentStatusOut:
    p, d = principal()
    return logic.my_consent(p, d.ledger, d.authz, d.audit)


@app.put(
    "/v1/me/consent",
    responses=responses(200, ConsentStatusOut, "Consent granted or changed", 409),
    tags=["consent"],
)
def put_my_consent(body: ConsentGrant) -> ConsentStatusOut:
    p, d = principal()
    return logic.set_my_consent(p, body, d.ledger, d.authz, d.audit)


@app.delete(
    "/v1/me/consent",
    responses=responses(202, Withdrawal, "Withdrawn; the purge has started", 409),
    tags=["consent"],
)
def delete_my_consent(channel: Annotated[Channel, Query()] = Channel.API) -> Response[Any]:
    p, d = principal()
    withdrawal = logic.withdraw_my_consent(p, channel, d.ledger, d.publisher, d.bus, d.authz, d.audit)
    metrics.add_metric(name="ConsentWithdrawals", unit=MetricUnit.Count, value=1)
    return json_response(202, withdrawal.model_dump(mode="json"))


@app.get(
    "/v1/employees/<id>/consent",
    responses=responses(200, ConsentStatusOut, "The employee's consent and history", 404),
    tags=["consent"],
)
def get_employee_consent(id: Annotated[str, Path(min_length=1, max_length=64)]) -> ConsentStatusOut:
    p, d = principal()
    return logic.employee_consent(p, id, d.ledger, d.teams, d.authz, d.audit)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
