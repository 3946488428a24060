"""One small connection pool per container.

Locally and in tests the pool connects with ``DATABASE_URL``; in AWS it connects to the RDS
Proxy with a fresh IAM authentication token for every new physical connection (tokens live
15 minutes; connections outlive them, which IAM auth allows).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from shared.errors import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shared.settings import DbSettings


def _iam_token(host: str, port: int, user: str, region: str | None) -> str:
    from shared.aws import _session

    rds = _session().client("rds", region_name=region)
    return str(rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region))


class IamAuthConnection(psycopg.Connection[Any]):
    """A connection that signs in with an RDS IAM token generated just before it connects."""

    settings: DbSettings

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
        s = cls.settings
        assert s.db_host is not None
        assert s.db_user is not None
        kwargs["password"] = _iam_token(s.db_host, s.db_port, s.db_user, s.aws_region)
        return super().connect(conninfo, **kwargs)


def conninfo_for(settings: DbSettings) -> str:
    options = f"-c statement_timeout={settings.db_statement_timeout_ms} -c TimeZone=UTC"
    if settings.database_url:
        return make_conninfo(
            settings.database_url, connect_timeout=settings.db_connect_timeout_s, options=options
        )
    return make_conninfo(
        host=settings.db_host,
        port=settings.db_port,
        dbname=settings.db_name,
        user=settings.db_user,
        sslmode="require" if settings.db_iam_auth else "prefer",
        connect_timeout=settings.db_connect_timeout_s,
        options=options,
    )


def connection_class_for(settings: DbSettings) -> type[psycopg.Connection[Any]]:
    if settings.db_iam_auth and not settings.database_url:
        return type("BoundIamAuthConnection", (IamAuthConnection,), {"settings": settings})
    return psycopg.Connection


def connect(settings: DbSettings) -> psycopg.Connection[Any]:
    """One connection outside any pool (migrations, maintenance)."""
    return connection_class_for(settings).connect(conninfo_for(settings))


def make_pool(settings: DbSettings, max_size: int = 2) -> ConnectionPool[Any]:
    """A pool that opens lazily, checks a connection before lending it, and reconnects after failures."""
    connection_class = connection_class_for(settings)
    return ConnectionPool(
        conninfo_for(settings),
        min_size=0,
        max_size=max_size,
        open=True,
        timeout=settings.db_connect_timeout_s + 2,
        check=ConnectionPool.check_connection,
        connection_class=connection_class,
        kwargs={"prepare_threshold": None},
        name="wm",
    )


_POOLS: dict[DbSettings, ConnectionPool[Any]] = {}


def pool_for(settings: DbSettings) -> ConnectionPool[Any]:
    """This container's pool for these settings (created on first use)."""
    pool = _POOLS.get(settings)
    if pool is None:
        pool = _POOLS[settings] = make_pool(settings)
    return pool


def close_all() -> None:
    """Close every pool (tests, local stack shutdown)."""
    while _POOLS:
        _POOLS.popitem()[1].close()


@contextmanager
def transaction(pool: ConnectionPool[Any], store: str) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection whose transaction commits when the block ends; a driver failure or a
    statement timeout becomes ``StoreUnavailable`` (503) naming ``store``."""
    try:
        with pool.connection() as conn:
            yield conn
    except (psycopg.OperationalError, psycopg.errors.QueryCanceled) as err:
        raise StoreUnavailable(f"The {store} database is unavailable.") from err
