from __future__ import annotations

from shared.settings import DbSettings


class MigrateSettings(DbSettings):
    # Set in AWS only: the writer endpoint and the master secret, for the first-deploy bootstrap.
    db_bootstrap_host: str | None = None
    db_bootstrap_secret_arn: str | None = None
    # The roles the other functions sign in as (comma-separated), created by the bootstrap.
    db_function_users: str = ""

    @property
    def function_users(self) -> list[str]:
        return [u.strip() for u in self.db_function_users.split(",") if u.strip()]
