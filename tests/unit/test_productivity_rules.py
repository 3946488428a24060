"""Productivity rules: matching, precedence, team overrides, and the validation of a rule set."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from functions.analytics_api.logic import build_days, check_period
from shared.analytics.rules import Categorizer, Category, RuleSet
from shared.errors import ValidationFailed

P, N, U = Category.PRODUCTIVE, Category.NEUTRAL, Category.UNPRODUCTIVE


def rules(*items: dict) -> RuleSet:
    return RuleSet.model_validate({"rules": list(items)})


def test_no_rules_is_all_neutral() -> None:
    c = Categorizer(None)
    assert c.category(None, "Code") is N
    assert c.category("team", "Chrome", "github.com") is N


def test_exact_app_ignores_case() -> None:
    c = Categorizer(rules({"match": {"app": "Code"}, "category": "productive"}))
    assert c.category(None, "code") is P
    assert c.category(None, "Code Helper") is N


def test_domain_suffix_matches_on_label_boundaries_only() -> None:
    c = Categorizer(rules({"match": {"domain": "github.com", "type": "suffix"}, "category": "productive"}))
    assert c.category(None, "Chrome", "github.com") is P
    assert c.category(None, "Chrome", "gist.github.com") is P
    assert c.category(None, "Chrome", "evilgithub.com") is N


def test_app_suffix_and_regex() -> None:
    c = Categorizer(
        rules(
            {"match": {"app": "Studio", "type": "suffix"}, "category": "productive"},
            {"match": {"app": "^Microsoft (Word|Excel)$", "type": "regex"}, "category": "productive"},
            {"match": {"app": "game", "type": "regex"}, "category": "unproductive"},
        )
    )
    assert c.category(None, "Visual Studio") is P
    assert c.category(None, "Microsoft Excel") is P
    assert c.category(None, "Microsoft Excel 2") is N
    assert c.category(None, "Steam game launcher") is U


def test_precedence_exact_then_longest_suffix_then_regex() -> None:
    c = Categorizer(
        rules(
            {"match": {"domain": ".*", "type": "regex"}, "category": "unproductive"},
            {"match": {"domain": "google.com", "type": "suffix"}, "category": "neutral"},
            {"match": {"domain": "docs.google.com", "type": "suffix"}, "category": "productive"},
            {"match": {"domain": "mail.google.com"}, "category": "unproductive"},
        )
    )
    assert c.category(None, "Chrome", "docs.google.com") is P
    assert c.category(None, "Chrome", "www.google.com") is N
    assert c.category(None, "Chrome", "mail.google.com") is U
    assert c.category(None, "Chrome", "example.org") is U


def test_domain_rules_decide_before_app_rules_and_teams_before_the_tenant() -> None:
    c = Categorizer(
        rules(
            {"match": {"app": "Chrome"}, "category": "neutral"},
            {"match": {"domain": "youtube.com", "type": "suffix"}, "category": "unproductive"},
            {
                "match": {"domain": "youtube.com", "type": "suffix"},
                "category": "productive",
                "team_id": "marketing",
            },
            {"match": {"app": "Figma"}, "category": "productive", "team_id": "design"},
        )
    )
    assert c.category(None, "Chrome", "") is N
    assert c.category(None, "Chrome", "www.youtube.com") is U
    assert c.category("marketing", "Chrome", "www.youtube.com") is P
    assert c.category("sales", "Chrome", "www.youtube.com") is U
    assert c.category("design", "Figma") is P
    assert c.category("sales", "Figma") is N


@pytest.mark.parametrize(
    "rule",
    [
        {"match": {}, "category": "productive"},
        {"match": {"app": "a", "domain": "b"}, "category": "productive"},
        {"match": {"app": "a"}, "category": "great"},
        {"match": {"app": "("}, "category": "productive"} | {"match": {"app": "(", "type": "regex"}},
        {"match": {"app": "a", "type": "glob"}, "category": "productive"},
        {"match": {"app": "a"}, "category": "productive", "extra": 1},
        {"match": {"app": "x" * 257}, "category": "productive"},
    ],
)
def test_invalid_rules_are_refused(rule: dict) -> None:
    with pytest.raises(ValidationError):
        rules(rule)


def test_duplicate_rules_are_refused() -> None:
    with pytest.raises(ValidationError, match="same app"):
        rules(
            {"match": {"app": "Code"}, "category": "productive"},
            {"match": {"app": "code"}, "category": "neutral"},
        )
    # The same pattern for another team is an override, not a duplicate.
    rules(
        {"match": {"app": "Code"}, "category": "productive"},
        {"match": {"app": "Code"}, "category": "neutral", "team_id": "t"},
    )


def test_build_days_fills_the_period_and_ranks_apps() -> None:
    d1, d3 = date(2026, 12, 1), date(2026, 12, 3)
    rows = [
        (d1, "Code", "productive", 3_000, 100),
        (d1, "Chrome", "unproductive", 1_000, 0),
        (d1, "Chrome", "productive", 2_500, 50),
        (d3, "Slack", "neutral", 700, 0),
    ]
    days = build_days(rows, d1, d3)
    assert [d.date for d in days] == [d1, date(2026, 12, 2), d3]
    first = days[0]
    assert (first.active_ms, first.idle_ms) == (6_500, 150)
    assert (first.productive_ms, first.neutral_ms, first.unproductive_ms) == (5_500, 0, 1_000)
    assert [(a.app, a.active_ms) for a in first.top_apps] == [("Chrome", 3_500), ("Code", 3_000)]
    assert days[1].active_ms == 0
    assert days[1].top_apps == []
    assert days[2].neutral_ms == 700


def test_period_checks() -> None:
    check_period(date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(ValidationFailed):
        check_period(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        check_period(date(2025, 1, 1), date(2026, 1, 2))


def test_weeks_compare_each_iso_week_with_the_one_before() -> None:
    from functions.analytics_api.logic import build_weeks, trend_period

    start, end = trend_period(date(2026, 12, 3), 2)  # a Thursday
    assert (start, end) == (date(2026, 11, 16), date(2026, 12, 6))  # Monday two weeks before .. Sunday
    rows = [
        (date(2026, 11, 17), "Code", "productive", 600, 0),  # comparison week
        (date(2026, 11, 17), "Chrome", "neutral", 400, 0),
        (date(2026, 11, 24), "Code", "productive", 900, 10),  # week 1
        (date(2026, 11, 25), "Chrome", "unproductive", 600, 0),
    ]  # week 2: nothing
    weeks = build_weeks(build_days(rows, start, end), 2)
    assert [w.week_start for w in weeks] == [date(2026, 11, 23), date(2026, 11, 30)]
    first, second = weeks
    assert (first.active_ms, first.productive_ms, first.unproductive_ms, first.productive_share) == (
        1500,
        900,
        600,
        0.6,
    )
    assert (first.change.active_ms, first.change.active_pct, first.change.productive_share_points) == (
        500,
        50.0,
        0.0,
    )
    assert (second.active_ms, second.productive_share, second.change.active_pct) == (0, None, -100.0)
    assert second.change.productive_share_points is None
    with pytest.raises(ValidationFailed):
        trend_period(date(2026, 12, 3), 27)
