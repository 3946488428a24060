"""An employee's day from the raw events: active and idle time per app and URL domain.

The same SQL builds the rollup (``analytics_rollup``) and answers the benchmark's raw baseline, so
the two can only differ by where they read from.

How a day is counted (UTC days; an event crossing midnight counts in both days, clipped):
- focus: the union of the ``app_focus`` intervals ``[ts, ts + duration)`` of each app;
- idle: the union of ``idle`` intervals, ``input_activity`` windows with no key or mouse input,
  and gaps longer than ``idle_gap_ms`` between consecutive ``input_activity`` windows (an agent
  that reports input counts reports a window each interval: a missing stretch had no input);
- active time of an app = its focus minus idle; the idle it loses is its ``idle_ms``;
- that active time is split by the ``url_visit`` intervals that overlap it, one row per URL
  domain, and the rest (domain ``''``). ``url_visit`` time outside any app focus counts nothing.
Heartbeats carry no duration of activity and are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date

    import psycopg

# A stretch of more than this between input windows counts as idle.
DEFAULT_IDLE_GAP_MS = 5 * 60 * 1000


@dataclass(frozen=True, slots=True)
class EmployeeDay:
    tenant_id: str
    employee_id: str
    day: date


# Parameters: %(tenants)s, %(employees)s, %(days)s (parallel arrays), %(idle_gap_ms)s.
# Produces (tenant_id, employee_id, day, app, domain, active_ms, idle_ms), rows with time only.
DAILY_FROM_RAW = """
SELECT t.tenant_id, t.employee_id, t.day, x.app, x.domain, x.active_ms, x.idle_ms
FROM unnest(%(tenants)s::text[], %(employees)s::text[], %(days)s::date[]) AS t(tenant_id, employee_id, day)
CROSS JOIN LATERAL (
    -- One employee-day at a time: every join below is within one person's day.
    WITH ev AS (
        SELECT e.type, e.app, e.domain,
               coalesce(e.key_count, 0) + coalesce(e.mouse_count, 0) AS inputs,
               tstzrange(e.ts, e.ts + e.duration_ms * interval '1 millisecond')
               * tstzrange(t.day::timestamp AT TIME ZONE 'UTC', (t.day + 1)::timestamp AT TIME ZONE 'UTC') AS r
        FROM activity_events AS e
        WHERE e.tenant_id = t.tenant_id AND e.employee_id = t.employee_id
          AND e.ts >= (t.day - 1)::timestamp AT TIME ZONE 'UTC'
          AND e.ts < (t.day + 1)::timestamp AT TIME ZONE 'UTC'
          AND e.type <> 'heartbeat' AND e.duration_ms > 0
          AND e.ts + e.duration_ms * interval '1 millisecond' > t.day::timestamp AT TIME ZONE 'UTC'
    ), inputs AS (
        SELECT r, inputs, lead(lower(r)) OVER (ORDER BY lower(r)) AS next_start
        FROM ev WHERE type = 'input_activity'
    ), idle AS (
        SELECT coalesce(range_agg(r), '{}') AS m
        FROM (
            SELECT r FROM ev WHERE type = 'idle'
            UNION ALL
            SELECT r FROM inputs WHERE inputs = 0
            UNION ALL
            SELECT tstzrange(upper(r), next_start) FROM inputs
            WHERE next_start - upper(r) > %(idle_gap_ms)s * interval '1 millisecond'
        ) AS i
    ), urls AS (
        SELECT domain, range_agg(r) AS m FROM ev WHERE type = 'url_visit' AND domain IS NOT NULL GROUP BY domain
    ), url_all AS (
        SELECT coalesce(range_agg(m), '{}') AS m FROM urls
    ), focus AS (
        SELECT f.app, f.m - idle.m AS act, f.m * idle.m AS idl
        FROM (SELECT coalesce(app, '') AS app, range_agg(r) AS m FROM ev WHERE type = 'app_focus' GROUP BY 1) AS f,
             idle
    )
    SELECT f.app, ''::text AS domain, mr_ms(f.act - u.m) AS active_ms, mr_ms(f.idl) AS idle_ms
    FROM focus AS f, url_all AS u
    UNION ALL
    SELECT f.app, u.domain, mr_ms(f.act * u.m), 0
    FROM focus AS f JOIN urls AS u ON f.act && u.m
) AS x
WHERE x.active_ms > 0 OR x.idle_ms > 0
"""


def targets_params(targets: Iterable[EmployeeDay], idle_gap_ms: int = DEFAULT_IDLE_GAP_MS) -> dict[str, Any]:
    tenants: list[str] = []
    employees: list[str] = []
    days: list[date] = []
    for t in targets:
        tenants.append(t.tenant_id)
        employees.append(t.employee_id)
        days.append(t.day)
    return {"tenants": tenants, "employees": employees, "days": days, "idle_gap_ms": idle_gap_ms}


def daily_from_raw(
    conn: psycopg.Connection[Any], targets: Iterable[EmployeeDay], idle_gap_ms: int = DEFAULT_IDLE_GAP_MS
) -> list[tuple[str, str, date, str, str, int, int]]:
    """The rows of these employee-days, computed from the raw events (no categories)."""
    return conn.execute(DAILY_FROM_RAW, targets_params(targets, idle_gap_ms)).fetchall()
