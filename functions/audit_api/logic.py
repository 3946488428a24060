"""Audit API use cases: who may read the log, and the entry each read leaves in it.

Reading the audit log is itself an access to personal data (it says who looked at whom), so
every call records its own entry, in the same transaction as the read (see ``PgAuditLog``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from functions.audit_api.models import (
    AccessLog,
    AccessLogEntry,
    AuditEvent,
    AuditEventList,
    AuditReport,
    CountBy,
    VerifyResult,
)
from functions.audit_api.repository import EventQuery, PeriodSummary, StoredEvent
from shared.audit.model import Actor, ActorType, AuditEntry, Outcome
from shared.auth.principal import Role
from shared.errors import BadRequest, ValidationFailed

if TYPE_CHECKING:
    from datetime import datetime

    from shared.audit.verify import VerifyReport
    from shared.auth.policy import Authorizer
    from shared.auth.principal import Principal

AUDIT_ROLES = (Role.DPO, Role.AUDITOR)
PURPOSE_AUDIT = "audit"
PURPOSE_TRANSPARENCY = "data_subject_transparency"


class AuditLog(Protocol):
    def events(
        self, tenant_id: str, query: EventQuery, limit: int, access: AuditEntry
    ) -> list[StoredEvent]: ...

    def access_log(
        self, tenant_id: str, employee_id: str, before_seq: int | None, limit: int, access: AuditEntry
    ) -> list[StoredEvent]: ...

    def verify(self, tenant_id: str, access: AuditEntry) -> VerifyReport: ...

    def summary(self, tenant_id: str, start: datetime, end: datetime) -> PeriodSummary: ...


@dataclass(frozen=True)
class EventFilter:
    start: datetime
    end: datetime
    actor: str | None = None  # "<type>:<id>", as the events show it
    subject: str | None = None
    action: str | None = None


def _entry(
    p: Principal, action: str, resource: str, purpose: str, request_id: str, subject: str | None
) -> AuditEntry:
    return AuditEntry(
        tenant_id=p.tenant_id,
        actor=Actor(ActorType.USER, p.employee_id if subject and subject == p.employee_id else p.user_id),
        action=action,
        resource=resource,
        purpose=purpose,
        outcome=Outcome.ALLOWED,
        request_id=request_id,
        subject_employee_id=subject,
    )


def _before(next_token: str | None) -> int | None:
    if next_token is None:
        return None
    if not next_token.isdigit() or len(next_token) > 19:
        raise BadRequest("next_token is not one this API returned.")
    return int(next_token)


def _next(rows: list[StoredEvent], limit: int) -> str | None:
    return str(rows[-1].seq) if len(rows) == limit else None


def list_events(
    p: Principal,
    f: EventFilter,
    limit: int,
    next_token: str | None,
    log: AuditLog,
    authz: Authorizer,
    request_id: str,
) -> AuditEventList:
    """The tenant's entries in ``[start, end)`` matching the filters, newest first (dpo, auditor with a grant)."""
    authz.require_role(p, "audit.events.read", "audit/events", AUDIT_ROLES)
    if f.end <= f.start:
        raise BadRequest("'to' must be after 'from'.")
    actor = None
    if f.actor is not None:
        kind, sep, ident = f.actor.partition(":")
        if not sep or kind not in {a.value for a in ActorType}:
            raise BadRequest("actor is '<user|device|system>:<id>'.")
        actor = (kind, ident)
    query = EventQuery(f.start, f.end, actor, f.subject, f.action, _before(next_token))
    access = _entry(p, "audit.events.read", "audit/events", PURPOSE_AUDIT, request_id, f.subject)
    rows = log.events(p.tenant_id, query, limit, access)
    return AuditEventList(
        events=[
            AuditEvent(
                seq=r.seq,
                ts=r.ts,
                actor=f"{r.actor_type}:{r.actor_id}",
                action=r.action,
                resource=r.resource,
                subject=r.subject,
                purpose=r.purpose,
                outcome=r.outcome,
                hash=r.hash.hex(),
            )
            for r in rows
        ],
        next_token=_next(rows, limit),
    )


def verify_chain(p: Principal, log: AuditLog, authz: Authorizer, request_id: str) -> VerifyResult:
    """Recompute the caller's tenant chain and check it against the latest signed checkpoint."""
    authz.require_role(p, "audit.verify", "audit/chain", AUDIT_ROLES)
    report = log.verify(
        p.tenant_id, _entry(p, "audit.verify", "audit/chain", PURPOSE_AUDIT, request_id, None)
    )
    return VerifyResult(ok=report.ok, checked=report.checked, first_bad_seq=report.first_bad_seq)


def audit_report(
    p: Principal, start: datetime, end: datetime, log: AuditLog, authz: Authorizer, request_id: str
) -> AuditReport:
    """The period's entries counted by action, actor type and outcome, with the chain verified
    against the latest signed checkpoint; the report is itself one recorded read."""
    authz.require_role(p, "audit.report", "audit/report", AUDIT_ROLES)
    if end <= start:
        raise ValidationFailed("'to' must be after 'from'.")
    summary = log.summary(p.tenant_id, start, end)
    chain = log.verify(
        p.tenant_id, _entry(p, "audit.report", "audit/report", PURPOSE_AUDIT, request_id, None)
    )

    def counts(column: str) -> list[CountBy]:
        return [CountBy(key=str(k), count=int(n)) for k, n in summary.grouped[column]]

    return AuditReport(
        tenant_id=p.tenant_id,
        start=start,
        end=end,
        entries=summary.entries,
        denied=summary.denied,
        distinct_actors=summary.actors,
        distinct_subjects=summary.subjects,
        by_action=counts("action"),
        by_actor_type=counts("actor_type"),
        by_outcome=counts("outcome"),
        first_seq=summary.first_seq,
        last_seq=summary.last_seq,
        chain=VerifyResult(ok=chain.ok, checked=chain.checked, first_bad_seq=chain.first_bad_seq),
    )


def my_access_log(
    p: Principal, limit: int, next_token: str | None, log: AuditLog, authz: Authorizer, request_id: str
) -> AccessLog:
    """Who read or changed the caller's own data, when and why, newest first (employees)."""
    if not p.has(Role.EMPLOYEE) or p.employee_id is None:
        raise authz.deny(p, "audit.access_log.read", "audit/access_log", "not an employee")
    access = _entry(
        p, "audit.access_log.read", "audit/access_log", PURPOSE_TRANSPARENCY, request_id, p.employee_id
    )
    rows = log.access_log(p.tenant_id, p.employee_id, _before(next_token), limit, access)
    return AccessLog(
        entries=[
            AccessLogEntry(
                ts=r.ts,
                actor=f"{r.actor_type}:{r.actor_id}",
                action=r.action,
                purpose=r.purpose,
                outcome=r.outcome,
            )
            for r in rows
        ],
        next_token=_next(rows, limit),
    )
