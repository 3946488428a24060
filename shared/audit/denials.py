"""Denials into the audit log: a ``shared.auth.policy.DenialRecorder`` for every admin function."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from shared.audit.model import Actor, ActorType, AuditEntry, Outcome

if TYPE_CHECKING:
    from collections.abc import Callable

    from psycopg_pool import ConnectionPool

    from shared.audit.recorder import AuditRecorder
    from shared.auth.policy import DenialRecorder
    from shared.auth.principal import Principal

PURPOSE = "authorization"
_NOT_CODE = re.compile(r"[^a-z0-9_.:\-]+")


def _code(value: str) -> str:
    code = _NOT_CODE.sub("_", value.lower()).strip("_") or "unknown"
    return code if code[0].isalpha() else f"x{code}"


class AuditDenialRecorder:
    """Writes each denial as an ``outcome=denied`` entry, in a transaction of its own (the denied
    request has nothing else to commit), after handing it to ``also`` (the security log)."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        recorder: AuditRecorder,
        request_id: Callable[[], str],
        also: DenialRecorder | None = None,
    ) -> None:
        self._pool = pool
        self._recorder = recorder
        self._request_id = request_id
        self._also = also

    def record(
        self, principal: Principal, action: str, resource: str, reason: str, subject: str | None = None
    ) -> None:
        """Append the denial (``subject`` is stored as its pseudonym); raises ``AuditUnavailable``
        if it cannot be written, so the request fails rather than going unaudited."""
        if self._also is not None:
            self._also.record(principal, action, resource, reason, subject)
        entry = AuditEntry(
            tenant_id=principal.tenant_id,
            actor=Actor(ActorType.USER, principal.user_id),
            action=_code(action),
            resource=resource,
            purpose=PURPOSE,
            outcome=Outcome.DENIED,
            request_id=self._request_id(),
            subject_employee_id=subject,
        )
        with self._pool.connection() as conn:
            self._recorder.record(conn, entry)
