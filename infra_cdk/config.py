"""The configuration of one environment, read from ``cdk.json`` context and validated.

``cdk.json`` holds ``environments.<name>``; ``-c account=...`` / ``-c region=...`` override the
target of the environment being deployed, so a person with an account need not edit the file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from infra_cdk.constants import ENVIRONMENTS, LOG_RETENTION_DAYS


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DomainConfig(_Model):
    """Route 53 zone (referenced by id: no lookup at synth) and the two API host names."""

    hosted_zone_id: str
    hosted_zone_name: str
    agent_api: str
    admin_api: str


class DatabaseConfig(_Model):
    min_acu: float = Field(ge=0, le=256)
    max_acu: float = Field(ge=1, le=256)
    readers: int = Field(ge=0, le=15)
    backup_retention_days: int = Field(ge=1, le=35)

    @model_validator(mode="after")
    def _min_below_max(self) -> DatabaseConfig:
        if self.min_acu > self.max_acu:
            raise ValueError("db.min_acu must not exceed db.max_acu")
        return self


class StreamConfig(_Model):
    mode: Literal["on_demand", "provisioned"]
    shard_count: int = Field(default=1, ge=1)
    retention_hours: int = Field(ge=24, le=8760)


class ConsumerConfig(_Model):
    """The ingest_stream event source mapping."""

    batch_size: int = Field(ge=1, le=10_000)
    max_batching_window_s: int = Field(ge=0, le=300)
    parallelization_factor: int = Field(ge=1, le=10)
    retry_attempts: int = Field(ge=0, le=10)
    max_record_age_s: int = Field(ge=60, le=604_800)


class ApiConfig(_Model):
    rate_limit: int = Field(ge=1)
    burst_limit: int = Field(ge=1)
    waf_rate_limit_per_5min: int = Field(ge=100)


class EnvironmentConfig(_Model):
    name: Literal["dev", "staging", "prod"]
    account: str = Field(pattern=r"^\d{12}$")
    region: str
    vpc_cidr: str
    # Named, not looked up: synth makes no AWS call (and Aurora wants at least two AZs).
    availability_zones: list[str] = Field(min_length=2, max_length=3)
    log_retention_days: int
    alarm_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    canary: bool
    deletion_protection: bool
    receipts_retention_days: int = Field(ge=1)
    purge_sla_hours: int = Field(ge=1)
    domain: DomainConfig
    db: DatabaseConfig
    stream: StreamConfig
    consumer: ConsumerConfig
    agent_api: ApiConfig
    admin_api: ApiConfig
    reserved_concurrency: dict[str, int] = Field(default_factory=dict)
    provisioned_concurrency: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _log_retention_is_supported(self) -> EnvironmentConfig:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days must be one of {sorted(LOG_RETENTION_DAYS)}")
        return self

    @property
    def is_prod(self) -> bool:
        return self.name == "prod"


def load_environment(context: dict[str, Any], name: str) -> EnvironmentConfig:
    """Validate ``environments.<name>`` of the context; account/region may be overridden."""
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {name!r}; expected one of {', '.join(ENVIRONMENTS)}")
    environments = context.get("environments") or {}
    if name not in environments:
        raise ValueError(f"cdk.json context has no environments.{name}")
    raw = dict(environments[name])
    for key in ("account", "region"):
        if context.get(key):
            raw[key] = str(context[key])
    return EnvironmentConfig(name=name, **raw)
