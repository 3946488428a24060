"""Allowed accesses to personal data, and changes, into the audit log before the response leaves.

Denials are recorded by ``shared.audit.denials``; this records what was allowed. The entry is
written (its own transaction) after the read or change and before the response: if it cannot be
written the request fails with ``AuditUnavailable`` (503), so personal data is never returned
without its entry. A person acting on their own data is stored as ``self``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import psycopg

from shared.audit.model import Actor, ActorType, AuditEntry, Outcome
from shared.errors import AuditUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from psycopg_pool import ConnectionPool

    from shared.audit.recorder import AuditRecorder
    from shared.auth.principal import Principal


class AccessAudit(Protocol):
    def allowed(
        self,
        principal: Principal,
        action: str,
        resource: str,
        purpose: str,
        subjects: Iterable[str | None] = (None,),
    ) -> None:
        """Record one allowed access per subject (``None``: an access that concerns no one)."""
        ...


class PgAccessAudit:
    def __init__(
        self, pool: ConnectionPool[Any], recorder: AuditRecorder, request_id: Callable[[], str]
    ) -> None:
        self._pool = pool
        self._recorder = recorder
        self._request_id = request_id

    def allowed(
        self,
        principal: Principal,
        action: str,
        resource: str,
        purpose: str,
        subjects: Iterable[str | None] = (None,),
    ) -> None:
        request_id = self._request_id()
        entries = [
            AuditEntry(
                tenant_id=principal.tenant_id,
                # Acting on oneself is recorded under the employee id, which the log stores as "self".
                actor=Actor(
                    ActorType.USER,
                    subject
                    if subject is not None and subject == principal.employee_id
                    else principal.user_id,
                ),
                action=action,
                resource=resource,
                purpose=purpose,
                outcome=Outcome.ALLOWED,
                request_id=request_id,
                subject_employee_id=subject,
            )
            for subject in subjects
        ]
        if not entries:
            return
        try:
            with self._pool.connection() as conn:
                self._recorder.record_many(conn, entries)
        except psycopg.OperationalError as err:
            raise AuditUnavailable() from err
