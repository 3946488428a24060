"""Who is calling: tenant, user, groups and (for employees) employee id, from verified claims only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

TENANT_CLAIM = "custom:tenant_id"
EMPLOYEE_CLAIM = "custom:employee_id"
GROUPS_CLAIM = "cognito:groups"


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    DPO = "dpo"
    AUDITOR = "auditor"
    EMPLOYEE = "employee"


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str
    user_id: str  # the Cognito ``sub``: immutable, what team managers and access grants name
    roles: frozenset[Role]
    employee_id: str | None = None
    username: str | None = None

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"


_ROLE_NAMES = frozenset(r.value for r in Role)


def _string(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value.strip() else None


def principal_from_claims(claims: dict[str, Any]) -> Principal | None:
    """The principal of verified claims; ``None`` when the token names no tenant or user.

    Groups other than the five roles are ignored, so an unknown group grants nothing.
    """
    tenant = _string(claims, TENANT_CLAIM)
    sub = _string(claims, "sub")
    if tenant is None or sub is None:
        return None
    raw_groups = claims.get(GROUPS_CLAIM) or []
    groups = raw_groups if isinstance(raw_groups, list) else []
    roles = frozenset(Role(g) for g in groups if isinstance(g, str) and g in _ROLE_NAMES)
    return Principal(
        tenant_id=tenant,
        user_id=sub,
        roles=roles,
        employee_id=_string(claims, EMPLOYEE_CLAIM),
        username=_string(claims, "cognito:username") or _string(claims, "username"),
    )
