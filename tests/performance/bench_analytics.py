"""``analytics_query_p95_ms``: the three analytics answers from the rollups, against the same answers
computed from the raw events table in the same run.

Data: ``analytics_data`` (1,000 employees in teams of 50, 30 days, ~10.7M raw events, generated in
SQL), rolled up by the real job (``shared.analytics.rollup``), with a rules version applied by the
real recategorisation. The database is kept in ``.local/bench-pg`` (or on ``DATABASE_URL``'s
server) and rebuilt when the generator, the migrations or the rollup code change; the build's
figures are printed when it runs.

Each answer is what the API computes after authorisation: the repository read plus the shaping
(``build_days``, categories of top apps). The raw side runs the very SQL the rollup job runs
(``DAILY_FROM_RAW``) over the period's employee-days, then the same shaping, and the two answers
are checked equal. p95 over 50 runs on the rollup side; on the raw side over 50 runs for the
employee's week, 5 for the team's month (seconds each) and 1 for the tenant's month (minutes).
Audit entries are not part of the timing (``audit_append_per_s`` measures those).
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.performance import analytics_data

if TYPE_CHECKING:
    from collections.abc import Callable

    from shared.analytics.rules import Categorizer
    from tests.performance.report import Report

RUNS = 50
RAW_RUNS = {"employee_week": 50, "team_month": 5, "tenant_top_apps": 1}
DB_NAME = "wm_bench_analytics"
STATE_DIR = Path(".local/bench-pg")
EMPLOYEE = "emp-0123"
TEAM = "t07"
RULES = {
    "rules": [
        {"match": {"app": "Code"}, "category": "productive"},
        {"match": {"app": "Terminal"}, "category": "productive"},
        {"match": {"app": "Jira"}, "category": "productive"},
        {"match": {"app": "Spotify"}, "category": "unproductive"},
        {"match": {"domain": "github.com", "type": "suffix"}, "category": "productive"},
        {"match": {"domain": "stackoverflow.com", "type": "suffix"}, "category": "productive"},
        {"match": {"domain": "(youtube|reddit)\\.com$", "type": "regex"}, "category": "unproductive"},
        {"match": {"app": "Figma"}, "category": "productive", "team_id": TEAM},
    ]
}


def _fingerprint() -> str:
    root = Path(__file__).resolve().parents[2]
    files = [
        Path(analytics_data.__file__),
        root / "shared/analytics/daily.py",
        root / "shared/analytics/rollup.py",
        root / "shared/analytics/rules.py",
        *sorted((root / "shared/db/migrations").glob("*.sql")),
    ]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def _database(server: str, fingerprint: str, report: Report) -> str:
    url = make_conninfo(**(conninfo_to_dict(server) | {"dbname": DB_NAME}))
    with psycopg.connect(server, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
    if exists:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT to_regclass('bench_meta') IS NOT NULL").fetchone()
            if (
                row
                and row[0]
                and conn.execute("SELECT fingerprint FROM bench_meta").fetchone() == (fingerprint,)
            ):
                print("  analytics data set: reused (same generator, migrations and rollup code)", flush=True)
                return url
    _build(server, url, fingerprint, report)
    return url


def _build(server: str, url: str, fingerprint: str, report: Report) -> None:
    from shared.analytics.rollup import Rollup, RollupStats
    from shared.db.migrate import apply

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    with psycopg.connect(url) as conn:
        apply(conn)
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        events = analytics_data.generate(conn, log=lambda m: print(m, flush=True))
        generated = time.perf_counter() - started
        conn.execute(
            "INSERT INTO activity_dirty (tenant_id, employee_id, day)"
            " SELECT DISTINCT tenant_id, employee_id, (ts AT TIME ZONE 'UTC')::date FROM activity_events"
        )
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        stats = Rollup().run_dirty(conn, batch=2000, budget_s=3600)
        rolled = time.perf_counter() - started
        print(f"  rolled up {stats.employee_days:,} employee-days in {rolled:.0f} s", flush=True)
        from functions.analytics_api.repository import PgAnalytics
        from shared.analytics.rules import RuleSet

        PgAnalytics(None).add_rules(conn, analytics_data.TENANT, RuleSet.model_validate(RULES), "bench")  # type: ignore[arg-type]
        conn.commit()
        started = time.perf_counter()
        recat = RollupStats()
        Rollup().recategorize_pending(conn, recat)
        recategorized = time.perf_counter() - started
        conn.execute("CREATE TABLE bench_meta (fingerprint text)")
        conn.execute("INSERT INTO bench_meta VALUES (%s)", (fingerprint,))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    report.baseline("analytics_raw_events_generated", events, "events")
    report.baseline("analytics_generate_events_per_s", events / generated, "events/s")
    report.figure(
        "analytics_rollup_events_per_s", events / rolled, "events/s", "analytics_generate_events_per_s"
    )
    report.figure(
        "analytics_recategorize_rows_per_s",
        recat.recategorized_rows / recategorized,
        "rows/s",
        "analytics_generate_events_per_s",
    )


def _p95(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[max(0, round(0.95 * runs) - 1)], result


def run(report: Report) -> None:
    from functions.analytics_api.logic import build_days
    from functions.analytics_api.repository import PgAnalytics
    from shared.analytics.daily import EmployeeDay, daily_from_raw
    from shared.analytics.rollup import RuleSets
    from shared.db.pool import close_all, pool_for
    from shared.settings import DbSettings
    from tests.support.postgres import server_url

    with server_url(keep_in=STATE_DIR) as server:
        url = _database(server, _fingerprint(), report)
        # The raw tenant answer takes about a minute: past the functions' 60 s statement timeout.
        pool = pool_for(DbSettings(database_url=url, db_statement_timeout_ms=900_000))
        store = PgAnalytics(pool)
        tenant = analytics_data.TENANT
        start = analytics_data.START
        week = (start + timedelta(days=10), start + timedelta(days=16))
        month = (start, start + timedelta(days=29))
        with pool.connection() as conn:
            version = int(conn.execute("SELECT applied_version FROM productivity_rules_state").fetchone()[0])
            categorizer = RuleSets().categorizer(conn, tenant, version)
            members = [str(r[0]) for r in conn.execute(
                "SELECT employee_id FROM employees WHERE tenant_id = %s AND team_id = %s ORDER BY 1", (tenant, TEAM)
            ).fetchall()]  # fmt: skip
            employees = [str(r[0]) for r in conn.execute(
                "SELECT employee_id FROM employees WHERE tenant_id = %s ORDER BY 1", (tenant,)
            ).fetchall()]  # fmt: skip
            team_of = dict(
                conn.execute(
                    "SELECT employee_id, team_id FROM employees WHERE tenant_id = %s", (tenant,)
                ).fetchall()
            )

        def days_of(ids: list[str], first: Any, last: Any) -> list[EmployeeDay]:
            n = (last - first).days + 1
            return [EmployeeDay(tenant, e, first + timedelta(days=d)) for e in ids for d in range(n)]

        def raw_rows(ids: list[str], first: Any, last: Any) -> list[tuple[Any, str, str, int, int]]:
            with pool.connection() as conn:
                rows = daily_from_raw(conn, days_of(ids, first, last))
            cat: Categorizer = categorizer
            return [(day, app, cat.category(team_of[emp], app, dom).value, act, idle)
                    for _t, emp, day, app, dom, act, idle in rows]  # fmt: skip

        def raw_top(first: Any, last: Any) -> list[tuple[str, int]]:
            with pool.connection() as conn:
                rows = daily_from_raw(conn, days_of(employees, first, last))
            totals: dict[str, int] = {}
            for _t, _e, _d, app, _dom, act, _idle in rows:
                totals[app] = totals.get(app, 0) + act
            return sorted(((a, ms) for a, ms in totals.items() if ms > 0), key=lambda x: (-x[1], x[0]))

        cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
            "employee_week": (
                lambda: build_days(store.employee_days(tenant, EMPLOYEE, *week).rows, *week),
                lambda: build_days(raw_rows([EMPLOYEE], *week), *week),
            ),
            "team_month": (
                lambda: build_days(store.team_days(tenant, TEAM, *month).rows, *month),
                lambda: build_days(raw_rows(members, *month), *month),
            ),
            "tenant_top_apps": (
                lambda: [
                    (t.app, t.active_ms, categorizer.category(None, t.app).value)
                    for t in store.top_apps(tenant, *month, None)[1]
                ],
                lambda: [(a, ms, categorizer.category(None, a).value) for a, ms in raw_top(*month)],
            ),
        }
        for name, (rolled, raw) in cases.items():
            print(f"  {name}: rollup x{RUNS}, raw x{RAW_RUNS[name]} ...", flush=True)
            rolled()  # warm the pool and the caches alike
            fast, answer = _p95(rolled, RUNS)
            slow, expected = _p95(raw, RAW_RUNS[name])
            if answer != expected:
                raise AssertionError(f"{name}: the rollup's answer differs from the raw events' answer")
            report.baseline(f"analytics_raw_p95_ms_{name}", slow, "ms")
            report.figure(
                f"analytics_query_p95_ms_{name}", fast, "ms", f"analytics_raw_p95_ms_{name}", goal="< 50 ms"
            )
        close_all()
