from __future__ import annotations

from pydantic import Field

from shared.settings import FunctionSettings

MIB = 1024 * 1024


class IngestApiSettings(FunctionSettings):
    devices_table: str
    consent_table: str
    tenants_table: str
    events_stream_name: str
    # A withdrawal is honoured by every container within this many seconds.
    consent_cache_ttl_s: float = Field(default=5.0, ge=0, le=30)
    tenant_cache_ttl_s: float = Field(default=60.0, ge=0)
    max_body_bytes: int = MIB
    max_events: int = 1000
    max_future_skew_s: int = 300
    # Kinesis caps a record at 1 MiB (data + key); stay well below it.
    max_record_bytes: int = 900_000
    put_max_attempts: int = Field(default=4, ge=1, le=10)
