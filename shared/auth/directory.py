"""PostgreSQL answers to the scope questions every admin function asks (migration 0003).

Read-only, tenant-filtered queries; the directory service owns the writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.db.pool import transaction

if TYPE_CHECKING:
    from datetime import datetime

    from psycopg_pool import ConnectionPool

    from shared.auth.principal import Role


class PgScopeDirectory:
    """Managed teams, an employee's team, and valid access grants, from PostgreSQL."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def managed_team_ids(self, tenant_id: str, user_id: str) -> frozenset[str]:
        with transaction(self._pool, "directory") as conn:
            rows = conn.execute(
                "SELECT team_id FROM team_managers WHERE tenant_id = %s AND manager_user_id = %s",
                (tenant_id, user_id),
            ).fetchall()
        return frozenset(r[0] for r in rows)

    def employee_team(self, tenant_id: str, employee_id: str) -> str | None:
        """The employee's team, or ``None`` if the tenant has no such employee."""
        with transaction(self._pool, "directory") as conn:
            row = conn.execute(
                "SELECT team_id FROM employees WHERE tenant_id = %s AND employee_id = %s",
                (tenant_id, employee_id),
            ).fetchone()
        return str(row[0]) if row else None

    def has_active_grant(self, tenant_id: str, user_id: str, role: Role, at: datetime) -> bool:
        with transaction(self._pool, "directory") as conn:
            row = conn.execute(
                "SELECT 1 FROM access_grants WHERE tenant_id = %s AND user_id = %s AND role = %s"
                " AND revoked_at IS NULL AND not_before <= %s AND %s < not_after LIMIT 1",
                (tenant_id, user_id, role.value, at, at),
            ).fetchone()
        return row is not None
