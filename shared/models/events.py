"""The activity event an agent sends, and the Kinesis record that carries a request's events.

The schema is the data-minimisation boundary: there is no field for keystroke content,
screenshots, clipboard or webcam data, and unknown fields are rejected.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)


class EventType(StrEnum):
    APP_FOCUS = "app_focus"
    IDLE = "idle"
    URL_VISIT = "url_visit"
    INPUT_ACTIVITY = "input_activity"
    HEARTBEAT = "heartbeat"


class Category(StrEnum):
    """Data categories a consent can cover."""

    APPS = "apps"
    WINDOW_TITLES = "window_titles"
    URLS = "urls"
    INPUT_COUNTS = "input_counts"


MAX_DURATION_MS = 86_400_000
MAX_COUNT = 100_000_000

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)

# PostgreSQL text cannot hold NUL; one such string would make every retry of its batch fail.
_NO_NUL = r"^[^\x00]*$"


class Event(BaseModel):
    model_config = _STRICT

    event_id: UUID
    ts: AwareDatetime
    type: EventType
    duration_ms: Annotated[int, Field(ge=0, le=MAX_DURATION_MS)] = 0
    app: Annotated[str, Field(min_length=1, max_length=256, pattern=_NO_NUL)] | None = None
    window_title: Annotated[str, Field(max_length=1024, pattern=_NO_NUL)] | None = None
    url: Annotated[str, Field(min_length=1, max_length=2048, pattern=_NO_NUL)] | None = None
    key_count: Annotated[int, Field(ge=0, le=MAX_COUNT)] | None = None
    mouse_count: Annotated[int, Field(ge=0, le=MAX_COUNT)] | None = None
    agent_version: Annotated[str, Field(max_length=64, pattern=_NO_NUL)] | None = None

    @field_validator("url")
    @classmethod
    def _http_url_with_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL with a host")
        return value

    @model_validator(mode="after")
    def _fields_match_type(self) -> Self:
        if self.type is EventType.APP_FOCUS and self.app is None:
            raise ValueError("app_focus events need 'app'")
        if self.type is EventType.URL_VISIT and self.url is None:
            raise ValueError("url_visit events need 'url'")
        if self.type is EventType.INPUT_ACTIVITY and self.key_count is None and self.mouse_count is None:
            raise ValueError("input_activity events need 'key_count' or 'mouse_count'")
        return self


# Which optional fields belong to which data category; consent must cover every field present.
CATEGORY_FIELDS: dict[Category, tuple[str, ...]] = {
    Category.APPS: ("app",),
    Category.WINDOW_TITLES: ("window_title",),
    Category.URLS: ("url",),
    Category.INPUT_COUNTS: ("key_count", "mouse_count"),
}


def categories_of(event: Event) -> frozenset[Category]:
    """The data categories an event's fields belong to."""
    return frozenset(
        cat for cat, fields in CATEGORY_FIELDS.items() if any(getattr(event, f) is not None for f in fields)
    )


def url_domain(url: str) -> str:
    """The host of an already validated URL, lower-case, without a trailing dot."""
    return (urlsplit(url).hostname or "").rstrip(".").lower()


class EventBatch(BaseModel):
    """``POST /v1/events`` body."""

    model_config = _STRICT

    events: Annotated[list[Event], Field(min_length=1, max_length=1000)]


class StreamRecord(BaseModel):
    """One Kinesis record: the accepted events of one request (one device, one employee).

    Identity fields come from the device registry, never from the agent's body.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    tenant_id: Annotated[str, Field(min_length=1, max_length=64)]
    employee_id: Annotated[str, Field(min_length=1, max_length=64)]
    device_id: Annotated[str, Field(min_length=1, max_length=64)]
    received_at: datetime
    events: Annotated[list[Event], Field(min_length=1)]


EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
BATCH_ADAPTER: TypeAdapter[EventBatch] = TypeAdapter(EventBatch)
RECORD_ADAPTER: TypeAdapter[StreamRecord] = TypeAdapter(StreamRecord)
