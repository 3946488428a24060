from __future__ import annotations

from pydantic import Field

from shared.analytics.daily import DEFAULT_IDLE_GAP_MS
from shared.settings import DbSettings


class AnalyticsRollupSettings(DbSettings):
    rollup_batch: int = Field(default=500, ge=1, le=10_000)  # employee-days per transaction
    rollup_budget_s: float = Field(default=45.0, gt=0)  # stop claiming new batches after this
    idle_gap_ms: int = Field(default=DEFAULT_IDLE_GAP_MS, ge=60_000)
    # A recategorisation rewrites a tenant's whole history in one transaction.
    db_statement_timeout_ms: int = 600_000
