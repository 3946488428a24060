"""The demo tenant of API.md: two teams of six, their devices and certificates, people in Cognito.

No consent is granted: employees grant it themselves (through the consent API).
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from shared.certs import identity_from_pem
from shared.dynamo.devices import Device, DeviceRegistry
from shared.dynamo.tenants import TenantSettings, TenantStore

if TYPE_CHECKING:
    from pathlib import Path

    from infra_cdk.local.pki import LocalCA

EMPLOYEES_PER_TEAM = 6


@dataclass
class Demo:
    tenant_id: str
    password: str
    teams: dict[str, str]
    users: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "password": self.password,
            "teams": self.teams,
            "users": self.users,
        }


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "Demo-" + "".join(secrets.choice(alphabet) for _ in range(12)) + "!7a"


def _user(
    idp: Any, pool: str, email: str, password: str, tenant: str, group: str, employee_id: str | None
) -> None:
    attrs = [{"Name": "email", "Value": email}, {"Name": "custom:tenant_id", "Value": tenant}]
    if employee_id:
        attrs.append({"Name": "custom:employee_id", "Value": employee_id})
    idp.admin_create_user(UserPoolId=pool, Username=email, UserAttributes=attrs, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=group)


def seed(
    devices_table: str, tenants_table: str, ca: LocalCA, certs_dir: Path, pool: str, region: str
) -> Demo:
    from infra_cdk.local.stack import shown

    ddb = boto3.client("dynamodb", region_name=region)
    idp = boto3.client("cognito-idp", region_name=region)
    registry = DeviceRegistry(ddb, devices_table)
    tenant = str(uuid.uuid4())
    TenantStore(ddb, tenants_table).put(TenantSettings(tenant_id=tenant))
    demo = Demo(
        tenant_id=tenant, password=_password(), teams={"a": str(uuid.uuid4()), "b": str(uuid.uuid4())}
    )
    for role in ("admin", "dpo", "auditor"):
        email = f"{role}@demo.example.com"
        _user(idp, pool, email, demo.password, tenant, role, None)
        demo.users[role] = email
    for team in ("a", "b"):
        email = f"manager.{team}@demo.example.com"
        _user(idp, pool, email, demo.password, tenant, "manager", None)
        demo.users[f"manager_{team}"] = email
    employees = []
    for team in ("a", "b"):
        for n in range(1, EMPLOYEES_PER_TEAM + 1):
            employee_id, device_id = str(uuid.uuid4()), str(uuid.uuid4())
            email = f"employee.{team}{n}@demo.example.com"
            _user(idp, pool, email, demo.password, tenant, "employee", employee_id)
            issued = ca.issue(f"device-{device_id[:8]}")
            cert_path, key_path = certs_dir / f"{device_id}.pem", certs_dir / f"{device_id}.key"
            cert_path.write_text(issued.cert_pem)
            key_path.write_text(issued.key_pem)
            key_path.chmod(0o600)
            ident = identity_from_pem(issued.cert_pem)
            registry.put(
                Device(device_id, tenant, employee_id, ident.cert_key, ident.issuer, ident.serial,
                       ident.not_before, ident.not_after)
            )  # fmt: skip
            employees.append(
                {
                    "email": email,
                    "employee_id": employee_id,
                    "team": team,
                    "device_id": device_id,
                    "device_cert": shown(cert_path),
                    "device_key": shown(key_path),
                }
            )
    demo.users["employees"] = employees
    return demo
