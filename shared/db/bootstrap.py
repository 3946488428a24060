"""First-deploy bootstrap, run as the cluster's master user: the roles the functions sign in as.

Each function connects through the RDS Proxy with IAM authentication as its own role, so those
roles must exist with ``LOGIN`` and membership in ``rds_iam`` before the migration role (which
owns the schema) can grant them privileges. Idempotent: existing roles are left as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg import sql

if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg


def bootstrap_roles(
    conn: psycopg.Connection[Any], migrator: str, function_users: Sequence[str], database: str
) -> list[str]:
    """Create missing roles; returns the roles created now. ``conn`` must be autocommit."""
    created: list[str] = []
    has_rds_iam = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() is not None
    for user in dict.fromkeys([migrator, *function_users]):
        role = sql.Identifier(user)
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
            created.append(user)
        if has_rds_iam:
            conn.execute(sql.SQL("GRANT rds_iam TO {}").format(role))
    conn.execute(
        sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(database), sql.Identifier(migrator)
        )
    )
    conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(migrator)))
    return created
