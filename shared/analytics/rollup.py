"""Building the daily rollups, and applying a new rules version to them.

Both run in the ``analytics_rollup`` job (and in tests and the benchmark, directly):

- ``rebuild``: for claimed (employee, day)s, computes the rows from the raw events
  (``shared.analytics.daily``), categorises them with the tenant's *applied* rules version, replaces
  the employee-days' rows in ``activity_daily``, then recomputes the teams' and the tenant's
  totals of those days (``activity_team_daily``, ``activity_tenant_daily``). One transaction: readers see a day before or after.
- ``recategorize``: when a tenant has a newer rules version than the one applied, recategorises
  every ``activity_daily`` row of the tenant, rebuilds its team totals, and marks the version
  applied, in one transaction.

Versions never mix: ``rebuild`` holds the tenant's rules lock shared and ``recategorize`` holds it
exclusively, so rows are always written with the version applied when they commit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.analytics.daily import DAILY_FROM_RAW, DEFAULT_IDLE_GAP_MS, EmployeeDay, targets_params
from shared.analytics.rules import Categorizer, RuleSet

if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg

# Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)).
RULES_LOCK = 7301
TENANT_DAY_LOCK = 7302

_CLAIM = """
SELECT tenant_id, employee_id, day FROM activity_dirty
ORDER BY marked_at, tenant_id, employee_id, day
LIMIT %s
FOR UPDATE SKIP LOCKED
"""

_NEW_ROWS = f"""
CREATE TEMP TABLE _daily_new ON COMMIT DROP AS
{DAILY_FROM_RAW}
"""

_KEYS = """
SELECT DISTINCT n.tenant_id, coalesce(e.team_id, ''), n.app, n.domain
FROM _daily_new AS n
LEFT JOIN employees AS e USING (tenant_id, employee_id)
"""

_CATMAP_DDL = """
CREATE TEMP TABLE IF NOT EXISTS _catmap (
    tenant_id text, team_id text, app text, domain text, category text
) ON COMMIT DELETE ROWS
"""

_DELETE_DAYS = """
DELETE FROM activity_daily AS d
USING unnest(%(tenants)s::text[], %(employees)s::text[], %(days)s::date[]) AS t(tenant_id, employee_id, day)
WHERE d.tenant_id = t.tenant_id AND d.employee_id = t.employee_id AND d.day = t.day
"""

_INSERT_DAYS = """
INSERT INTO activity_daily
    (tenant_id, employee_id, day, app, domain, category, rules_version, active_ms, idle_ms)
SELECT n.tenant_id, n.employee_id, n.day, n.app, n.domain, m.category, v.version, n.active_ms, n.idle_ms
FROM _daily_new AS n
LEFT JOIN employees AS e USING (tenant_id, employee_id)
JOIN _catmap AS m
  ON m.tenant_id = n.tenant_id AND m.team_id = coalesce(e.team_id, '') AND m.app = n.app AND m.domain = n.domain
JOIN unnest(%(v_tenants)s::text[], %(v_versions)s::int[]) AS v(tenant_id, version) ON v.tenant_id = n.tenant_id
"""

_DELETE_TENANT_DAYS = """
DELETE FROM activity_tenant_daily AS a
USING unnest(%(tenants)s::text[], %(days)s::date[]) AS td(tenant_id, day)
WHERE a.tenant_id = td.tenant_id AND a.day = td.day
"""

_INSERT_TENANT_DAYS = """
WITH td AS (SELECT * FROM unnest(%(tenants)s::text[], %(days)s::date[]) AS td(tenant_id, day))
INSERT INTO activity_tenant_daily (tenant_id, day, app, active_ms, employees)
SELECT d.tenant_id, d.day, d.app, sum(d.active_ms), count(DISTINCT d.employee_id)
FROM activity_daily AS d JOIN td ON d.tenant_id = td.tenant_id AND d.day = td.day
WHERE d.active_ms > 0
GROUP BY 1, 2, 3
"""

_DELETE_TEAM_DAYS = """
DELETE FROM activity_team_daily AS a
USING unnest(%(tenants)s::text[], %(days)s::date[]) AS td(tenant_id, day)
WHERE a.tenant_id = td.tenant_id AND a.day = td.day
"""

# Team sums from the members' rows, for the tenant-days being rebuilt or for a whole tenant. (A
# tenant-day is rebuilt under one lock, so a team that lost its last active member that day loses
# its rows too.)
_TEAM_SUMS = """
INSERT INTO activity_team_daily
    (tenant_id, team_id, day, app, category, rules_version, active_ms, idle_ms, employees)
SELECT d.tenant_id, e.team_id, d.day, d.app, d.category, min(d.rules_version),
       sum(d.active_ms), sum(d.idle_ms), count(DISTINCT d.employee_id)
FROM activity_daily AS d
JOIN employees AS e ON e.tenant_id = d.tenant_id AND e.employee_id = d.employee_id
{scope}
GROUP BY d.tenant_id, e.team_id, d.day, d.app, d.category
"""
_INSERT_TEAM_DAYS = _TEAM_SUMS.format(
    scope="JOIN unnest(%(tenants)s::text[], %(days)s::date[]) AS td(tenant_id, day)"
    " ON d.tenant_id = td.tenant_id AND d.day = td.day"
)
_TENANT_TEAM_DAYS = _TEAM_SUMS.format(scope="WHERE d.tenant_id = %(tenant)s")

_UNMARK = """
DELETE FROM activity_dirty AS d
USING unnest(%(tenants)s::text[], %(employees)s::text[], %(days)s::date[]) AS t(tenant_id, employee_id, day)
WHERE d.tenant_id = t.tenant_id AND d.employee_id = t.employee_id AND d.day = t.day
"""

_PENDING = "SELECT tenant_id FROM productivity_rules_state WHERE applied_version < current_version ORDER BY updated_at"

# Two hash-joinable statements: rows of employees in the directory (categorised with their team's
# rules), then rows of anyone not in it (tenant rules only).
_RECATEGORIZE = """
UPDATE activity_daily AS d
SET category = m.category, rules_version = %(version)s
FROM employees AS e, _catmap AS m
WHERE d.tenant_id = %(tenant)s AND e.tenant_id = d.tenant_id AND e.employee_id = d.employee_id
  AND m.tenant_id = d.tenant_id AND m.team_id = e.team_id AND m.app = d.app AND m.domain = d.domain
"""

_RECATEGORIZE_UNKNOWN = """
UPDATE activity_daily AS d
SET category = m.category, rules_version = %(version)s
FROM _catmap AS m
WHERE d.tenant_id = %(tenant)s AND m.tenant_id = d.tenant_id AND m.team_id = ''
  AND m.app = d.app AND m.domain = d.domain
  AND NOT EXISTS (SELECT FROM employees AS e WHERE e.tenant_id = d.tenant_id AND e.employee_id = d.employee_id)
"""


@dataclass
class RollupStats:
    employee_days: int = 0
    rows: int = 0
    batches: int = 0
    recategorized_tenants: list[str] = field(default_factory=list)
    recategorized_rows: int = 0
    remaining: bool = False
    lag_s: float = 0.0  # how long the oldest still-marked employee-day has waited (0: none left)

    def as_dict(self) -> dict[str, object]:
        return {
            "employee_days": self.employee_days,
            "rows": self.rows,
            "batches": self.batches,
            "recategorized_tenants": self.recategorized_tenants,
            "recategorized_rows": self.recategorized_rows,
            "remaining": self.remaining,
            "lag_s": self.lag_s,
        }


class RuleSets:
    """Rule sets by (tenant, version); a version never changes, so it is cached for good."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], Categorizer] = {}

    def categorizer(self, conn: psycopg.Connection[Any], tenant_id: str, version: int) -> Categorizer:
        key = (tenant_id, version)
        found = self._cache.get(key)
        if found is None:
            rules = None
            if version > 0:
                row = conn.execute(
                    "SELECT rules FROM productivity_rule_sets WHERE tenant_id = %s AND version = %s",
                    (tenant_id, version),
                ).fetchone()
                if row is None:
                    raise LookupError(f"rules version {version} of tenant {tenant_id} is missing")
                rules = RuleSet.model_validate(row[0])
            found = self._cache[key] = Categorizer(rules)
        return found


def applied_versions(conn: psycopg.Connection[Any], tenant_ids: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT tenant_id, applied_version FROM productivity_rules_state WHERE tenant_id = ANY(%s)",
        (list(tenant_ids),),
    ).fetchall()
    found = {str(t): int(v) for t, v in rows}
    return {t: found.get(t, 0) for t in tenant_ids}


def _fill_catmap(
    conn: psycopg.Connection[Any],
    keys: Sequence[tuple[str, str, str, str]],
    categorizers: dict[str, Categorizer],
) -> None:
    conn.execute(_CATMAP_DDL)
    conn.execute("TRUNCATE _catmap")
    with (
        conn.cursor() as cur,
        cur.copy("COPY _catmap (tenant_id, team_id, app, domain, category) FROM STDIN") as copy,
    ):
        for tenant_id, team_id, app, domain in keys:
            category = categorizers[tenant_id].category(team_id or None, app, domain)
            copy.write_row((tenant_id, team_id, app, domain, category.value))


class Rollup:
    def __init__(self, idle_gap_ms: int = DEFAULT_IDLE_GAP_MS, rule_sets: RuleSets | None = None) -> None:
        self._idle_gap_ms = idle_gap_ms
        self._rules = rule_sets or RuleSets()

    def rebuild(self, conn: psycopg.Connection[Any], targets: Sequence[EmployeeDay]) -> int:
        """Rebuild these employee-days inside the caller's transaction; returns rows written."""
        if not targets:
            return 0
        tenants = sorted({t.tenant_id for t in targets})
        for tenant_id in tenants:
            conn.execute("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))", (RULES_LOCK, tenant_id))
        versions = applied_versions(conn, tenants)
        categorizers = {t: self._rules.categorizer(conn, t, v) for t, v in versions.items()}
        params = targets_params(targets, self._idle_gap_ms)
        conn.execute("DROP TABLE IF EXISTS _daily_new")
        conn.execute(_NEW_ROWS, params)
        _fill_catmap(conn, conn.execute(_KEYS).fetchall(), categorizers)
        conn.execute(_DELETE_DAYS, params)
        written = conn.execute(
            _INSERT_DAYS, {**params, "v_tenants": list(versions), "v_versions": list(versions.values())}
        ).rowcount
        tenant_days = sorted({(t.tenant_id, t.day) for t in targets})
        for tenant_id, day in tenant_days:
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s || ':' || %s::text))",
                (TENANT_DAY_LOCK, tenant_id, day),
            )
        td = {"tenants": [t for t, _ in tenant_days], "days": [d for _, d in tenant_days]}
        conn.execute(_DELETE_TENANT_DAYS, td)
        conn.execute(_INSERT_TENANT_DAYS, td)
        conn.execute(_DELETE_TEAM_DAYS, td)
        conn.execute(_INSERT_TEAM_DAYS, td)
        conn.execute("DROP TABLE _daily_new")
        return written

    def run_dirty(
        self, conn: psycopg.Connection[Any], batch: int = 500, budget_s: float = 60.0
    ) -> RollupStats:
        """Claim and rebuild dirty employee-days, a batch per transaction, until none are left or
        the time budget is spent. ``conn`` must not be in autocommit mode."""
        stats = RollupStats()
        deadline = time.monotonic() + budget_s
        while True:
            rows = conn.execute(_CLAIM, (batch,)).fetchall()
            if not rows:
                conn.commit()
                stats.lag_s = self.lag(conn)
                return stats
            targets = [EmployeeDay(str(t), str(e), d) for t, e, d in rows]
            stats.rows += self.rebuild(conn, targets)
            conn.execute(_UNMARK, targets_params(targets))
            conn.commit()
            stats.employee_days += len(targets)
            stats.batches += 1
            if time.monotonic() >= deadline:
                stats.remaining = True
                stats.lag_s = self.lag(conn)
                return stats

    @staticmethod
    def lag(conn: psycopg.Connection[Any]) -> float:
        """Seconds the oldest marked employee-day has waited (0 if none); other runs' claims count."""
        row = conn.execute("SELECT extract(epoch FROM now() - min(marked_at)) FROM activity_dirty").fetchone()
        conn.commit()
        return round(float(row[0]), 3) if row and row[0] is not None else 0.0

    def recategorize(self, conn: psycopg.Connection[Any], tenant_id: str) -> int | None:
        """Apply the tenant's newest rules version to all its rows, in the caller's transaction.
        Returns the rows updated, or ``None`` if the newest version was applied already."""
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (RULES_LOCK, tenant_id))
        row = conn.execute(
            "SELECT current_version, applied_version FROM productivity_rules_state WHERE tenant_id = %s FOR UPDATE",
            (tenant_id,),
        ).fetchone()
        if row is None or row[0] == row[1]:
            return None
        version = int(row[0])
        categorizer = self._rules.categorizer(conn, tenant_id, version)
        keys = conn.execute(
            "SELECT DISTINCT d.tenant_id, coalesce(e.team_id, ''), d.app, d.domain FROM activity_daily AS d"
            " LEFT JOIN employees AS e USING (tenant_id, employee_id) WHERE d.tenant_id = %s",
            (tenant_id,),
        ).fetchall()
        _fill_catmap(conn, keys, {tenant_id: categorizer})
        params = {"tenant": tenant_id, "version": version}
        updated = (
            conn.execute(_RECATEGORIZE, params).rowcount
            + conn.execute(_RECATEGORIZE_UNKNOWN, params).rowcount
        )
        conn.execute("DELETE FROM activity_team_daily WHERE tenant_id = %s", (tenant_id,))
        conn.execute(_TENANT_TEAM_DAYS, params)
        conn.execute(
            "UPDATE productivity_rules_state SET applied_version = %s, applied_at = now() WHERE tenant_id = %s",
            (version, tenant_id),
        )
        return updated

    def recategorize_pending(self, conn: psycopg.Connection[Any], stats: RollupStats) -> None:
        """Every tenant whose newest rules are not applied yet, one transaction each."""
        tenants = [str(r[0]) for r in conn.execute(_PENDING).fetchall()]
        conn.commit()
        for tenant_id in tenants:
            updated = self.recategorize(conn, tenant_id)
            conn.commit()
            if updated is not None:
                stats.recategorized_tenants.append(tenant_id)
                stats.recategorized_rows += updated
