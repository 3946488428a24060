"""Productivity rules: which apps and URL domains a tenant counts as productive, neutral or unproductive.

A rule matches an app name or a URL domain, exactly, by suffix (a domain on label boundaries:
``github.com`` also matches ``gist.github.com`` but not ``evilgithub.com``) or by a regular expression (Python syntax, searched anywhere in the name);
exact and suffix matches ignore case. A rule with a ``team_id`` is that team's override.

Which rule decides (first that matches):
1. the team's domain rules, then the tenant's domain rules (time spent on a URL domain);
2. the team's app rules, then the tenant's app rules;
3. otherwise ``neutral``.
Within one group: exact before suffix (longest suffix first) before regex (in the order given).

A rule set is stored whole as one version; the rollup rows record the version they were
categorised with.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

MAX_RULES = 1000
MAX_PATTERN = 256


class Category(StrEnum):
    PRODUCTIVE = "productive"
    NEUTRAL = "neutral"
    UNPRODUCTIVE = "unproductive"


DEFAULT_CATEGORY = Category.NEUTRAL


class _Compact(BaseModel):
    """Strict and frozen; serialised without its unset (``None``) fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        return {k: v for k, v in handler(self).items() if v is not None}


class Match(_Compact):
    app: str | None = Field(default=None, min_length=1, max_length=MAX_PATTERN)
    domain: str | None = Field(default=None, min_length=1, max_length=MAX_PATTERN)
    type: Literal["exact", "suffix", "regex"] = "exact"

    @model_validator(mode="after")
    def _one_target(self) -> Match:
        if (self.app is None) == (self.domain is None):
            raise ValueError("match names exactly one of app or domain")
        if self.type == "regex":
            try:
                re.compile(self.pattern)
            except re.error as err:
                raise ValueError(f"invalid regular expression: {err}") from err
        return self

    @property
    def pattern(self) -> str:
        return self.app if self.app is not None else self.domain  # type: ignore[return-value]


class Rule(_Compact):
    match: Match
    category: Category
    team_id: str | None = Field(default=None, min_length=1, max_length=64, description="a team override")


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule] = Field(max_length=MAX_RULES)

    @field_validator("rules")
    @classmethod
    def _no_duplicates(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[tuple[str | None, str, str, str]] = set()
        for rule in rules:
            m = rule.match
            key = (rule.team_id, "app" if m.app is not None else "domain", m.type, m.pattern.lower())
            if key in seen:
                raise ValueError(f"two rules match the same {key[1]} {m.pattern!r} ({m.type})")
            seen.add(key)
        return rules


class _Group:
    """The rules of one (team or tenant, app or domain) group, ready to match."""

    def __init__(self, rules: list[Rule], kind: str) -> None:
        self.domains = kind == "domain"
        self.exact: dict[str, Category] = {}
        self.suffix: list[tuple[str, Category]] = []
        self.regex: list[tuple[re.Pattern[str], Category]] = []
        for rule in rules:
            m = rule.match
            if m.type == "exact":
                self.exact[m.pattern.lower()] = rule.category
            elif m.type == "suffix":
                self.suffix.append((m.pattern.lower().lstrip("."), rule.category))
            else:
                self.regex.append((re.compile(m.pattern), rule.category))
        self.suffix.sort(key=lambda s: -len(s[0]))

    def match(self, name: str) -> Category | None:
        if not name:
            return None
        lowered = name.lower()
        found = self.exact.get(lowered)
        if found is not None:
            return found
        for suffix, category in self.suffix:
            # Domains match on label boundaries (github.com: gist.github.com, not evilgithub.com).
            if lowered.endswith(suffix) and (
                not self.domains or len(lowered) == len(suffix) or lowered[-len(suffix) - 1] == "."
            ):
                return category
        for pattern, category in self.regex:
            if pattern.search(name):
                return category
        return None


class Categorizer:
    """Decides the category of time spent in ``app`` (on ``domain``) by a member of ``team_id``."""

    def __init__(self, rules: RuleSet | None) -> None:
        by_key: dict[tuple[str | None, str], list[Rule]] = {}
        for rule in rules.rules if rules else []:
            kind = "app" if rule.match.app is not None else "domain"
            by_key.setdefault((rule.team_id, kind), []).append(rule)
        self._groups = {key: _Group(group, key[1]) for key, group in by_key.items()}
        self._memo: dict[tuple[str | None, str, str], Category] = {}

    def _order(self, team_id: str | None) -> list[tuple[_Group, str]]:
        keys = [(team_id, "domain"), (None, "domain"), (team_id, "app"), (None, "app")]
        if team_id is None:
            keys = [(None, "domain"), (None, "app")]
        return [(self._groups[k], k[1]) for k in keys if k in self._groups]

    def category(self, team_id: str | None, app: str, domain: str = "") -> Category:
        key = (team_id, app, domain)
        found = self._memo.get(key)
        if found is not None:
            return found
        result = DEFAULT_CATEGORY
        for group, kind in self._order(team_id):
            hit = group.match(domain if kind == "domain" else app)
            if hit is not None:
                result = hit
                break
        self._memo[key] = result
        return result
