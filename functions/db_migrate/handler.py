"""Applies the SQL migrations on deploy (invoked by a CDK trigger), with the runner the tests use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.db.migrate import apply
from shared.db.pool import connect
from shared.observability import logger
from shared.settings import DbSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    with connect(DbSettings()) as conn:
        versions = apply(conn)
    logger.info("migrations applied", extra={"versions": versions})
    return {"applied": versions}
