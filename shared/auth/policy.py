"""Authorisation: role first, then resource-level scope, then time (auditor grants).

- admin and dpo act on the whole of their own tenant;
- an auditor only while a time-bound access grant (``not_before`` .. ``not_after``) is valid;
- a manager only on the teams they manage;
- an employee only on themselves.

Tenancy is not a check here: every repository query filters by the principal's tenant, so another
tenant's resource is simply not found (404) and its existence is not revealed. Every denial is
recorded (security log, and the audit log once it is wired in through ``DenialRecorder``) before
``Forbidden`` is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from shared.auth.principal import Principal, Role
from shared.errors import Forbidden
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

AUTHORIZATION_DENIALS = "AuthorizationDenials"


class GrantReader(Protocol):
    def has_active_grant(self, tenant_id: str, user_id: str, role: Role, at: datetime) -> bool: ...


class TeamDirectory(Protocol):
    def managed_team_ids(self, tenant_id: str, user_id: str) -> frozenset[str]: ...


class DenialRecorder(Protocol):
    def record(
        self, principal: Principal, action: str, resource: str, reason: str, subject: str | None = None
    ) -> None:
        """Record one denial. ``resource`` names the kind of thing (``directory/employee``), never
        the person; the person concerned, if any, is ``subject`` (an employee id)."""
        ...


class LogDenialRecorder:
    """Records a denial as a structured security event in the function's log."""

    def record(
        self, principal: Principal, action: str, resource: str, reason: str, subject: str | None = None
    ) -> None:
        logger.warning(
            "access denied",
            extra={
                "security_event": True,
                "tenant_id": principal.tenant_id,
                "actor": principal.actor,
                "roles": sorted(principal.roles),
                "action": action,
                "resource": resource,
                "reason": reason,
                "subject_employee_id": subject,
            },
        )
        metrics.add_metric(name=AUTHORIZATION_DENIALS, unit=MetricUnit.Count, value=1)


@dataclass(frozen=True)
class Scope:
    """What a caller may see of their tenant's people: everyone, some teams, or only themselves."""

    tenant_id: str
    everyone: bool = False
    team_ids: frozenset[str] = field(default_factory=frozenset)
    employee_id: str | None = None

    def covers(self, employee_id: str, team_id: str | None) -> bool:
        return (
            self.everyone
            or (team_id is not None and team_id in self.team_ids)
            or (self.employee_id is not None and employee_id == self.employee_id)
        )

    def covers_team(self, team_id: str) -> bool:
        return self.everyone or team_id in self.team_ids


class Authorizer:
    """Decides role and scope for one request; records and raises every denial."""

    def __init__(
        self,
        grants: GrantReader,
        teams: TeamDirectory,
        denials: DenialRecorder,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._grants = grants
        self._teams = teams
        self._denials = denials
        self._clock = clock

    def deny(
        self, principal: Principal, action: str, resource: str, reason: str, subject: str | None = None
    ) -> Forbidden:
        """Record a denial; return the error for the caller to raise."""
        self._denials.record(principal, action, resource, reason, subject)
        return Forbidden()

    def effective_roles(self, principal: Principal) -> frozenset[Role]:
        """The caller's roles, the auditor role counting only inside a valid access grant."""
        roles = principal.roles
        if Role.AUDITOR in roles and not self._grants.has_active_grant(
            principal.tenant_id, principal.user_id, Role.AUDITOR, self._clock()
        ):
            roles = roles - {Role.AUDITOR}
        return roles

    def require_role(self, principal: Principal, action: str, resource: str, allowed: Iterable[Role]) -> Role:
        """One of ``allowed`` roles the caller holds (auditor: with a valid grant), or 403."""
        allowed_set = frozenset(allowed)
        held = principal.roles & allowed_set
        if held - {Role.AUDITOR}:
            return sorted(held - {Role.AUDITOR})[0]
        if held and Role.AUDITOR in self.effective_roles(principal):
            return Role.AUDITOR
        reason = "no valid access grant" if held else "role not allowed"
        raise self.deny(principal, action, resource, reason)

    def people_scope(
        self,
        principal: Principal,
        action: str,
        resource: str,
        *,
        everyone: Iterable[Role],
        managers: bool,
        self_service: bool,
    ) -> Scope:
        """The part of the tenant the caller may act on for ``action``, or 403 if none.

        ``everyone`` roles see the whole tenant; a manager (if ``managers``) the teams they
        manage; an employee (if ``self_service``) only themselves.
        """
        everyone_set = frozenset(everyone)
        if principal.roles & (everyone_set - {Role.AUDITOR}) or (
            Role.AUDITOR in everyone_set and Role.AUDITOR in self.effective_roles(principal)
        ):
            return Scope(principal.tenant_id, everyone=True)
        teams: frozenset[str] = frozenset()
        if managers and principal.has(Role.MANAGER):
            teams = self._teams.managed_team_ids(principal.tenant_id, principal.user_id)
        me = principal.employee_id if self_service and principal.has(Role.EMPLOYEE) else None
        if teams or me:
            return Scope(principal.tenant_id, team_ids=teams, employee_id=me)
        raise self.deny(principal, action, resource, "role not allowed")

    def ensure_covers(
        self,
        principal: Principal,
        scope: Scope,
        action: str,
        resource: str,
        employee_id: str,
        team_id: str | None,
    ) -> None:
        """403 unless ``scope`` covers this employee of the caller's tenant."""
        if not scope.covers(employee_id, team_id):
            raise self.deny(principal, action, resource, "outside the caller's scope", subject=employee_id)
