"""Applies the SQL migrations on deploy (invoked by a CDK trigger), with the runner the tests use.

In AWS the first step signs in to the writer as the master user (its password from the secret RDS
manages) to create the IAM-authenticated roles; then the migrations run as the migration role
through the RDS Proxy.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import psycopg

from functions.db_migrate.settings import MigrateSettings
from shared import aws
from shared.db.bootstrap import bootstrap_roles
from shared.db.migrate import apply
from shared.db.pool import connect
from shared.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def bootstrap(settings: MigrateSettings) -> list[str]:
    if not settings.db_bootstrap_secret_arn:
        return []
    secret = json.loads(
        aws.secretsmanager().get_secret_value(SecretId=settings.db_bootstrap_secret_arn)["SecretString"]
    )
    with psycopg.connect(
        host=settings.db_bootstrap_host or secret.get("host"),
        port=settings.db_port,
        dbname=settings.db_name or secret.get("dbname"),
        user=secret["username"],
        password=secret["password"],
        sslmode="require",
        connect_timeout=settings.db_connect_timeout_s,
        autocommit=True,
    ) as conn:
        assert settings.db_user is not None
        return bootstrap_roles(
            conn, settings.db_user, settings.function_users, settings.db_name or "postgres"
        )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    settings = MigrateSettings()
    created = bootstrap(settings)
    with connect(settings) as conn:
        versions = apply(conn)
    logger.info("migrations applied", extra={"versions": versions, "roles_created": created})
    return {"applied": versions, "roles_created": created}
