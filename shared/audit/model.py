"""What an audit entry says: who did what to which resource about whom, why, and with what outcome."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

SELF_ACTOR = "self"
_CODE = re.compile(r"[a-z][a-z0-9_.:\-]{0,127}")
_MAX_TEXT = 256


class ActorType(StrEnum):
    USER = "user"
    DEVICE = "device"
    SYSTEM = "system"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who accessed: a person (their user id), a device (its device id) or a system component (its name)."""

    type: ActorType
    id: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One access to personal data or configuration, as a caller records it.

    ``action`` and ``purpose`` are codes (``analytics.employee_daily.read``, ``team_management``),
    never free text; ``resource`` names what was accessed without naming the subject
    (``analytics/employee_daily``); the subject goes in ``subject_employee_id`` only, which the
    log stores as a pseudonym. Free text about the subject goes in ``detail``, stored encrypted
    under the subject's data key. ``ts`` defaults to the recorder's clock.
    """

    tenant_id: str
    actor: Actor
    action: str
    resource: str
    purpose: str
    outcome: Outcome
    request_id: str
    subject_employee_id: str | None = None
    detail: str | None = None
    ts: datetime | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` for an entry the log must not hold (an unbounded or identifying field)."""
        if not self.tenant_id or len(self.tenant_id) > _MAX_TEXT:
            raise ValueError("tenant_id is required (at most 256 characters)")
        if not self.actor.id or len(self.actor.id) > _MAX_TEXT:
            raise ValueError("actor id is required (at most 256 characters)")
        for name, value in (("action", self.action), ("purpose", self.purpose)):
            if not _CODE.fullmatch(value):
                raise ValueError(f"{name} must be a lowercase code, not free text: {value!r}")
        if not self.resource or len(self.resource) > _MAX_TEXT:
            raise ValueError("resource is required (at most 256 characters)")
        if len(self.request_id) > _MAX_TEXT:
            raise ValueError("request_id has at most 256 characters")
        subject = self.subject_employee_id
        if subject is not None:
            if not subject:
                raise ValueError("subject_employee_id must not be empty")
            for name, value in (("resource", self.resource), ("request_id", self.request_id)):
                if subject in value:
                    raise ValueError(f"{name} must not contain the subject's id (it would survive a purge)")
        if self.detail is not None and subject is None:
            raise ValueError("detail is encrypted under the subject's key: it needs subject_employee_id")

    @property
    def stored_actor_id(self) -> str:
        """The actor id as stored: a person reading their own data is ``self``, so their id
        does not survive their purge in clear."""
        if self.subject_employee_id is not None and self.actor.id == self.subject_employee_id:
            return SELF_ACTOR
        return self.actor.id
