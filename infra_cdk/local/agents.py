"""Simulated agents for ``make demo``: a plausible stretch of someone's working time as agent events.

Focus moves between apps every one to eight minutes; browser focus holds URL visits; an input
window is reported each minute (zero counts while the person is away); now and then the person
is away for a few minutes (an ``idle`` event); a heartbeat every five minutes. Seeded, so a demo
run is reproducible.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

APPS = {
    "a": [("code", 5), ("terminal", 3), ("firefox", 3), ("slack", 2), ("zoom", 1), ("spotify", 1)],
    "b": [("figma", 4), ("firefox", 4), ("slack", 2), ("outlook", 2), ("excel", 1), ("spotify", 1)],
}
URLS = [
    ("https://github.com/acme/billing/pull/42", 4),
    ("https://docs.python.org/3/library/asyncio.html", 2),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", 1),
    ("https://news.ycombinator.com/", 1),
    ("https://www.figma.com/files/recent", 2),
]
TITLES = {
    "code": "billing.py — acme-billing",
    "terminal": "make test",
    "slack": "#team — Slack",
    "zoom": "Stand-up — Zoom",
    "spotify": "Spotify Premium",
    "figma": "Checkout redesign — Figma",
    "outlook": "Inbox — Outlook",
    "excel": "Q4 plan.xlsx",
}
MIN = 60_000


def _pick(rnd: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rnd.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _event(ts: datetime, type_: str, duration_ms: int, rnd: random.Random, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "type": type_,
        "duration_ms": duration_ms,
        "agent_version": "demo-1.0",
        **fields,
    }


def working_time(start: datetime, minutes: int, team: str, seed: int) -> list[dict[str, Any]]:
    """Events for ``minutes`` of working time from ``start``, ordered by time."""
    rnd = random.Random(seed)  # noqa: S311 - simulated activity, not a secret
    end = start + timedelta(minutes=minutes)
    events: list[dict[str, Any]] = []
    away: list[tuple[datetime, datetime]] = []
    t = start
    while t < end:
        focus_ms = min(rnd.randint(1, 8) * MIN, int((end - t).total_seconds() * 1000))
        app = _pick(rnd, APPS[team])
        fields: dict[str, Any] = {"app": app}
        if app in TITLES:
            fields["window_title"] = TITLES[app]
        events.append(_event(t, "app_focus", focus_ms, rnd, **fields))
        if app == "firefox":
            at, stop = t, t + timedelta(milliseconds=focus_ms)
            while at < stop:
                visit = min(rnd.randint(30, 180) * 1000, int((stop - at).total_seconds() * 1000))
                events.append(_event(at, "url_visit", visit, rnd, app=app, url=_pick(rnd, URLS)))
                at += timedelta(milliseconds=visit)
        if rnd.random() < 0.12:  # away for a while, the app still in focus
            gone = t + timedelta(milliseconds=rnd.randint(0, focus_ms // 2))
            length = rnd.randint(3, 10) * MIN
            away.append((gone, gone + timedelta(milliseconds=length)))
            events.append(_event(gone, "idle", length, rnd))
        t += timedelta(milliseconds=focus_ms)
    minute = start
    while minute < end:
        idle = any(a <= minute < b for a, b in away)
        keys, mouse = (0, 0) if idle else (rnd.randint(20, 300), rnd.randint(10, 150))
        events.append(_event(minute, "input_activity", MIN, rnd, key_count=keys, mouse_count=mouse))
        if (minute - start) % timedelta(minutes=5) == timedelta(0):
            events.append(_event(minute, "heartbeat", 0, rnd))
        minute += timedelta(minutes=1)
    events.sort(key=lambda e: e["ts"])
    return events
