"""API Gateway REST proxy events as the agent API (mutual TLS) hands them to the function."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography import x509


def client_cert_block(cert_pem: str) -> dict[str, Any]:
    """``requestContext.identity.clientCert`` in API Gateway's own format."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    serial_hex = format(cert.serial_number, "x")
    serial_hex = serial_hex if len(serial_hex) % 2 == 0 else "0" + serial_hex
    fmt = "%b %d %H:%M:%S %Y GMT"
    return {
        "clientCertPem": cert_pem,
        "subjectDN": cert.subject.rfc4514_string(),
        "issuerDN": cert.issuer.rfc4514_string(),
        "serialNumber": ":".join(serial_hex[i : i + 2] for i in range(0, len(serial_hex), 2)),
        "validity": {
            "notBefore": cert.not_valid_before_utc.strftime(fmt),
            "notAfter": cert.not_valid_after_utc.strftime(fmt),
        },
    }


def rest_event(
    method: str,
    path: str,
    body: str | bytes | dict[str, Any] | None = None,
    cert_pem: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, bytes):
        body = body.decode()
    now = datetime.now(UTC)
    identity: dict[str, Any] = {"sourceIp": "203.0.113.10", "userAgent": "workforce-agent/1.4.2"}
    if cert_pem is not None:
        identity["clientCert"] = client_cert_block(cert_pem)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "agentapi",
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}" if not path.startswith("/v1") else path,
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "protocol": "HTTP/1.1",
            "domainName": "agent.example.com",
            "identity": identity,
        },
        "body": body,
        "isBase64Encoded": False,
    }


class FakeLambdaContext:
    function_name = "test"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _authorizer_claims(token: str | None) -> dict[str, str]:
    """The claims API Gateway's Cognito authorizer hands over (as strings), read without verifying:
    the functions verify the token themselves."""
    if not token:
        return {}
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()}


def admin_event(
    method: str,
    path: str,
    token: str | None,
    body: str | bytes | dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST proxy event of the admin API (Cognito authorizer): bearer token, claims, path
    parameters (``resource`` shows them as ``{name}``) and query string."""
    event = rest_event(method, path, body, headers={"Authorization": f"Bearer {token}"} if token else None)
    resource = path
    for name, value in (path_params or {}).items():
        resource = resource.replace(value, "{" + name + "}", 1)
    event["resource"] = resource
    event["requestContext"]["resourcePath"] = resource
    event["requestContext"]["apiId"] = "adminapi"
    event["requestContext"]["domainName"] = "admin.example.com"
    event["requestContext"]["identity"] = {"sourceIp": "203.0.113.20", "userAgent": "admin-console/1.0"}
    event["requestContext"]["authorizer"] = {"claims": _authorizer_claims(token)}
    event["pathParameters"] = dict(path_params) if path_params else None
    event["queryStringParameters"] = dict(query) if query else None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    if event["headers"] is not None:
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event
