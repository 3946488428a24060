"""The demo tenant of API.md, created the way people would create it: through the admin API.

People are created in the local Cognito; the admin then creates two teams of six employees and
registers a device certificate for each (``.local/certs/<device_id>.pem|.key``), the DPO
publishes a consent policy, and the auditor gets a 30-day access grant. No consent is granted:
employees grant it themselves.
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3

from shared.dynamo.tenants import TenantSettings, TenantStore

if TYPE_CHECKING:
    from pathlib import Path

    from infra_cdk.local.admin_server import AdminGateway
    from infra_cdk.local.pki import LocalCA

EMPLOYEES_PER_TEAM = 6
POLICY_VERSION = "2026-01"
POLICY = {
    "version": POLICY_VERSION,
    "text": "Acme monitors focused applications, window titles, visited sites and input counts "
    "during working hours, to report productivity per team and to meet security obligations.",
    "purposes": ["productivity_analytics", "security_compliance"],
    "categories": ["apps", "window_titles", "urls", "input_counts"],
}


class SeedError(RuntimeError):
    pass


@dataclass
class Demo:
    tenant_id: str
    password: str
    teams: dict[str, str] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    policy_version: str = POLICY_VERSION

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "password": self.password,
            "teams": self.teams,
            "users": self.users,
            "policy_version": self.policy_version,
        }


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "Demo-" + "".join(secrets.choice(alphabet) for _ in range(12)) + "!7a"


class _People:
    def __init__(self, pool: str, client: str, region: str, tenant: str, password: str) -> None:
        self._idp = boto3.client("cognito-idp", region_name=region)
        self._pool, self._client, self._tenant, self._password = pool, client, tenant, password

    def create(self, email: str, group: str, employee_id: str | None = None) -> str:
        """Create a user in ``group``; returns their ``sub``."""
        attrs = [{"Name": "email", "Value": email}, {"Name": "custom:tenant_id", "Value": self._tenant}]
        if employee_id:
            attrs.append({"Name": "custom:employee_id", "Value": employee_id})
        user = self._idp.admin_create_user(
            UserPoolId=self._pool, Username=email, UserAttributes=attrs, MessageAction="SUPPRESS"
        )["User"]
        self._idp.admin_set_user_password(
            UserPoolId=self._pool, Username=email, Password=self._password, Permanent=True
        )
        self._idp.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=group)
        return next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")

    def token(self, email: str) -> str:
        result = self._idp.initiate_auth(
            ClientId=self._client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": self._password},
        )["AuthenticationResult"]
        return str(result["IdToken"])


def _call(gateway: AdminGateway, token: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, payload, _ = gateway.dispatch(
        method, path, {"Authorization": f"Bearer {token}"}, json.dumps(body).encode()
    )
    if status >= 300:
        raise SeedError(f"{method} {path} -> {status}: {payload}")
    return payload


def seed(
    gateway: AdminGateway,
    pool: str,
    client: str,
    tenants_table: str,
    ca: LocalCA,
    certs_dir: Path,
    region: str,
) -> Demo:
    from infra_cdk.local.stack import shown

    demo = Demo(tenant_id=str(uuid.uuid4()), password=_password())
    TenantStore(boto3.client("dynamodb", region_name=region), tenants_table).put(
        TenantSettings(tenant_id=demo.tenant_id)
    )
    people = _People(pool, client, region, demo.tenant_id, demo.password)
    subs = {}
    for role in ("admin", "dpo", "auditor"):
        demo.users[role] = f"{role}@demo.example.com"
        subs[role] = people.create(demo.users[role], role)
    for team in ("a", "b"):
        demo.users[f"manager_{team}"] = f"manager.{team}@demo.example.com"
        subs[f"manager_{team}"] = people.create(demo.users[f"manager_{team}"], "manager")
    admin = people.token(demo.users["admin"])
    employees = []
    for team in ("a", "b"):
        created = _call(
            gateway,
            admin,
            "POST",
            "/v1/teams",
            {"name": f"Team {team.upper()}", "manager_ids": [subs[f"manager_{team}"]]},
        )
        demo.teams[team] = created["team_id"]
        for n in range(1, EMPLOYEES_PER_TEAM + 1):
            email = f"employee.{team}{n}@demo.example.com"
            employee = _call(
                gateway, admin, "POST", "/v1/employees",
                {"email": email, "display_name": f"Employee {team.upper()}{n}", "team_id": demo.teams[team]},
            )  # fmt: skip
            employee_id = employee["employee_id"]
            people.create(email, "employee", employee_id)
            issued = ca.issue(f"device-{employee_id[:8]}")
            device = _call(
                gateway,
                admin,
                "POST",
                "/v1/devices",
                {"employee_id": employee_id, "certificate_pem": issued.cert_pem},
            )
            cert_path, key_path = (
                certs_dir / f"{device['device_id']}.pem",
                certs_dir / f"{device['device_id']}.key",
            )
            cert_path.write_text(issued.cert_pem)
            key_path.write_text(issued.key_pem)
            key_path.chmod(0o600)
            employees.append(
                {
                    "email": email,
                    "employee_id": employee_id,
                    "team": team,
                    "device_id": device["device_id"],
                    "device_cert": shown(cert_path),
                    "device_key": shown(key_path),
                }
            )
    demo.users["employees"] = employees
    _call(gateway, people.token(demo.users["dpo"]), "POST", "/v1/consent-policies", POLICY)
    now = datetime.now(UTC)
    _call(
        gateway, admin, "POST", "/v1/access-grants",
        {"user": subs["auditor"], "role": "auditor", "not_before": now.isoformat(),
         "not_after": (now + timedelta(days=30)).isoformat()},
    )  # fmt: skip
    return demo
