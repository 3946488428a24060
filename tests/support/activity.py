"""Realistic agent activity: what a workday of focus changes, browsing, input counts and idle looks like."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

APPS = ["code", "firefox", "slack", "zoom", "excel", "outlook", "terminal", "figma"]
TITLES = ["main.py — billing-service", "Q4 forecast.xlsx", "Inbox (3) — Outlook", "Design review — Zoom"]
URLS = [
    "https://github.com/acme/billing/pull/42",
    "https://docs.python.org/3/library/asyncio.html",
    "https://news.ycombinator.com/item?id=1",
    "https://mail.example.com/u/0/#inbox",
]


def make_events(n: int, start: datetime | None = None, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    t = start or datetime.now(UTC) - timedelta(minutes=n)
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = ("app_focus", "url_visit", "input_activity", "idle", "heartbeat")[i % 5]
        ev: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "ts": (t + timedelta(seconds=i * 7)).isoformat().replace("+00:00", "Z"),
            "type": kind,
            "duration_ms": rnd.randint(1_000, 120_000),
            "agent_version": "1.4.2",
        }
        if kind == "app_focus":
            ev["app"] = rnd.choice(APPS)
            ev["window_title"] = rnd.choice(TITLES)
        elif kind == "url_visit":
            ev["app"] = "firefox"
            ev["url"] = rnd.choice(URLS)
        elif kind == "input_activity":
            ev["key_count"] = rnd.randint(0, 400)
            ev["mouse_count"] = rnd.randint(0, 200)
        elif kind == "heartbeat":
            ev["duration_ms"] = 0
        out.append(ev)
    return out
