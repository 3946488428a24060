"""The admin API's one OpenAPI document, merged from the Powertools schema of each admin function.

Each function's resolver generates its part from its pydantic models; the function package is
deployed whole, so the directory function (which serves ``/v1/openapi.json``) can import the
others' resolvers without running their handlers. Add a function's handler module here when it
joins the admin API.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from typing import Any

ADMIN_API_HANDLERS = (
    "functions.directory_api.handler",
    "functions.consent_api.handler",
    "functions.audit_api.handler",
    "functions.analytics_api.handler",
)
TITLE = "Workforce monitoring admin API"
VERSION = "1"


def _schema_of(module: str) -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    app = importlib.import_module(module).app
    doc: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            security_schemes={"cognito": HTTPBearer(bearerFormat="JWT", description="Cognito ID token")},
            security=[{"cognito": []}],
        )
    )
    return doc


@cache
def admin_openapi() -> dict[str, Any]:
    """Every admin route with its request and response schemas and its error responses."""
    merged: dict[str, Any] | None = None
    for module in ADMIN_API_HANDLERS:
        doc = _schema_of(module)
        if merged is None:
            merged = doc
            continue
        merged.setdefault("paths", {}).update(doc.get("paths", {}))
        schemas = merged.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(doc.get("components", {}).get("schemas", {}))
    assert merged is not None
    return merged


def admin_openapi_json() -> str:
    return json.dumps(admin_openapi(), separators=(",", ":"))
