"""Consent use cases: versioned policies, an employee's grant / change / withdrawal with history,
and who may read it.

Only the employee changes their own consent (``/v1/me/consent``: the employee id comes from the
token, never from the body). The current state is what ingestion reads, so a withdrawal is
refused by ingestion from the next uncached read; ``ConsentWithdrawn`` starts the purge.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from functions.consent_api.models import (
    CONSENT_WITHDRAWN,
    EVENT_SOURCE,
    Channel,
    ConsentChangeOut,
    ConsentGrant,
    ConsentStatusOut,
    ConsentWithdrawnDetail,
    Policy,
    PolicyCreate,
    PolicyList,
    Withdrawal,
)
from shared.auth.principal import Role
from shared.dynamo.consent import (
    ConsentChange,
    ConsentPolicy,
    ConsentState,
    ConsentStatus,
    PolicyExists,
    StaleConsent,
)
from shared.errors import Conflict, DependencyUnavailable, NotFound, ValidationFailed

if TYPE_CHECKING:
    from shared.auth.access_audit import AccessAudit
    from shared.auth.policy import Authorizer
    from shared.auth.principal import Principal

ALL_ROLES = tuple(Role)
PURPOSE = "consent_management"


class Ledger(Protocol):
    def put_policy(self, tenant_id: str, policy: ConsentPolicy) -> None: ...
    def get_policy(self, tenant_id: str, version: str) -> ConsentPolicy | None: ...
    def list_policies(self, tenant_id: str) -> list[ConsentPolicy]: ...
    def current(self, tenant_id: str, employee_id: str) -> ConsentState: ...
    def record(
        self,
        tenant_id: str,
        employee_id: str,
        state: ConsentState,
        change: ConsentChange,
        previous: ConsentState,
    ) -> None: ...
    def history(self, tenant_id: str, employee_id: str, limit: int = 500) -> list[ConsentChange]: ...


class EmployeeTeams(Protocol):
    def employee_team(self, tenant_id: str, employee_id: str) -> str | None: ...


class EventPublisher(Protocol):
    def publish(self, entries: list[dict[str, Any]]) -> int:
        """Put events; return how many failed."""
        ...


def _policy_out(p: ConsentPolicy) -> Policy:
    return Policy(
        version=p.version,
        text=p.text,
        purposes=list(p.purposes),
        categories=sorted(p.categories),
        published_at=p.published_at,
    )


def publish_policy(
    principal: Principal,
    body: PolicyCreate,
    ledger: Ledger,
    authz: Authorizer,
    audit: AccessAudit,
    now: datetime | None = None,
) -> Policy:
    """DPO only: publish a policy version; it can never be changed (the same version again is 409)."""
    authz.require_role(principal, "consent_policy.publish", "consent/policy", [Role.DPO])
    policy = ConsentPolicy(
        version=body.version,
        text=body.text,
        purposes=tuple(body.purposes),
        categories=frozenset(c.value for c in body.categories),
        published_at=now or datetime.now(UTC),
        published_by=principal.actor,
    )
    with audit.change(principal, "consent_policy.publish", "consent/policy", PURPOSE):
        try:
            ledger.put_policy(principal.tenant_id, policy)
        except PolicyExists as err:
            raise Conflict(f"Policy version {body.version} is already published and cannot change.") from err
    return _policy_out(policy)


def list_policies(principal: Principal, ledger: Ledger, authz: Authorizer) -> PolicyList:
    """Every person of the tenant may read the policies (an employee must read before consenting)."""
    authz.require_role(principal, "consent_policy.list", "consent/policy", ALL_ROLES)
    return PolicyList(items=[_policy_out(p) for p in ledger.list_policies(principal.tenant_id)])


def _me(principal: Principal, authz: Authorizer, action: str) -> str:
    """The caller's own employee id: only an employee acts on ``/v1/me/consent``."""
    if not principal.has(Role.EMPLOYEE) or principal.employee_id is None:
        raise authz.deny(principal, action, "consent/own", "not an employee")
    return principal.employee_id


def _status(tenant_id: str, employee_id: str, ledger: Ledger) -> ConsentStatusOut:
    state = ledger.current(tenant_id, employee_id)
    policies = ledger.list_policies(tenant_id)
    return ConsentStatusOut(
        employee_id=employee_id,
        status=state.status.value,
        policy_version=state.policy_version,
        categories=sorted(state.categories),
        updated_at=state.updated_at,
        latest_policy_version=policies[0].version if policies else None,
        history=[
            ConsentChangeOut(
                action=c.action,
                status=c.status.value,
                policy_version=c.policy_version,
                categories=sorted(c.categories),
                actor=c.actor,
                channel=c.channel,
                at=c.at,
                purge_id=c.purge_id,
            )
            for c in ledger.history(tenant_id, employee_id)
        ],
    )


def my_consent(
    principal: Principal, ledger: Ledger, authz: Authorizer, audit: AccessAudit
) -> ConsentStatusOut:
    """The caller's current consent and its full history, newest first (a read of personal data
    like any other: recorded, with the employee as actor ``self``)."""
    employee_id = _me(principal, authz, "consent.read_own")
    status = _status(principal.tenant_id, employee_id, ledger)
    audit.allowed(principal, "consent.read_own", "consent/own", PURPOSE, [employee_id])
    return status


def set_my_consent(
    principal: Principal,
    body: ConsentGrant,
    ledger: Ledger,
    authz: Authorizer,
    audit: AccessAudit,
    now: datetime | None = None,
) -> ConsentStatusOut:
    """Grant or change the caller's consent: to the newest published policy version, for chosen
    categories that version covers. The consent stays pinned to that version when newer ones are
    published. Granting after a withdrawal starts clean: only what is chosen now is granted."""
    employee_id = _me(principal, authz, "consent.grant")
    tenant = principal.tenant_id
    policy = ledger.get_policy(tenant, body.policy_version)
    if policy is None:
        raise ValidationFailed(f"No policy version {body.policy_version} is published.")
    latest = ledger.list_policies(tenant)[0]
    if latest.version != policy.version:
        raise Conflict(f"Policy version {latest.version} supersedes {policy.version}; consent to it instead.")
    chosen = frozenset(c.value for c in body.categories)
    if not chosen <= policy.categories:
        extra = ", ".join(sorted(chosen - policy.categories))
        raise ValidationFailed(f"Policy {policy.version} does not cover: {extra}.")
    previous = ledger.current(tenant, employee_id)
    if previous.active and previous.policy_version == policy.version and previous.categories == chosen:
        return _status(tenant, employee_id, ledger)  # unchanged: nothing to record
    at = now or datetime.now(UTC)
    state = ConsentState(ConsentStatus.ACTIVE, policy.version, chosen, at)
    change = ConsentChange(
        action="changed" if previous.active else "granted",
        status=ConsentStatus.ACTIVE,
        policy_version=policy.version,
        categories=chosen,
        actor=principal.actor,
        channel=body.channel.value,
        at=at,
    )
    with audit.change(principal, f"consent.{change.action}", "consent/own", PURPOSE, [employee_id]):
        try:
            ledger.record(tenant, employee_id, state, change, previous)
        except StaleConsent as err:
            raise Conflict("The consent changed meanwhile; read it again and retry.") from err
    return _status(tenant, employee_id, ledger)


def _withdrawn_entry(detail: ConsentWithdrawnDetail, bus: str) -> dict[str, Any]:
    return {
        "Source": EVENT_SOURCE,
        "DetailType": CONSENT_WITHDRAWN,
        "Detail": json.dumps(detail.model_dump(mode="json"), separators=(",", ":")),
        "EventBusName": bus,
    }


def withdraw_my_consent(
    principal: Principal,
    channel: Channel,
    ledger: Ledger,
    publisher: EventPublisher,
    bus: str,
    authz: Authorizer,
    audit: AccessAudit,
    now: datetime | None = None,
) -> Withdrawal:
    """Withdraw the caller's consent and start the purge.

    CURRENT becomes ``withdrawn`` together with its history item (ingestion refuses the
    employee's events from its next read), then ``ConsentWithdrawn`` goes to the bus. Retrying a
    withdrawal whose event may not have gone out republishes it with the same purge id (the purge
    is idempotent on it), so a lost response or a failed publish never loses the purge.
    """
    employee_id = _me(principal, authz, "consent.withdraw")
    tenant = principal.tenant_id
    previous = ledger.current(tenant, employee_id)
    if previous.status is ConsentStatus.WITHDRAWN:
        last = next((c for c in ledger.history(tenant, employee_id) if c.action == "withdrawn"), None)
        if last is None or last.purge_id is None:
            raise Conflict("The consent is already withdrawn.")
        purge_id, at, version = last.purge_id, last.at, last.policy_version
    elif previous.active:
        purge_id, at, version = str(uuid.uuid4()), now or datetime.now(UTC), previous.policy_version
        state = ConsentState(ConsentStatus.WITHDRAWN, version, frozenset(), at)
        change = ConsentChange(
            action="withdrawn",
            status=ConsentStatus.WITHDRAWN,
            policy_version=version,
            categories=frozenset(),
            actor=principal.actor,
            channel=channel.value,
            at=at,
            purge_id=purge_id,
        )
        with audit.change(principal, "consent.withdrawn", "consent/own", PURPOSE, [employee_id]):
            try:
                ledger.record(tenant, employee_id, state, change, previous)
            except StaleConsent as err:
                raise Conflict("The consent changed meanwhile; read it again and retry.") from err
    else:
        raise Conflict("There is no consent to withdraw.")
    detail = ConsentWithdrawnDetail(
        tenant_id=tenant, employee_id=employee_id, purge_id=purge_id, withdrawn_at=at, policy_version=version
    )
    if publisher.publish([_withdrawn_entry(detail, bus)]):
        raise DependencyUnavailable("The consent is withdrawn; the purge could not be started yet. Retry.")
    return Withdrawal(purge_id=purge_id, withdrawn_at=at)


def employee_consent(
    principal: Principal,
    employee_id: str,
    ledger: Ledger,
    teams: EmployeeTeams,
    authz: Authorizer,
    audit: AccessAudit,
) -> ConsentStatusOut:
    """An employee's consent status and history: admin and dpo for anyone of the tenant, a manager
    for their teams' members, the employee for themselves; 404 for another tenant's employee."""
    resource = "consent/employee"
    scope = authz.people_scope(
        principal, "consent.read", resource, everyone=[Role.ADMIN, Role.DPO], managers=True, self_service=True
    )
    team = teams.employee_team(principal.tenant_id, employee_id)
    if team is None:
        raise NotFound("No such employee.")
    authz.ensure_covers(principal, scope, "consent.read", resource, employee_id, team)
    status = _status(principal.tenant_id, employee_id, ledger)
    audit.allowed(principal, "consent.read", resource, PURPOSE, [employee_id])
    return status
