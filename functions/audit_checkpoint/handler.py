"""Scheduled: signs the audit chain heads with KMS and writes the checkpoint to the Object-Lock bucket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.audit_checkpoint import logic
from functions.audit_checkpoint.settings import AuditCheckpointSettings
from shared import aws
from shared.audit.checkpoint import ChainHead, CheckpointStore, KmsSigner, chain_heads
from shared.db.pool import pool_for
from shared.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from psycopg_pool import ConnectionPool


class PgHeads:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def heads(self) -> list[ChainHead]:
        with self._pool.connection() as conn:
            return chain_heads(conn)


@dataclass(frozen=True)
class Deps:
    heads: logic.HeadSource
    store: logic.CheckpointRepository
    signer: KmsSigner
    retention: timedelta


@cache
def deps() -> Deps:
    s = AuditCheckpointSettings()
    return Deps(
        heads=PgHeads(pool_for(s)),
        store=CheckpointStore(aws.s3(), s.audit_checkpoint_bucket, s.audit_checkpoint_prefix),
        signer=KmsSigner(aws.kms(), s.audit_signing_key_id),
        retention=timedelta(days=s.audit_checkpoint_retention_days),
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:  # noqa: ARG001
    d = deps()
    result = logic.write_checkpoint(d.heads, d.store, d.signer, datetime.now(UTC), d.retention)
    metrics.add_metric(name="AuditCheckpointsWritten", unit=MetricUnit.Count, value=int(result.written))
    logger.info("audit checkpoint", extra=result.as_dict())
    return result.as_dict()
