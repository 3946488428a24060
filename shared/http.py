"""HTTP edge: the error body of API.md and the one mapping from domain errors to responses."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit

from shared.errors import BadRequest, DomainError, NotFound, ValidationFailed
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

AUTHORIZATION_FAILURES = "AuthorizationFailures"


def error_body(code: str, message: str, request_id: str, details: Any = None) -> dict[str, Any]:
    """Build the error body every route returns: ``{"error": {code, message, request_id[, details]}}``."""
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        error["details"] = details
    return {"error": error}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, separators=(",", ":"), default=str),
        headers=headers,
    )


def request_id(app: APIGatewayRestResolver) -> str:
    """API Gateway's id of the current request (what error bodies and audit entries carry)."""
    try:
        return str(app.current_event.request_context.request_id or "")
    except (AttributeError, KeyError):
        return ""


def _domain_error_response(app: APIGatewayRestResolver, err: DomainError) -> Response[str]:
    return json_response(err.status, error_body(err.code, err.message, request_id(app), err.details))


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Reduce pydantic / Powertools error dicts to what a client needs: where, what, why."""
    out = []
    for err in errors:
        out.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "type": str(err.get("type", "")),
                "msg": str(err.get("msg", "")),
            }
        )
    return out


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Install the mapping: DomainError → its status/code, validation → 422, unknown route → 404,
    anything else → 500 ``internal_error`` (logged with its stack trace, never returned)."""

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain(err: DomainError) -> Response[str]:
        if err.status in (401, 403) and err.code != "consent_required":
            # A security event: alarms watch for spikes of these.
            metrics.add_metric(name=AUTHORIZATION_FAILURES, unit=MetricUnit.Count, value=1)
            logger.warning("authorization failure", extra={"security_event": True, "error_code": err.code})
        elif err.status >= 500:
            logger.error("request failed: %s", err.code, extra={"error_code": err.code})
        else:
            logger.info("request refused: %s", err.code, extra={"error_code": err.code})
        return _domain_error_response(app, err)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _validation(err: RequestValidationError) -> Response[str]:
        failed = ValidationFailed(details=validation_details(err.errors()))
        return _domain_error_response(app, failed)

    @app.not_found
    def _not_found(_err: Exception) -> Response[str]:
        return _domain_error_response(app, NotFound("No route matches this method and path."))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(err: Exception) -> Response[str]:
        logger.exception("unhandled error", extra={"error_type": type(err).__name__})
        return _domain_error_response(app, DomainError())


def raw_body(event: dict[str, Any]) -> bytes:
    """The request body as bytes, decoding API Gateway's base64 wrapping when it applied it."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        import base64
        import binascii

        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as err:
            raise BadRequest("The request body is not valid base64.") from err
    return body.encode("utf-8", errors="surrogateescape") if isinstance(body, str) else bytes(body)
