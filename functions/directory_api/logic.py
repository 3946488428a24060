"""Directory use cases: teams, employees, devices, access grants, each behind role and scope checks.

The caller's tenant comes from the verified token and every repository call is filtered by it;
request bodies cannot name a tenant, a role or any id the caller may not choose.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

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
from shared.auth.principal import Role
from shared.certs import identity_from_pem
from shared.dynamo.devices import Device
from shared.errors import Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:
    from shared.auth.access_audit import AccessAudit
    from shared.auth.policy import Authorizer
    from shared.auth.principal import Principal

READERS = (Role.ADMIN, Role.DPO, Role.AUDITOR)
PURPOSE = "directory_administration"


class Directory(Protocol):
    def create_team(self, tenant_id: str, name: str, manager_ids: list[str], actor: str) -> Team: ...
    def list_teams(
        self, tenant_id: str, only: frozenset[str] | None, limit: int, after: str | None
    ) -> list[Team]: ...
    def create_employee(
        self, tenant_id: str, email: str, display_name: str, team_id: str, actor: str
    ) -> Employee: ...
    def list_employees(
        self, tenant_id: str, teams: frozenset[str] | None, limit: int, after: str | None
    ) -> list[Employee]: ...
    def get_employee(self, tenant_id: str, employee_id: str) -> Employee | None: ...
    def create_grant(
        self, tenant_id: str, user_id: str, role: str, not_before: datetime, not_after: datetime, actor: str
    ) -> AccessGrant: ...
    def list_grants(self, tenant_id: str) -> list[AccessGrant]: ...


class Devices(Protocol):
    def register(self, device: Device) -> bool: ...
    def get_by_device_id(self, device_id: str) -> Device | None: ...
    def revoke(self, device: Device, at: datetime | None = None) -> None: ...


def encode_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_token(token: str | None) -> str | None:
    """The id after which a page starts; a token that is not ours is 422."""
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as err:
        raise ValidationFailed("next_token is not valid.") from err


def create_team(
    principal: Principal, body: TeamCreate, directory: Directory, authz: Authorizer, audit: AccessAudit
) -> Team:
    """Admin only: a team of the caller's tenant with its managers (Cognito subs)."""
    authz.require_role(principal, "team.create", "directory/team", [Role.ADMIN])
    with audit.change(principal, "team.create", "directory/team", PURPOSE):
        return directory.create_team(principal.tenant_id, body.name, body.manager_ids, principal.actor)


def list_teams(
    principal: Principal, limit: int, next_token: str | None, directory: Directory, authz: Authorizer
) -> TeamList:
    """Every team for admin, dpo and granted auditors; a manager sees the teams they manage."""
    scope = authz.people_scope(
        principal, "team.list", "directory/team", everyone=READERS, managers=True, self_service=False
    )
    teams = directory.list_teams(
        principal.tenant_id, None if scope.everyone else scope.team_ids, limit, decode_token(next_token)
    )
    return TeamList(items=teams, next_token=encode_token(teams[-1].team_id) if len(teams) == limit else None)


def create_employee(
    principal: Principal, body: EmployeeCreate, directory: Directory, authz: Authorizer, audit: AccessAudit
) -> Employee:
    """Admin only: an employee in a team of the caller's tenant (another tenant's team is 404)."""
    authz.require_role(principal, "employee.create", "directory/employee", [Role.ADMIN])
    employee = directory.create_employee(
        principal.tenant_id, body.email, body.display_name, body.team_id, principal.actor
    )
    # The id is made by the change, so this entry follows it (every other change is audited first).
    audit.allowed(principal, "employee.create", "directory/employee", PURPOSE, [employee.employee_id])
    return employee


def list_employees(
    principal: Principal,
    limit: int,
    next_token: str | None,
    directory: Directory,
    authz: Authorizer,
    audit: AccessAudit,
) -> EmployeeList:
    """The employees the caller may see: all (admin, dpo, granted auditor) or their teams' (manager)."""
    scope = authz.people_scope(
        principal, "employee.list", "directory/employee", everyone=READERS, managers=True, self_service=False
    )
    people = directory.list_employees(
        principal.tenant_id, None if scope.everyone else scope.team_ids, limit, decode_token(next_token)
    )
    audit.allowed(principal, "employee.list", "directory/employee", PURPOSE, [e.employee_id for e in people])
    return EmployeeList(
        items=people, next_token=encode_token(people[-1].employee_id) if len(people) == limit else None
    )


def get_employee(
    principal: Principal, employee_id: str, directory: Directory, authz: Authorizer, audit: AccessAudit
) -> Employee:
    """One employee: 404 outside the caller's tenant, 403 outside the caller's scope."""
    resource = "directory/employee"
    scope = authz.people_scope(
        principal, "employee.read", resource, everyone=READERS, managers=True, self_service=True
    )
    employee = directory.get_employee(principal.tenant_id, employee_id)
    if employee is None:
        raise NotFound("No such employee.")
    authz.ensure_covers(principal, scope, "employee.read", resource, employee.employee_id, employee.team_id)
    audit.allowed(principal, "employee.read", resource, PURPOSE, [employee.employee_id])
    return employee


def register_device(
    principal: Principal,
    body: DeviceCreate,
    directory: Directory,
    devices: Devices,
    authz: Authorizer,
    audit: AccessAudit,
    now: datetime | None = None,
) -> DeviceOut:
    """Admin only: register a device certificate (issuer + serial + validity) for an employee of
    the caller's tenant, in the registry ingestion reads. A certificate registered once is 409."""
    authz.require_role(principal, "device.register", "directory/device", [Role.ADMIN])
    if directory.get_employee(principal.tenant_id, body.employee_id) is None:
        raise NotFound("No such employee.")
    try:
        ident = identity_from_pem(body.certificate_pem)
    except ValueError as err:
        raise ValidationFailed("certificate_pem is not a PEM X.509 certificate.") from err
    if ident.not_after <= (now or datetime.now(UTC)):
        raise ValidationFailed("The certificate has expired.")
    device = Device(
        device_id=str(uuid.uuid4()),
        tenant_id=principal.tenant_id,
        employee_id=body.employee_id,
        cert_key=ident.cert_key,
        issuer=ident.issuer,
        serial=ident.serial,
        not_before=ident.not_before,
        not_after=ident.not_after,
    )
    with audit.change(principal, "device.register", "directory/device", PURPOSE, [device.employee_id]):
        if not devices.register(device):
            raise Conflict("This certificate is already registered.")
    return _device_out(device)


def revoke_device(
    principal: Principal, device_id: str, devices: Devices, authz: Authorizer, audit: AccessAudit
) -> None:
    """Admin only: revoke a device of the caller's tenant; ingestion refuses it from the next request."""
    authz.require_role(principal, "device.revoke", "directory/device", [Role.ADMIN])
    device = devices.get_by_device_id(device_id)
    if device is None or device.tenant_id != principal.tenant_id:
        raise NotFound("No such device.")
    with audit.change(principal, "device.revoke", "directory/device", PURPOSE, [device.employee_id]):
        devices.revoke(device)


def create_grant(
    principal: Principal, body: AccessGrantCreate, directory: Directory, authz: Authorizer, audit: AccessAudit
) -> AccessGrant:
    """Admin only: a time-bound access grant for another user of the tenant (never oneself)."""
    authz.require_role(principal, "grant.create", "directory/access_grant", [Role.ADMIN])
    if body.user == principal.user_id:
        raise authz.deny(principal, "grant.create", "directory/access_grant", "self-grant")
    with audit.change(principal, "grant.create", "directory/access_grant", PURPOSE):
        return directory.create_grant(
            principal.tenant_id, body.user, body.role, body.not_before, body.not_after, principal.actor
        )


def list_grants(principal: Principal, directory: Directory, authz: Authorizer) -> AccessGrantList:
    authz.require_role(principal, "grant.list", "directory/access_grant", [Role.ADMIN, Role.DPO])
    return AccessGrantList(items=directory.list_grants(principal.tenant_id))


def _device_out(d: Device) -> DeviceOut:
    return DeviceOut(
        device_id=d.device_id,
        employee_id=d.employee_id,
        issuer=d.issuer,
        serial=d.serial,
        not_before=d.not_before,
        not_after=d.not_after,
        revoked_at=d.revoked_at,
    )
