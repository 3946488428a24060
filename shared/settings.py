"""Settings models: each function reads its environment into one pydantic model, once.

Required values have no defaults, so a missing variable fails at start-up with its name,
instead of silently talking to the wrong table.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False)


class DbSettings(FunctionSettings):
    """Either ``DATABASE_URL`` (local, tests) or the RDS Proxy endpoint with IAM authentication."""

    database_url: str | None = None
    db_host: str | None = None
    db_port: int = 5432
    db_name: str | None = None
    db_user: str | None = None
    db_iam_auth: bool = False
    aws_region: str | None = Field(default=None, alias="AWS_REGION")
    db_connect_timeout_s: int = 5
    db_statement_timeout_ms: int = 60_000

    @model_validator(mode="after")
    def _one_way_to_connect(self) -> DbSettings:
        if not self.database_url and not (self.db_host and self.db_name and self.db_user):
            raise ValueError(
                "set DATABASE_URL, or DB_HOST + DB_NAME + DB_USER (with DB_IAM_AUTH=true in AWS)"
            )
        return self
