from __future__ import annotations

from shared.auth.settings import AdminApiSettings


class DirectoryApiSettings(AdminApiSettings):
    devices_table: str
