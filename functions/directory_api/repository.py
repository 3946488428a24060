"""PostgreSQL adapter of the directory (migration 0003). Every statement filters by tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

from functions.directory_api.models import AccessGrant, Employee, Team
from shared.db.pool import transaction
from shared.errors import Conflict, NotFound

if TYPE_CHECKING:
    from datetime import datetime

    from psycopg_pool import ConnectionPool

_TEAM_COLUMNS = """
    t.team_id, t.name, t.created_at,
    COALESCE((SELECT array_agg(m.manager_user_id ORDER BY m.manager_user_id) FROM team_managers m
              WHERE m.tenant_id = t.tenant_id AND m.team_id = t.team_id), '{}') AS manager_ids
"""


def _team(row: tuple[Any, ...]) -> Team:
    return Team(team_id=row[0], name=row[1], created_at=row[2], manager_ids=list(row[3]))


def _employee(row: tuple[Any, ...]) -> Employee:
    return Employee(employee_id=row[0], email=row[1], display_name=row[2], team_id=row[3], created_at=row[4])


class PgDirectory:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def create_team(self, tenant_id: str, name: str, manager_ids: list[str], actor: str) -> Team:
        """Insert a team and its managers in one transaction; a duplicate name is 409."""
        try:
            with transaction(self._pool, "directory") as conn:
                row = conn.execute(
                    "INSERT INTO teams (tenant_id, name, created_by) VALUES (%s, %s, %s)"
                    " RETURNING team_id, name, created_at",
                    (tenant_id, name, actor),
                ).fetchone()
                assert row is not None
                managers = sorted(set(manager_ids))
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO team_managers (tenant_id, team_id, manager_user_id) VALUES (%s, %s, %s)",
                        [(tenant_id, row[0], m) for m in managers],
                    )
        except psycopg.errors.UniqueViolation as err:
            raise Conflict("A team with this name exists.") from err
        return Team(team_id=row[0], name=row[1], created_at=row[2], manager_ids=managers)

    def list_teams(
        self, tenant_id: str, only: frozenset[str] | None, limit: int, after: str | None
    ) -> list[Team]:
        """Teams of the tenant ordered by id (``only``: restricted to these ids)."""
        with transaction(self._pool, "directory") as conn:
            rows = conn.execute(
                f"SELECT {_TEAM_COLUMNS} FROM teams t WHERE t.tenant_id = %s"  # noqa: S608
                " AND (%s::text[] IS NULL OR t.team_id = ANY(%s::text[]))"
                " AND (%s::text IS NULL OR t.team_id > %s) ORDER BY t.team_id LIMIT %s",
                (tenant_id, _ids(only), _ids(only), after, after, limit),
            ).fetchall()
        return [_team(r) for r in rows]

    def team_exists(self, tenant_id: str, team_id: str) -> bool:
        with transaction(self._pool, "directory") as conn:
            return (
                conn.execute(
                    "SELECT 1 FROM teams WHERE tenant_id = %s AND team_id = %s", (tenant_id, team_id)
                ).fetchone()
                is not None
            )

    def create_employee(
        self, tenant_id: str, email: str, display_name: str, team_id: str, actor: str
    ) -> Employee:
        """Insert an employee into a team of the same tenant; unknown team 404, taken email 409."""
        try:
            with transaction(self._pool, "directory") as conn:
                row = conn.execute(
                    "INSERT INTO employees (tenant_id, email, display_name, team_id, created_by)"
                    " SELECT %s, %s, %s, team_id, %s FROM teams WHERE tenant_id = %s AND team_id = %s"
                    " RETURNING employee_id, email, display_name, team_id, created_at",
                    (tenant_id, email, display_name, actor, tenant_id, team_id),
                ).fetchone()
        except psycopg.errors.UniqueViolation as err:
            raise Conflict("An employee with this email exists.") from err
        if row is None:
            raise NotFound("No such team.")
        return _employee(row)

    def list_employees(
        self, tenant_id: str, teams: frozenset[str] | None, limit: int, after: str | None
    ) -> list[Employee]:
        with transaction(self._pool, "directory") as conn:
            rows = conn.execute(
                "SELECT employee_id, email, display_name, team_id, created_at FROM employees"
                " WHERE tenant_id = %s AND (%s::text[] IS NULL OR team_id = ANY(%s::text[]))"
                " AND (%s::text IS NULL OR employee_id > %s) ORDER BY employee_id LIMIT %s",
                (tenant_id, _ids(teams), _ids(teams), after, after, limit),
            ).fetchall()
        return [_employee(r) for r in rows]

    def get_employee(self, tenant_id: str, employee_id: str) -> Employee | None:
        with transaction(self._pool, "directory") as conn:
            row = conn.execute(
                "SELECT employee_id, email, display_name, team_id, created_at FROM employees"
                " WHERE tenant_id = %s AND employee_id = %s",
                (tenant_id, employee_id),
            ).fetchone()
        return _employee(row) if row else None

    def create_grant(
        self, tenant_id: str, user_id: str, role: str, not_before: datetime, not_after: datetime, actor: str
    ) -> AccessGrant:
        with transaction(self._pool, "directory") as conn:
            row = conn.execute(
                "INSERT INTO access_grants (tenant_id, user_id, role, not_before, not_after, created_by)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " RETURNING grant_id, user_id, role, not_before, not_after, created_at, created_by",
                (tenant_id, user_id, role, not_before, not_after, actor),
            ).fetchone()
        assert row is not None
        return _grant(row)

    def list_grants(self, tenant_id: str) -> list[AccessGrant]:
        with transaction(self._pool, "directory") as conn:
            rows = conn.execute(
                "SELECT grant_id, user_id, role, not_before, not_after, created_at, created_by"
                " FROM access_grants WHERE tenant_id = %s AND revoked_at IS NULL"
                " ORDER BY not_after DESC LIMIT 500",
                (tenant_id,),
            ).fetchall()
        return [_grant(r) for r in rows]


def _grant(row: tuple[Any, ...]) -> AccessGrant:
    return AccessGrant(
        grant_id=row[0],
        user=row[1],
        role=row[2],
        not_before=row[3],
        not_after=row[4],
        created_at=row[5],
        created_by=row[6],
    )


def _ids(ids: frozenset[str] | None) -> list[str] | None:
    return sorted(ids) if ids is not None else None
