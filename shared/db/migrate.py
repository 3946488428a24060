"""SQL migration runner: the same code applies the schema in tests, locally and on deploy.

Migrations are ``shared/db/migrations/NNNN_name.sql``, applied in order, each in its own
transaction, under an advisory lock (two deploys cannot interleave). A migration already applied
whose file changed is an error: history is never rewritten silently.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_ID = 0x776D_6D69_6772  # "wmmigr"


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [Migration(p.stem, p) for p in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))]


def apply(conn: psycopg.Connection[Any], directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; returns the versions applied now."""
    applied_now: list[str] = []
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
        for mig in discover(directory):
            if mig.version in done:
                if done[mig.version] != mig.checksum:
                    raise MigrationError(f"migration {mig.version} was changed after it was applied")
                continue
            with conn.transaction():
                conn.execute(mig.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                    (mig.version, mig.checksum),
                )
            applied_now.append(mig.version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied_now


def main(argv: list[str] | None = None) -> int:
    from shared.db.pool import connect
    from shared.settings import DbSettings

    parser = argparse.ArgumentParser(description="Apply the SQL migrations.")
    parser.add_argument("--database-url", help="defaults to DATABASE_URL / DB_* settings")
    args = parser.parse_args(argv)
    settings = DbSettings(database_url=args.database_url) if args.database_url else DbSettings()
    with connect(settings) as conn:
        versions = apply(conn)
    print("applied:", ", ".join(versions) if versions else "nothing (up to date)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
