from __future__ import annotations

from shared.auth.settings import AdminApiSettings


class ConsentApiSettings(AdminApiSettings):
    consent_table: str
    event_bus_name: str
