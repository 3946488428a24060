"""A real PostgreSQL for tests: ``DATABASE_URL`` if set, else an embedded server (pgserver)."""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shared.db.migrate import apply

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def server_url() -> Iterator[str]:
    """The URL of a PostgreSQL server to create test databases on."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    import pgserver

    data_dir = tempfile.mkdtemp(prefix="wm-pg-")
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextmanager
def fresh_database(base_url: str, migrate: bool = True) -> Iterator[str]:
    """A new, migrated database on the server; dropped afterwards."""
    name = f"wm_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(base_url)
    params["dbname"] = name
    url = make_conninfo(**params)
    try:
        if migrate:
            with psycopg.connect(url) as conn:
                apply(conn)
        yield url
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
