"""PostgreSQL reads of the daily rollups (migration 0006) and the rules versions.

Every answer is read in one REPEATABLE READ, READ ONLY transaction, so its rows and the rules
version they are reported with come from the same snapshot; rows categorised with another
version than the applied one (which the rollup job's locking rules out) fail the answer loudly
instead of being mixed into it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from shared.db.pool import transaction
from shared.errors import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date, datetime

    import psycopg
    from psycopg_pool import ConnectionPool

    from shared.analytics.rules import RuleSet

# (day, app, category, active_ms, idle_ms)
DayRow = tuple["date", str, str, int, int]


class MixedRulesVersions(StoreUnavailable):
    """Rows of one answer carry different rules versions: refused, never mixed."""

    default_message = "Productivity figures are being recategorised; retry shortly."


@dataclass(frozen=True)
class Rows:
    version: int
    rows: list[DayRow]


@dataclass(frozen=True)
class AppTotal:
    app: str
    active_ms: int
    users: int  # a lower bound of the distinct people who used it in the period


@dataclass(frozen=True)
class RulesState:
    version: int
    applied_version: int
    created_at: datetime | None
    created_by: str | None
    rules: Any


_STATE = "SELECT current_version, applied_version FROM productivity_rules_state WHERE tenant_id = %s"

_EMPLOYEE_DAYS = """
SELECT day, app, category, sum(active_ms)::bigint, sum(idle_ms)::bigint, min(rules_version), max(rules_version)
FROM activity_daily
WHERE tenant_id = %(tenant)s AND employee_id = %(employee)s AND day BETWEEN %(from)s AND %(to)s
GROUP BY day, app, category
"""

_TEAM_DAYS = """
SELECT day, app, category, active_ms, idle_ms, rules_version, rules_version
FROM activity_team_daily
WHERE tenant_id = %(tenant)s AND team_id = %(team)s AND day BETWEEN %(from)s AND %(to)s
"""

_TENANT_APPS = """
SELECT app, sum(active_ms)::bigint, max(employees)
FROM activity_tenant_daily
WHERE tenant_id = %(tenant)s AND day BETWEEN %(from)s AND %(to)s
GROUP BY app
ORDER BY 2 DESC, app
"""

_TEAM_APPS = """
SELECT app, sum(active_ms)::bigint, max(employees)
FROM activity_team_daily
WHERE tenant_id = %(tenant)s AND team_id = %(team)s AND day BETWEEN %(from)s AND %(to)s AND active_ms > 0
GROUP BY app
ORDER BY 2 DESC, app
"""


class PgAnalytics:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in a read-only snapshot (driver failures: 503)."""
        with transaction(self._pool, "analytics") as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    @staticmethod
    def _applied(conn: psycopg.Connection[Any], tenant_id: str) -> int:
        row = conn.execute(_STATE, (tenant_id,)).fetchone()
        return int(row[1]) if row else 0

    @staticmethod
    def _checked(version: int, raw: list[tuple[Any, ...]]) -> Rows:
        rows: list[DayRow] = []
        for day, app, category, active, idle, vmin, vmax in raw:
            if vmin != version or vmax != version:
                raise MixedRulesVersions()
            rows.append((day, app, category, int(active), int(idle)))
        return Rows(version, rows)

    def _days(self, sql: str, tenant_id: str, params: dict[str, Any]) -> Rows:
        """Day rows and the applied rules version, read in one snapshot; mixed versions: 503."""
        with self.reading() as conn:
            version = self._applied(conn, tenant_id)
            raw = conn.execute(sql, {"tenant": tenant_id, **params}).fetchall()
        return self._checked(version, raw)

    def employee_days(self, tenant_id: str, employee_id: str, start: date, end: date) -> Rows:
        return self._days(_EMPLOYEE_DAYS, tenant_id, {"employee": employee_id, "from": start, "to": end})

    def team_exists(self, tenant_id: str, team_id: str) -> bool:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT 1 FROM teams WHERE tenant_id = %s AND team_id = %s", (tenant_id, team_id)
            ).fetchone()
        return row is not None

    def team_members(self, tenant_id: str, team_id: str) -> list[str]:
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT employee_id FROM employees WHERE tenant_id = %s AND team_id = %s ORDER BY employee_id",
                (tenant_id, team_id),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def team_days(self, tenant_id: str, team_id: str, start: date, end: date) -> Rows:
        return self._days(_TEAM_DAYS, tenant_id, {"team": team_id, "from": start, "to": end})

    def tenant_size(self, tenant_id: str) -> int:
        with self.reading() as conn:
            row = conn.execute("SELECT count(*) FROM employees WHERE tenant_id = %s", (tenant_id,)).fetchone()
        return int(row[0]) if row else 0

    def top_apps(
        self, tenant_id: str, start: date, end: date, team_id: str | None
    ) -> tuple[int, list[AppTotal]]:
        params = {"tenant": tenant_id, "team": team_id, "from": start, "to": end}
        with self.reading() as conn:
            version = self._applied(conn, tenant_id)
            rows = conn.execute(_TEAM_APPS if team_id else _TENANT_APPS, params).fetchall()
        return version, [AppTotal(str(a), int(ms), int(n)) for a, ms, n in rows]

    def rules(self, tenant_id: str, version: int | None = None) -> RulesState:
        with self.reading() as conn:
            state = conn.execute(_STATE, (tenant_id,)).fetchone()
            current, applied = (int(state[0]), int(state[1])) if state else (0, 0)
            wanted = current if version is None else version
            row = conn.execute(
                "SELECT rules, created_at, created_by FROM productivity_rule_sets WHERE tenant_id = %s AND version = %s",
                (tenant_id, wanted),
            ).fetchone()
        if row is None:
            return RulesState(current, applied, None, None, {"rules": []})
        return RulesState(current, applied, row[1], str(row[2]), row[0])

    def add_rules(self, conn: psycopg.Connection[Any], tenant_id: str, rules: RuleSet, actor: str) -> int:
        """Store ``rules`` as the tenant's next version (inside the caller's transaction)."""
        row = conn.execute(
            "INSERT INTO productivity_rules_state AS s (tenant_id, current_version) VALUES (%s, 1)"
            " ON CONFLICT (tenant_id) DO UPDATE SET current_version = s.current_version + 1, updated_at = now()"
            " RETURNING current_version",
            (tenant_id,),
        ).fetchone()
        assert row is not None
        version = int(row[0])
        conn.execute(
            "INSERT INTO productivity_rule_sets (tenant_id, version, rules, created_by) VALUES (%s, %s, %s, %s)",
            (tenant_id, version, Jsonb(rules.model_dump(mode="json", exclude_none=True)), actor),
        )
        return version

    def put_rules(self, tenant_id: str, rules: RuleSet, actor: str) -> int:
        with transaction(self._pool, "analytics") as conn:
            return self.add_rules(conn, tenant_id, rules, actor)
