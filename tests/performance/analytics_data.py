"""A month of a 1,000-person tenant, generated inside PostgreSQL: ~10.7M raw events, then rolled up.

Per employee and working day (8 h from about 08:00 UTC, in 2-minute focus slots):
- 240 ``app_focus`` events, one app per slot; every fourth slot is the browser;
- 60 ``url_visit`` events inside browser slots (domains from a list);
- 48 ``input_activity`` windows of 10 minutes, one in ten with no input;
- 8 ``idle`` events of 3 to 10 minutes.
Values come from ``hashtext`` of the coordinates, so every run generates the same data set.
Employees are in teams of 50 (team ``t00`` .. ``t19``) in the directory tables.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

TENANT = "bench-tenant"
START = date(2026, 10, 1)
APPS = ("Code", "Slack", "Terminal", "Outlook", "Zoom", "Excel", "Figma", "Spotify", "Word", "Jira", "Teams")
BROWSER = "Chrome"
DOMAINS = (
    "github.com",
    "docs.python.org",
    "youtube.com",
    "news.ycombinator.com",
    "reddit.com",
    "stackoverflow.com",
    "wikipedia.org",
    "aws.amazon.com",
    "mail.google.com",
    "linkedin.com",
)
EVENTS_PER_DAY = 356

_GENERATE = """
INSERT INTO activity_events
    (ts, event_id, tenant_id, employee_id, device_id, type, duration_ms, app, domain,
     key_count, mouse_count, agent_version, received_at)
SELECT ts, md5(%(tenant)s || ':' || e || ':' || %(day)s || ':' || i)::uuid, %(tenant)s,
       'emp-' || lpad(e::text, 4, '0'), 'dev-' || lpad(e::text, 4, '0'), type, duration_ms, app, domain,
       key_count, mouse_count, '1.0.0', ts
FROM (
    SELECT e, i, start + CASE
               WHEN i < 240 THEN i * interval '2 minutes'
               WHEN i < 300 THEN (i - 240) * 4 * interval '2 minutes' + interval '10 seconds'
               WHEN i < 348 THEN (i - 300) * interval '10 minutes'
               ELSE (abs(hashtext(e || 'i' || i || %(day)s)) %% 230) * interval '2 minutes'
           END AS ts,
           CASE WHEN i < 240 THEN 'app_focus' WHEN i < 300 THEN 'url_visit'
                WHEN i < 348 THEN 'input_activity' ELSE 'idle' END AS type,
           CASE WHEN i < 240 THEN 120000 WHEN i < 300 THEN 100000 WHEN i < 348 THEN 600000
                ELSE 180000 + abs(hashtext(e || 'd' || i || %(day)s)) %% 420000 END AS duration_ms,
           CASE WHEN i < 240 THEN
                    CASE WHEN i %% 4 = 0 THEN %(browser)s
                         ELSE (%(apps)s::text[])[1 + abs(hashtext(e || 'a' || i || %(day)s)) %% %(n_apps)s] END
                WHEN i < 300 THEN %(browser)s END AS app,
           CASE WHEN i >= 240 AND i < 300
                THEN (%(domains)s::text[])[1 + abs(hashtext(e || 'u' || i || %(day)s)) %% %(n_domains)s] END AS domain,
           CASE WHEN i >= 300 AND i < 348 THEN
                CASE WHEN abs(hashtext(e || 'k' || i || %(day)s)) %% 10 = 0 THEN 0 ELSE abs(hashtext(e || 'k' || i || %(day)s)) %% 900 END
           END AS key_count,
           CASE WHEN i >= 300 AND i < 348 THEN
                CASE WHEN abs(hashtext(e || 'k' || i || %(day)s)) %% 10 = 0 THEN 0 ELSE abs(hashtext(e || 'm' || i || %(day)s)) %% 400 END
           END AS mouse_count
    FROM generate_series(0, %(employees)s - 1) AS e,
         LATERAL (SELECT %(day)s::timestamp AT TIME ZONE 'UTC' + interval '8 hours'
                         + (abs(hashtext(e || ':' || %(day)s)) %% 60) * interval '1 minute' AS start) AS s,
         generate_series(0, %(per_day)s - 1) AS i
) AS g
"""


def generate(
    conn: psycopg.Connection[Any],
    employees: int = 1000,
    days: int = 30,
    team_size: int = 50,
    log: Any = print,
) -> int:
    """Fill an empty, migrated database; returns the number of raw events. ``conn`` autocommits."""
    started = time.perf_counter()
    teams = (employees + team_size - 1) // team_size
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO teams (tenant_id, team_id, name, created_by) "
            "SELECT %s, 't' || lpad(n::text, 2, '0'), 'Team ' || n, 'bench' FROM generate_series(0, %s - 1) n",
            (TENANT, teams),
        )
        cur.execute(
            "INSERT INTO employees (tenant_id, employee_id, email, display_name, team_id, created_by) "
            "SELECT %s, 'emp-' || lpad(e::text, 4, '0'), 'e' || e || '@bench.example', 'Employee ' || e, "
            "'t' || lpad((e / %s)::text, 2, '0'), 'bench' FROM generate_series(0, %s - 1) e",
            (TENANT, team_size, employees),
        )
    total = 0
    for d in range(days):
        day = START + timedelta(days=d)
        conn.execute("SELECT ensure_activity_partition(%s)", (day,))
        cur = conn.execute(
            _GENERATE,
            {
                "tenant": TENANT,
                "day": day,
                "employees": employees,
                "per_day": EVENTS_PER_DAY,
                "apps": list(APPS),
                "n_apps": len(APPS),
                "browser": BROWSER,
                "domains": list(DOMAINS),
                "n_domains": len(DOMAINS),
            },
        )
        total += cur.rowcount
        log(f"  generated {day}: {total:,} events ({time.perf_counter() - started:.0f} s)")
    conn.execute("ANALYZE activity_events")
    return total
