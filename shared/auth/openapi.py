"""What every admin route declares in the OpenAPI document: the bearer scheme and the error body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or invalid bearer token (`unauthenticated`)",
    403: "Role or scope does not allow the call (`forbidden`); an aggregate over fewer people than the"
    " tenant's minimum group size (`group_too_small`)",
    404: "No such resource in the caller's tenant (`not_found`)",
    409: "Conflicts with the resource's state (`conflict`)",
    422: "Request failed validation (`validation_error`)",
    503: "A backing store is unavailable; retry (`service_unavailable`)",
}


def responses(status: int, model: type[BaseModel] | None, description: str, *errors: int) -> dict[int, Any]:
    """OpenAPI responses of a route: its success (with ``model``) and its error responses."""
    out: dict[int, Any] = {
        status: {"description": description}
        | ({"content": {"application/json": {"model": model}}} if model is not None else {})
    }
    for code in (401, 403, 422, 503, *errors):
        out[code] = {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return out
