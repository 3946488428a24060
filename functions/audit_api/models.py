"""Request and response models of the audit API (API.md, Audit)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    ts: datetime
    actor: str  # "<type>:<id>"; "user:self" is the subject reading their own data
    action: str
    resource: str
    subject: str | None  # the employee id; null when none, or after that person's purge
    purpose: str
    outcome: str
    hash: str  # hex SHA-256 of the chained entry


class AuditEventList(BaseModel):
    events: list[AuditEvent]
    next_token: str | None = None


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None = None


class AccessLogEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: datetime
    actor: str
    action: str
    purpose: str
    outcome: str


class AccessLog(BaseModel):
    entries: list[AccessLogEntry]
    next_token: str | None = None


class CountBy(BaseModel):
    key: str
    count: int


class AuditReport(BaseModel):
    """What a DPO or an auditor files: what happened in a period, and whether the log is intact."""

    tenant_id: str
    start: datetime
    end: datetime
    entries: int
    denied: int
    distinct_actors: int
    distinct_subjects: int
    by_action: list[CountBy]
    by_actor_type: list[CountBy]
    by_outcome: list[CountBy]
    first_seq: int | None
    last_seq: int | None
    chain: VerifyResult
