"""Allowed accesses to personal data, and changes, into the audit log before the response leaves.

Denials are recorded by ``shared.audit.denials``; this records what was allowed. The entry is
written (its own transaction) after the read or change and before the response: if it cannot be
written the request fails with ``AuditUnavailable`` (503), so personal data is never returned
without its entry. A person acting on their own data is stored as ``self``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import psycopg

from shared.audit.model import Actor, ActorType, AuditEntry, Outcome
from shared.errors import AuditUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from contextlib import AbstractContextManager

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

    def change(
        self,
        principal: Principal,
        action: str,
        resource: str,
        purpose: str,
        subjects: Iterable[str | None] = (None,),
    ) -> AbstractContextManager[None]:
        """Around a change: its entry is written first and committed only if the change succeeds."""
        ...


class PgAccessAudit:
    def __init__(
        self, pool: ConnectionPool[Any], recorder: AuditRecorder, request_id: Callable[[], str]
    ) -> None:
        self._pool = pool
        self._recorder = recorder
        self._request_id = request_id

    def _entries(
        self, principal: Principal, action: str, resource: str, purpose: str, subjects: Iterable[str | None]
    ) -> list[AuditEntry]:
        request_id = self._request_id()
        return [
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

    @contextmanager
    def change(
        self,
        principal: Principal,
        action: str,
        resource: str,
        purpose: str,
        subjects: Iterable[str | None] = (None,),
    ) -> Iterator[None]:
        """The entry of a change is appended first, in a transaction that commits only once the
        change has succeeded: a change whose entry cannot be written is never made, and a change
        that fails leaves no entry. (The tenant's chain stays locked while the change runs.)"""
        entries = self._entries(principal, action, resource, purpose, subjects)
        try:
            with self._pool.connection() as conn:
                self._recorder.record_many(conn, entries)
                yield
        except psycopg.OperationalError as err:
            raise AuditUnavailable() from err

    def allowed(
        self,
        principal: Principal,
        action: str,
        resource: str,
        purpose: str,
        subjects: Iterable[str | None] = (None,),
    ) -> None:
        entries = self._entries(principal, action, resource, purpose, subjects)
        if not entries:
            return
        try:
            with self._pool.connection() as conn:
                self._recorder.record_many(conn, entries)
        except psycopg.OperationalError as err:
            raise AuditUnavailable() from err
