"""Per-tenant settings that the data path needs (retention, group-size floor, agent upload cadence)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from shared.dynamo.ttl_cache import TtlCache
from shared.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TenantSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    retention_days: int = Field(default=365, ge=1, le=3650)
    min_group_size: int = Field(default=5, ge=1)
    upload_interval_s: int = Field(default=60, ge=5)
    max_batch: int = Field(default=1000, ge=1, le=1000)


_NUMERIC = ("retention_days", "min_group_size", "upload_interval_s", "max_batch")


class TenantStore:
    def __init__(self, client: DynamoDBClient, table: str, ttl_s: float = 60.0) -> None:
        self._client = client
        self._table = table
        self._cache: TtlCache[str, TenantSettings] = TtlCache(ttl_s)

    def get(self, tenant_id: str) -> TenantSettings:
        """The tenant's settings; a tenant without an item gets the defaults."""
        return self._cache.get_or_load(tenant_id, lambda: self._load(tenant_id))

    def _load(self, tenant_id: str) -> TenantSettings:
        try:
            resp = self._client.get_item(TableName=self._table, Key={"tenant_id": {"S": tenant_id}})
        except (ClientError, BotoCoreError) as err:
            raise DependencyUnavailable("The tenant registry is unavailable.") from err
        item = resp.get("Item") or {}
        values: dict[str, Any] = {"tenant_id": tenant_id}
        for name in _NUMERIC:
            if name in item:
                values[name] = int(item[name]["N"])
        return TenantSettings(**values)

    def put(self, settings: TenantSettings) -> None:
        item: dict[str, Any] = {"tenant_id": {"S": settings.tenant_id}}
        for name in _NUMERIC:
            item[name] = {"N": str(getattr(settings, name))}
        self._client.put_item(TableName=self._table, Item=item)
        self._cache.invalidate(settings.tenant_id)
