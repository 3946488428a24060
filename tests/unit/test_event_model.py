from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.models.events import EVENT_ADAPTER, Category, categories_of, url_domain


def event(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "ts": "2026-12-04T10:00:00Z",
        "type": "app_focus",
        "duration_ms": 1000,
        "app": "code",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def parse(d: dict[str, object]):  # type: ignore[no-untyped-def]
    return EVENT_ADAPTER.validate_json(json.dumps(d))


def test_a_complete_event_parses_with_utc_time() -> None:
    ev = parse(event(window_title="x", key_count=3, mouse_count=0, agent_version="1.0"))
    assert ev.ts == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert categories_of(ev) == {Category.APPS, Category.WINDOW_TITLES, Category.INPUT_COUNTS}


@pytest.mark.parametrize(
    "bad",
    [
        {"keystrokes": "abc"},
        {"clipboard": "x"},
        {"ts": "2026-12-04T10:00:00"},  # no zone: ambiguous
        {"duration_ms": -1},
        {"duration_ms": 86_400_001},
        {"duration_ms": "5"},  # strings are not numbers
        {"duration_ms": True},
        {"type": "screenshot"},
        {"app": "a" * 257},
        {"window_title": "t" * 1025},
        {"url": "https://e.com/" + "p" * 2048},
        {"event_id": "not-a-uuid"},
        {"key_count": -3},
        {"agent_version": "v" * 65},
        {"type": "url_visit", "url": None},
        {"type": "url_visit", "url": "javascript:alert(1)"},
        {"type": "url_visit", "url": "ftp://files.example.com/x"},
        {"type": "input_activity", "app": None},
        {"type": "app_focus", "app": None},
        {"app": "co\x00de"},
        {"agent_version": "1.0\x00"},
        {"window_title": "a\x00"},
    ],
)
def test_invalid_events_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse(event(**bad))


def test_categories_follow_the_fields_present() -> None:
    assert categories_of(parse(event(type="heartbeat", app=None))) == frozenset()
    assert categories_of(parse(event(type="url_visit", app=None, url="https://a.example/x"))) == {
        Category.URLS
    }
    assert categories_of(parse(event(type="input_activity", app=None, key_count=1))) == {
        Category.INPUT_COUNTS
    }


def test_domain_is_the_lowercase_host() -> None:
    assert url_domain("https://User:pw@Docs.Python.org.:443/3/?q=1") == "docs.python.org"
