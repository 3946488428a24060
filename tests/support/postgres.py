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
    from pathlib import Path


@contextmanager
def server_url(keep_in: Path | None = None) -> Iterator[str]:
    """The URL of a PostgreSQL server to create test databases on: ``DATABASE_URL``'s, else an
    embedded one, in a temporary directory deleted afterwards or, with ``keep_in``, in that
    directory, kept for the next run."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    import pgserver

    if keep_in is not None:
        keep_in.mkdir(parents=True, exist_ok=True)
    data_dir = keep_in.resolve() if keep_in is not None else tempfile.mkdtemp(prefix="wm-pg-")
    server = pgserver.get_server(data_dir, cleanup_mode="stop" if keep_in is not None else "delete")
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
