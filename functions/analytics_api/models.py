"""Request and response bodies of the analytics API (API.md, Analytics)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.analytics.rules import Category, Rule, RuleSet


class AppTime(BaseModel):
    app: str
    active_ms: int


class Day(BaseModel):
    date: date
    active_ms: int
    idle_ms: int
    productive_ms: int
    neutral_ms: int
    unproductive_ms: int
    top_apps: list[AppTime]


class EmployeeDaily(BaseModel):
    employee_id: str
    rules_version: int = Field(description="the productivity rules version every figure was categorised with")
    days: list[Day]


class TeamDaily(BaseModel):
    team_id: str
    members: int
    rules_version: int
    days: list[Day]


class TopApp(BaseModel):
    app: str
    category: Category
    active_ms: int


class TopApps(BaseModel):
    rules_version: int
    apps: list[TopApp]
    suppressed_apps: int = Field(
        description="apps used by fewer people than the minimum group size, left out so none is singled out"
    )


class RulesIn(RuleSet):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "ProductivityRulesIn"})


class RulesOut(BaseModel):
    version: int = Field(description="the newest version (0: no rules yet, everything neutral)")
    applied_version: int = Field(description="the version the figures are categorised with now")
    recategorizing: bool = Field(description="true while past data is being recategorised to `version`")
    created_at: datetime | None
    created_by: str | None
    rules: list[Rule]


class WeekChange(BaseModel):
    active_ms: int = Field(description="this week minus the week before")
    productive_ms: int
    active_pct: float | None = Field(
        description="percent change of active time; null if the week before had none"
    )
    productive_share_points: float | None = Field(
        description="change of the productive share, in percentage points; null if either week had no active time"
    )


class Week(BaseModel):
    week_start: date = Field(description="the Monday (UTC) the ISO week starts on")
    active_ms: int
    idle_ms: int
    productive_ms: int
    neutral_ms: int
    unproductive_ms: int
    productive_share: float | None = Field(description="productive / active, 0..1; null without active time")
    change: WeekChange


class Trend(BaseModel):
    subject: Literal["employee", "team"]
    id: str
    members: int | None = None
    rules_version: int
    weeks: list[Week]
