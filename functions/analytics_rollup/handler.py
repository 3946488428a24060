"""Scheduled (every minute): applies new productivity rules versions, then rebuilds the daily rollups
of the (employee, day)s the stream consumer marked, from the raw events (``shared.analytics``)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.analytics_rollup.settings import AnalyticsRollupSettings
from shared.analytics.rollup import Rollup, RollupStats
from shared.db.pool import pool_for
from shared.observability import logger, metrics, tracer

# infra_cdk.constants.METRIC_ANALYTICS_ROLLUP_LAG (its alarm); the drift test keeps them equal.
ROLLUP_LAG_METRIC = "AnalyticsRollupLagSeconds"

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from psycopg_pool import ConnectionPool


@cache
def deps() -> tuple[AnalyticsRollupSettings, ConnectionPool[Any], Rollup]:
    s = AnalyticsRollupSettings()
    return s, pool_for(s), Rollup(idle_gap_ms=s.idle_gap_ms)


def run() -> RollupStats:
    s, pool, rollup = deps()
    stats = RollupStats()
    with pool.connection() as conn:
        rollup.recategorize_pending(conn, stats)
        done = rollup.run_dirty(conn, batch=s.rollup_batch, budget_s=s.rollup_budget_s)
    done.recategorized_tenants = stats.recategorized_tenants
    done.recategorized_rows = stats.recategorized_rows
    return done


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:  # noqa: ARG001
    stats = run()
    metrics.add_metric(name="RollupEmployeeDays", unit=MetricUnit.Count, value=stats.employee_days)
    metrics.add_metric(name="RecategorizedRows", unit=MetricUnit.Count, value=stats.recategorized_rows)
    metrics.add_metric(name=ROLLUP_LAG_METRIC, unit=MetricUnit.Seconds, value=stats.lag_s)
    logger.info("analytics rollup", extra=stats.as_dict())
    return stats.as_dict()
