"""The admin API's OpenAPI document is generated from the pydantic models and lists every route."""

from __future__ import annotations

import pytest

from infra_cdk.constants import FUNCTIONS
from tests.integration.people.conftest import Api

pytestmark = pytest.mark.integration


def test_openapi_lists_every_admin_route_with_schemas_and_error_responses(people_api: Api) -> None:
    # Given the routes infrastructure gives the admin functions built so far
    expected = {
        (route.path, method.lower())
        for name in ("directory_api", "consent_api", "audit_api")
        for route in FUNCTIONS[name].routes
        for method in route.methods
        if route.path != "/v1/openapi.json"
    }
    # When the document is fetched (no token needed for the contract itself)
    status, doc = people_api.get("/v1/openapi.json", None)
    # Then every route is there with 401/403/422 error bodies, bodies and responses have schemas
    assert status == 200
    documented = {(path, m) for path, ops in doc["paths"].items() for m in ops}
    assert expected <= documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert {"401", "403", "422"} <= set(op["responses"]), (path, method)
            assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith(
                "/ErrorBody"
            )
    post_team = doc["paths"]["/v1/teams"]["post"]
    assert post_team["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TeamCreate")
    assert doc["paths"]["/v1/me/consent"]["put"]["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("/ConsentStatusOut")
    assert doc["components"]["schemas"]["TeamCreate"]["additionalProperties"] is False
    assert "cognito" in doc["components"]["securitySchemes"]
