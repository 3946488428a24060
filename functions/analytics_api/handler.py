"""Admin API, analytics: an employee's days, a team's days, top apps, and the productivity rules.

Answers come from the daily rollups (``activity_daily``, ``activity_tenant_daily``) that the
``analytics_rollup`` job keeps; this function never reads raw events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths

from functions.analytics_api import logic
from functions.analytics_api.models import EmployeeDaily, RulesIn, RulesOut, TeamDaily, TopApps, Trend
from functions.analytics_api.repository import PgAnalytics
from functions.analytics_api.settings import AnalyticsApiSettings
from shared import aws
from shared.analytics.rollup import RuleSets
from shared.auth.openapi import responses
from shared.auth.wiring import admin_core, authenticate
from shared.dynamo.tenants import TenantStore
from shared.http import register_error_handlers
from shared.observability import freeze_heap, logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.analytics.rules import Categorizer
    from shared.auth.access_audit import PgAccessAudit
    from shared.auth.directory import PgScopeDirectory
    from shared.auth.policy import Authorizer
    from shared.auth.principal import Principal
    from shared.auth.tokens import TokenVerifier

app = APIGatewayRestResolver(enable_validation=True)
register_error_handlers(app)

Id = Annotated[str, Path(min_length=1, max_length=64)]
From = Annotated[date, Query(alias="from", description="first UTC day, YYYY-MM-DD")]
To = Annotated[date, Query(description="last UTC day, YYYY-MM-DD (at most 366 days after from)")]
WeekOf = Annotated[date, Query(alias="to", description="a day of the last week shown, YYYY-MM-DD")]
Weeks = Annotated[int, Query(ge=1, le=26, description="how many ISO weeks to show")]


@dataclass(frozen=True)
class Deps:
    verifier: TokenVerifier
    authz: Authorizer
    audit: PgAccessAudit
    scope: PgScopeDirectory
    store: PgAnalytics
    tenants: TenantStore
    rule_sets: RuleSets

    def min_group(self, tenant_id: str) -> int:
        return self.tenants.get(tenant_id).min_group_size

    def categorizer(self, tenant_id: str, version: int) -> Categorizer:
        with self.store.reading() as conn:
            return self.rule_sets.categorizer(conn, tenant_id, version)


@cache
def deps() -> Deps:
    s = AnalyticsApiSettings()
    core = admin_core(s, app)
    built = Deps(
        verifier=core.verifier,
        authz=core.authz,
        audit=core.audit,
        scope=core.scope,
        store=PgAnalytics(core.pool),
        tenants=TenantStore(aws.dynamodb(), s.tenants_table),
        rule_sets=RuleSets(),
    )
    freeze_heap()
    return built


def principal() -> tuple[Principal, Deps]:
    d = deps()
    return authenticate(app, d.verifier), d


@app.get(
    "/v1/analytics/employees/<id>/daily",
    responses=responses(200, EmployeeDaily, "The employee's days", 404),
    tags=["analytics"],
)
def get_employee_daily(id: Id, from_: From, to: To) -> EmployeeDaily:
    p, d = principal()
    return logic.employee_daily(p, id, from_, to, d.store, d.scope, d.authz, d.audit)


@app.get(
    "/v1/analytics/teams/<id>/daily",
    responses=responses(200, TeamDaily, "The team's days, summed over its members", 404),
    tags=["analytics"],
)
def get_team_daily(id: Id, from_: From, to: To) -> TeamDaily:
    p, d = principal()
    return logic.team_daily(p, id, from_, to, d.store, d.authz, d.audit, d.min_group)


@app.get(
    "/v1/analytics/employees/<id>/weekly",
    responses=responses(200, Trend, "The employee's ISO weeks, each compared with the week before", 404),
    tags=["analytics"],
)
def get_employee_weekly(id: Id, to: WeekOf, weeks: Weeks = 4) -> Trend:
    p, d = principal()
    return logic.employee_trend(p, id, to, weeks, d.store, d.scope, d.authz, d.audit)


@app.get(
    "/v1/analytics/teams/<id>/weekly",
    responses=responses(200, Trend, "The team's ISO weeks, each compared with the week before", 404),
    tags=["analytics"],
)
def get_team_weekly(id: Id, to: WeekOf, weeks: Weeks = 4) -> Trend:
    p, d = principal()
    return logic.team_trend(p, id, to, weeks, d.store, d.authz, d.audit, d.min_group)


@app.get(
    "/v1/analytics/top-apps",
    responses=responses(200, TopApps, "Apps by active time in the period", 404),
    tags=["analytics"],
)
def get_top_apps(
    from_: From,
    to: To,
    team_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TopApps:
    p, d = principal()
    return logic.top_apps(p, from_, to, team_id, limit, d.store, d.authz, d.audit, d.min_group, d.categorizer)


@app.get(
    "/v1/productivity-rules",
    responses=responses(200, RulesOut, "The newest rules and the version applied to the figures"),
    tags=["analytics"],
)
def get_rules() -> RulesOut:
    p, d = principal()
    return logic.get_rules(p, d.store, d.authz)


@app.put(
    "/v1/productivity-rules",
    responses=responses(200, RulesOut, "A new version; past data is recategorised in the background"),
    tags=["analytics"],
)
def put_rules(body: RulesIn) -> RulesOut:
    p, d = principal()
    return logic.put_rules(p, body, d.store, d.authz, d.audit)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
