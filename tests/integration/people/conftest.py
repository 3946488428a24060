"""The people's API under test: moto Cognito issuing real RS256 tokens (its JWKS served through
moto), the directory and consent handlers wired to moto and the test PostgreSQL."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import psycopg
import pytest
import requests

from functions.analytics_api import handler as analytics_api
from functions.consent_api import handler as consent_api
from functions.directory_api import handler as directory_api
from infra_cdk.local.apigw import FakeLambdaContext, admin_event
from infra_cdk.local.resources import REGION
from shared.auth.jwks import HttpJwksSource
from shared.db import pool as db_pool

if TYPE_CHECKING:
    from collections.abc import Iterator

    from infra_cdk.local.resources import Resources

pytestmark = pytest.mark.integration

PASSWORD = "Correct-Horse-9-Battery!"


@dataclass
class User:
    email: str
    sub: str
    id_token: str
    access_token: str
    tenant_id: str
    groups: tuple[str, ...]
    employee_id: str | None = None

    @property
    def token(self) -> str:
        return self.id_token


@dataclass
class Cognito:
    idp: Any
    pool_id: str
    client_id: str
    users: dict[str, User] = field(default_factory=dict)

    def user(
        self, tenant_id: str, *groups: str, employee_id: str | None = None, email: str | None = None
    ) -> User:
        """A confirmed user of the pool in these groups, signed in (ID and access tokens)."""
        email = email or f"{'-'.join(groups) or 'nobody'}.{uuid.uuid4().hex[:8]}@example.com"
        attrs = [{"Name": "email", "Value": email}, {"Name": "custom:tenant_id", "Value": tenant_id}]
        if employee_id:
            attrs.append({"Name": "custom:employee_id", "Value": employee_id})
        created = self.idp.admin_create_user(
            UserPoolId=self.pool_id, Username=email, UserAttributes=attrs, MessageAction="SUPPRESS"
        )
        sub = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        self.idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
        for group in groups:
            self.idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=email, GroupName=group)
        auth = self.idp.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        user = User(email, sub, auth["IdToken"], auth["AccessToken"], tenant_id, groups, employee_id)
        self.users[email] = user
        return user


GROUPS = ("admin", "manager", "dpo", "auditor", "employee")


def create_user_pool(region: str) -> tuple[str, str]:
    """A pool shaped like the CDK one: custom tenant and employee attributes, the five groups."""
    idp = boto3.client("cognito-idp", region_name=region)
    pool = idp.create_user_pool(
        PoolName="workforce-tests",
        Schema=[
            {"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False},
            {"Name": "employee_id", "AttributeDataType": "String", "Mutable": True},
        ],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="admin-api", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    for group in GROUPS:
        idp.create_group(UserPoolId=pool, GroupName=group)
    return pool, client


@pytest.fixture
def cognito(aws_resources: Resources, monkeypatch: pytest.MonkeyPatch) -> Cognito:
    pool_id, client_id = create_user_pool(REGION)
    monkeypatch.setenv("USER_POOL_ID", pool_id)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", client_id)
    # Inside mock_aws, `requests` reaches moto's JWKS endpoint; the adapter's urllib would not.
    monkeypatch.setattr(HttpJwksSource, "_get", lambda self: requests.get(self.url, timeout=5).content)
    return Cognito(boto3.client("cognito-idp", region_name=REGION), pool_id, client_id)


@pytest.fixture
def people_api(
    cognito: Cognito, pg_url: str, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """Both people's handlers with fresh per-container state."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    db.execute("TRUNCATE teams, team_managers, employees, access_grants CASCADE")
    for handler in (directory_api, consent_api, analytics_api):
        handler.deps.cache_clear()
    yield Api()
    for handler in (directory_api, consent_api, analytics_api):
        handler.deps.cache_clear()
    db_pool.close_all()


CONSENT_PREFIXES = ("/v1/consent-policies", "/v1/me/consent")
ANALYTICS_PREFIXES = ("/v1/analytics/", "/v1/productivity-rules")


class Api:
    """Calls the handler that serves a route, as API Gateway would."""

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        query: dict[str, str] | None = None,
        path_params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        is_consent = path.startswith(CONSENT_PREFIXES) or path.endswith("/consent")
        handler = consent_api.lambda_handler if is_consent else directory_api.lambda_handler
        if path.startswith(ANALYTICS_PREFIXES):
            handler = analytics_api.lambda_handler
        resp = handler(admin_event(method, path, token, body, query, path_params), FakeLambdaContext())
        raw = resp.get("body")
        return resp["statusCode"], json.loads(raw) if raw else None

    def get(self, path: str, user: User | str | None, **kw: Any) -> tuple[int, Any]:
        return self.call("GET", path, _token(user), **kw)

    def post(self, path: str, user: User | str | None, body: Any, **kw: Any) -> tuple[int, Any]:
        return self.call("POST", path, _token(user), body, **kw)

    def put(self, path: str, user: User | str | None, body: Any, **kw: Any) -> tuple[int, Any]:
        return self.call("PUT", path, _token(user), body, **kw)

    def delete(self, path: str, user: User | str | None, **kw: Any) -> tuple[int, Any]:
        return self.call("DELETE", path, _token(user), **kw)


def _token(user: User | str | None) -> str | None:
    return user.token if isinstance(user, User) else user


POLICY = {
    "version": "2026-01",
    "text": "We collect the apps you use and input counts to measure focus time. Nothing else.",
    "purposes": ["productivity analytics"],
    "categories": ["apps", "window_titles", "urls", "input_counts"],
}


@dataclass
class Tenant:
    """One tenant built through the API: two teams, a manager each, employees with sign-ins."""

    tenant_id: str
    admin: User
    dpo: User
    auditor: User
    manager1: User
    manager2: User
    team1: str
    team2: str
    emp1: User
    emp2: User
    emp3: User
    employees: dict[str, dict[str, Any]]


def build_tenant(api: Api, cognito: Cognito, tenant_id: str | None = None) -> Tenant:
    tenant_id = tenant_id or f"t-{uuid.uuid4().hex[:8]}"
    admin = cognito.user(tenant_id, "admin")
    dpo = cognito.user(tenant_id, "dpo")
    auditor = cognito.user(tenant_id, "auditor")
    manager1 = cognito.user(tenant_id, "manager")
    manager2 = cognito.user(tenant_id, "manager")
    status, t1 = api.post("/v1/teams", admin, {"name": "Team one", "manager_ids": [manager1.sub]})
    assert status == 201, t1
    status, t2 = api.post("/v1/teams", admin, {"name": "Team two", "manager_ids": [manager2.sub]})
    assert status == 201, t2
    employees: dict[str, dict[str, Any]] = {}
    signed_in: list[User] = []
    for name, team in (("emp1", t1), ("emp2", t1), ("emp3", t2)):
        email = f"{name}.{uuid.uuid4().hex[:6]}@{tenant_id}.example.com"
        status, emp = api.post(
            "/v1/employees", admin, {"email": email, "display_name": name.upper(), "team_id": team["team_id"]}
        )
        assert status == 201, emp
        employees[name] = emp
        signed_in.append(cognito.user(tenant_id, "employee", employee_id=emp["employee_id"], email=email))
    status, body = api.post("/v1/consent-policies", dpo, POLICY)
    assert status == 201, body
    return Tenant(
        tenant_id,
        admin,
        dpo,
        auditor,
        manager1,
        manager2,
        t1["team_id"],
        t2["team_id"],
        *signed_in,
        employees,
    )
