from __future__ import annotations

from shared.auth.settings import AdminApiSettings


class AnalyticsApiSettings(AdminApiSettings):
    tenants_table: str  # the tenant's minimum group size for aggregates (GetItem, cached 60 s)
