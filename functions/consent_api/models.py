"""Requests and responses of the consent API, and the ``ConsentWithdrawn`` event it publishes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.models.events import Category

# EventBridge contract of a withdrawal (the purge workflow's rule matches exactly these).
EVENT_SOURCE = "workforce.consent"
CONSENT_WITHDRAWN = "ConsentWithdrawn"


class Channel(StrEnum):
    """How the employee gave or changed their consent."""

    WEB = "web"
    MOBILE = "mobile"
    AGENT = "agent"
    API = "api"


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _unique(values: list[Category]) -> list[Category]:
    if len(set(values)) != len(values):
        raise ValueError("categories must not repeat")
    return values


class PolicyCreate(Request):
    version: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    text: str = Field(min_length=1, max_length=100_000)
    purposes: list[str] = Field(min_length=1, max_length=20)
    categories: list[Category] = Field(min_length=1, max_length=4)

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, values: list[str]) -> list[str]:
        if any(not 1 <= len(v.strip()) <= 200 for v in values):
            raise ValueError("each purpose is 1 to 200 characters")
        return [v.strip() for v in values]

    _categories = field_validator("categories")(_unique)


class Policy(BaseModel):
    version: str
    text: str
    purposes: list[str]
    categories: list[str]
    published_at: datetime


class PolicyList(BaseModel):
    items: list[Policy]


class ConsentGrant(Request):
    policy_version: str = Field(min_length=1, max_length=32)
    categories: list[Category] = Field(min_length=1, max_length=4)
    channel: Channel = Channel.API

    _categories = field_validator("categories")(_unique)


class ConsentChangeOut(BaseModel):
    action: str
    status: str
    policy_version: str | None
    categories: list[str]
    actor: str
    channel: str
    at: datetime
    purge_id: str | None = None


class ConsentStatusOut(BaseModel):
    employee_id: str
    status: str
    policy_version: str | None
    categories: list[str]
    updated_at: datetime | None
    latest_policy_version: str | None = Field(description="newest published policy; re-consent if it differs")
    history: list[ConsentChangeOut]


class Withdrawal(BaseModel):
    purge_id: str
    withdrawn_at: datetime


class ConsentWithdrawnDetail(BaseModel):
    tenant_id: str
    employee_id: str
    purge_id: str
    withdrawn_at: datetime
    policy_version: str | None
