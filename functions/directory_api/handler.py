"""Admin API, directory: teams, employees, devices, access grants; serves the OpenAPI document.

Every route verifies the Cognito token itself (API Gateway's authorizer checks neither
``client_id`` nor ``token_use``), then hands the principal to one logic call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths

from functions.directory_api import logic
from functions.directory_api.models import (
    AccessGrant,
    AccessGrantCreate,
    AccessGrantList,
    DeviceCreate,
    DeviceOut,
    Employee,
    EmployeeCreate,
    EmployeeList,
    Team,
    TeamCreate,
    TeamList,
)
from functions.directory_api.repository import PgDirectory
from functions.directory_api.settings import DirectoryApiSettings
from shared import aws
from shared.auth.openapi import responses
from shared.auth.wiring import admin_core, authenticate
from shared.dynamo.devices import DeviceRegistry
from shared.http import json_response, register_error_handlers
from shared.observability import freeze_heap, logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.auth.access_audit import PgAccessAudit
    from shared.auth.policy import Authorizer
    from shared.auth.principal import Principal
    from shared.auth.tokens import TokenVerifier

app = APIGatewayRestResolver(enable_validation=True)
register_error_handlers(app)

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
NextToken = Annotated[str | None, Query(max_length=512, description="from the previous page")]
IdPath = Annotated[str, Path(min_length=1, max_length=64)]


@dataclass(frozen=True)
class Deps:
    verifier: TokenVerifier
    authz: Authorizer
    directory: PgDirectory
    devices: DeviceRegistry
    audit: PgAccessAudit


@cache
def deps() -> Deps:
    s = DirectoryApiSettings()
    core = admin_core(s, app)
    built = Deps(
        verifier=core.verifier,
        authz=core.authz,
        directory=PgDirectory(core.pool),
        devices=DeviceRegistry(aws.dynamodb(), s.devices_table),
        audit=core.audit,
    )
    freeze_heap()
    return built


def principal() -> tuple[Principal, Deps]:
    d = deps()
    return authenticate(app, d.verifier), d


@app.get("/v1/openapi.json", include_in_schema=False)
def get_openapi() -> Response[str]:
    from functions.directory_api.openapi import admin_openapi_json

    return Response(status_code=200, content_type="application/json", body=admin_openapi_json())


@app.post("/v1/teams", responses=responses(201, Team, "Team created", 409), tags=["directory"])
def post_team(body: TeamCreate) -> Response[Any]:
    p, d = principal()
    return json_response(
        201, logic.create_team(p, body, d.directory, d.authz, d.audit).model_dump(mode="json")
    )


@app.get("/v1/teams", responses=responses(200, TeamList, "Teams in the caller's scope"), tags=["directory"])
def get_teams(limit: Limit = 100, next_token: NextToken = None) -> TeamList:
    p, d = principal()
    return logic.list_teams(p, limit, next_token, d.directory, d.authz)


@app.post(
    "/v1/employees", responses=responses(201, Employee, "Employee created", 404, 409), tags=["directory"]
)
def post_employee(body: EmployeeCreate) -> Response[Any]:
    p, d = principal()
    return json_response(
        201, logic.create_employee(p, body, d.directory, d.authz, d.audit).model_dump(mode="json")
    )


@app.get(
    "/v1/employees",
    responses=responses(200, EmployeeList, "Employees in the caller's scope"),
    tags=["directory"],
)
def get_employees(limit: Limit = 100, next_token: NextToken = None) -> EmployeeList:
    p, d = principal()
    return logic.list_employees(p, limit, next_token, d.directory, d.authz, d.audit)


@app.get("/v1/employees/<id>", responses=responses(200, Employee, "The employee", 404), tags=["directory"])
def get_employee(id: IdPath) -> Employee:
    p, d = principal()
    return logic.get_employee(p, id, d.directory, d.authz, d.audit)


@app.post(
    "/v1/devices", responses=responses(201, DeviceOut, "Device registered", 404, 409), tags=["directory"]
)
def post_device(body: DeviceCreate) -> Response[Any]:
    p, d = principal()
    device = logic.register_device(p, body, d.directory, d.devices, d.authz, d.audit)
    return json_response(201, device.model_dump(mode="json"))


@app.delete(
    "/v1/devices/<id>",
    responses=responses(204, None, "Revoked, effective at once", 404),
    tags=["directory"],
)
def delete_device(id: IdPath) -> Response[Any]:
    p, d = principal()
    logic.revoke_device(p, id, d.devices, d.authz, d.audit)
    return Response(status_code=204, body=None)


@app.post("/v1/access-grants", responses=responses(201, AccessGrant, "Grant created"), tags=["directory"])
def post_access_grant(body: AccessGrantCreate) -> Response[Any]:
    p, d = principal()
    return json_response(
        201, logic.create_grant(p, body, d.directory, d.authz, d.audit).model_dump(mode="json")
    )


@app.get("/v1/access-grants", responses=responses(200, AccessGrantList, "Current grants"), tags=["directory"])
def get_access_grants() -> AccessGrantList:
    p, d = principal()
    return logic.list_grants(p, d.directory, d.authz)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
