"""The connection pool: DATABASE_URL locally, IAM tokens for the RDS Proxy in AWS."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from shared.db import pool as db_pool
from shared.settings import DbSettings

pytestmark = pytest.mark.integration


def test_iam_auth_signs_each_new_connection_with_a_fresh_token(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given settings as in AWS (proxy endpoint, IAM auth), pointed at the test server
    params = conninfo_to_dict(pg_url)
    calls: list[tuple[str, int, str, str | None]] = []

    def fake_token(host: str, port: int, user: str, region: str | None) -> str:
        calls.append((host, port, user, region))
        return f"token-{len(calls)}"

    monkeypatch.setattr(db_pool, "_iam_token", fake_token)
    settings = DbSettings(
        db_host=str(params.get("host")),
        db_port=int(params.get("port") or 5432),
        db_name=str(params["dbname"]),
        db_user=str(params.get("user") or "postgres"),
        db_iam_auth=True,
        AWS_REGION="eu-central-1",
    )
    # When two connections are opened
    for _ in range(2):
        with db_pool.connect(settings) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == settings.db_user
            assert conn.execute("SHOW TimeZone").fetchone()[0] == "UTC"
    # Then each asked for its own token, for the proxy endpoint and user
    assert calls == [(settings.db_host, settings.db_port, settings.db_user, "eu-central-1")] * 2


def test_settings_without_any_way_to_connect_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        DbSettings(database_url=None, db_host=None)
