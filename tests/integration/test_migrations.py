"""The migration runner that tests, the local stack and the deploy trigger all use."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from shared.db.migrate import MigrationError, apply, discover
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.integration


def test_the_shipped_migrations_apply_once_and_then_are_up_to_date(pg_server: str) -> None:
    with fresh_database(pg_server, migrate=False) as url, psycopg.connect(url) as conn:
        first = apply(conn)
        second = apply(conn)
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert first == [m.version for m in discover()]
    assert second == []
    assert {"activity_events", "activity_hourly", "schema_migrations"} <= tables


def test_a_migration_edited_after_it_was_applied_is_refused(pg_server: str, tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x int);")
    with fresh_database(pg_server, migrate=False) as url, psycopg.connect(url) as conn:
        assert apply(conn, tmp_path) == ["0001_a"]
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x bigint);")
        with pytest.raises(MigrationError, match="0001_a"):
            apply(conn, tmp_path)


def test_a_failing_migration_leaves_no_trace_and_later_ones_wait(pg_server: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE ok (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (x int); SELECT no_such_function();")
    (tmp_path / "0003_later.sql").write_text("CREATE TABLE later (x int);")
    with fresh_database(pg_server, migrate=False) as url, psycopg.connect(url) as conn:
        with pytest.raises(psycopg.errors.UndefinedFunction):
            apply(conn, tmp_path)
        conn.rollback()
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        applied = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert "half" not in tables
    assert "later" not in tables
    assert applied == ["0001_ok"]


def test_concurrent_runners_apply_each_migration_once(pg_server: str) -> None:
    with fresh_database(pg_server, migrate=False) as url:
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with psycopg.connect(url) as conn:
                    results.append(apply(conn))
            except BaseException as err:  # collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, len(discover())]


def test_the_deploy_trigger_function_applies_the_migrations(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from functions.db_migrate.handler import lambda_handler
    from infra_cdk.local.apigw import FakeLambdaContext

    sample = json.loads((Path(__file__).resolve().parents[2] / "events/db_migrate/trigger.json").read_text())
    with fresh_database(pg_server, migrate=False) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        assert lambda_handler(sample, FakeLambdaContext()) == {"applied": [m.version for m in discover()]}
        assert lambda_handler(sample, FakeLambdaContext()) == {"applied": []}
