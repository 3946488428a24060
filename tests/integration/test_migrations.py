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
        first = lambda_handler(sample, FakeLambdaContext())
        assert first == {"applied": [m.version for m in discover()], "roles_created": []}
        assert lambda_handler(sample, FakeLambdaContext()) == {"applied": [], "roles_created": []}


def test_the_first_deploy_bootstrap_creates_the_function_roles_as_the_master_user(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import uuid

    import boto3
    from moto import mock_aws
    from psycopg.conninfo import conninfo_to_dict

    from functions.db_migrate.handler import lambda_handler
    from infra_cdk.local.apigw import FakeLambdaContext
    from shared import aws

    suffix = uuid.uuid4().hex[:6]
    migrator, reader = f"wm_migrator_{suffix}", f"wm_reader_{suffix}"
    server = conninfo_to_dict(pg_server)
    try:
        with fresh_database(pg_server, migrate=False) as url, mock_aws():
            aws.reset_clients()
            # Given the master secret RDS keeps, and a database with none of the roles yet
            arn = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
                Name="db-master",
                SecretString=json.dumps(
                    {"username": server.get("user", "postgres"), "password": server.get("password", "")}
                ),
            )["ARN"]
            monkeypatch.setenv("DATABASE_URL", url)
            monkeypatch.setenv("DB_BOOTSTRAP_SECRET_ARN", arn)
            monkeypatch.setenv("DB_BOOTSTRAP_HOST", str(server.get("host", "127.0.0.1")))
            if server.get("port"):
                monkeypatch.setenv("DB_PORT", str(server["port"]))
            monkeypatch.setenv("DB_NAME", conninfo_to_dict(url)["dbname"])
            monkeypatch.setenv("DB_USER", migrator)
            monkeypatch.setenv("DB_FUNCTION_USERS", f"wm_ingest,{reader}")
            # When the trigger runs twice
            first = lambda_handler({}, FakeLambdaContext())
            second = lambda_handler({}, FakeLambdaContext())
            with psycopg.connect(url) as conn:
                roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin")}
            aws.reset_clients()
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            for role in (migrator, reader):
                admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    # Then the roles exist once, and only the missing ones were created
    assert set(first["roles_created"]) == {migrator, reader}
    assert second["roles_created"] == []
    assert {migrator, reader, "wm_ingest"} <= roles
