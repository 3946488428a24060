from __future__ import annotations

from pydantic import Field

from shared.settings import DbSettings


class IngestStreamSettings(DbSettings):
    consent_table: str
    data_keys_table: str
    data_key_kms_key_arn: str
    event_bus_name: str
    consent_cache_ttl_s: float = Field(default=5.0, ge=0, le=30)
    data_key_cache_ttl_s: float = Field(default=300.0, ge=0)
