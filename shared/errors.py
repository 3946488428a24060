"""Domain errors: plain exception classes, each carrying its API error code and HTTP status.

The one place that turns them into HTTP responses is ``shared.http``; adapters translate
driver and SDK errors into these classes so logic never sees ``ClientError`` or psycopg errors.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the API reports to its caller."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error."

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class InvalidJson(DomainError):
    code = "invalid_json"
    status = 400
    default_message = "The request body is not valid JSON."


class BadRequest(DomainError):
    code = "bad_request"
    status = 400
    default_message = "The request is malformed."


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422
    default_message = "The request body failed validation."


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    default_message = "A valid bearer token is required."


class DeviceNotAuthorized(DomainError):
    code = "device_not_authorized"
    status = 403
    default_message = "The client certificate does not identify an active device."


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 403
    default_message = "The employee has no active consent; stop collecting."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    default_message = "Your role or scope does not allow this call."


class GroupTooSmall(DomainError):
    """An aggregate over fewer people than the tenant's minimum group size would single one out."""

    code = "group_too_small"
    status = 403
    default_message = "The group is smaller than the minimum group size for aggregates."


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "No such resource."


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    status = 405
    default_message = "This method is not allowed on this resource."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = "The resource is in a conflicting state."


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    default_message = "The request body is too large."


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415
    default_message = "The request body must be application/json."


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    default_message = "Too many requests; retry later."


class DependencyUnavailable(DomainError):
    """A store or stream we depend on failed; the caller may retry the whole request."""

    code = "service_unavailable"
    status = 503
    default_message = "A backing service is unavailable; retry later."


class StoreUnavailable(DependencyUnavailable):
    """PostgreSQL (or another store) could not complete the unit of work."""


class AuditUnavailable(StoreUnavailable):
    """The audit entry of an access could not be written, so the access itself fails."""

    default_message = "The access could not be audited; retry later."
