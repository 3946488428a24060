"""Requests and responses of the directory API. Request bodies forbid unknown fields, so a body
that tries to set ``tenant_id``, ``role`` or ids the caller may not choose is refused (422)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TeamCreate(Request):
    name: str = Field(min_length=1, max_length=200)
    manager_ids: list[str] = Field(
        default_factory=list, max_length=50, description="Cognito subs of the managers"
    )


class Team(BaseModel):
    team_id: str
    name: str
    manager_ids: list[str]
    created_at: datetime


class TeamList(BaseModel):
    items: list[Team]
    next_token: str | None = None


class EmployeeCreate(Request):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    display_name: str = Field(min_length=1, max_length=200)
    team_id: str = Id


class Employee(BaseModel):
    employee_id: str
    email: str
    display_name: str
    team_id: str
    created_at: datetime


class EmployeeList(BaseModel):
    items: list[Employee]
    next_token: str | None = None


class DeviceCreate(Request):
    employee_id: str = Id
    certificate_pem: str = Field(min_length=100, max_length=16_384)


class DeviceOut(BaseModel):
    device_id: str
    employee_id: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None = None


class AccessGrantCreate(Request):
    user: str = Field(min_length=1, max_length=128, description="The grantee's Cognito sub")
    role: Literal["auditor"]
    not_before: datetime
    not_after: datetime

    @model_validator(mode="after")
    def _window(self) -> AccessGrantCreate:
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise ValueError("not_before and not_after need a time zone")
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be after not_before")
        if (self.not_after - self.not_before).days > 366:
            raise ValueError("a grant lasts at most a year")
        return self


class AccessGrant(BaseModel):
    grant_id: str
    user: str
    role: str
    not_before: datetime
    not_after: datetime
    created_at: datetime
    created_by: str


class AccessGrantList(BaseModel):
    items: list[AccessGrant]
