"""Analytics use cases: an employee's days, a team's days, top apps, and the productivity rules.

Who sees what:
- an employee's days (and weekly trend): admins, the manager of the employee's team, the employee;
- a team's days, weekly trend and top apps: admins and the team's managers, and only if the team has
  at least the tenant's minimum group size of members (else 403 ``group_too_small``);
- the tenant's top apps: admins (the tenant must reach the minimum group size too);
- in top apps, an app used by fewer people than the minimum group size is left out (counted in
  ``suppressed_apps``): its time would be one or two persons' time;
- the rules: admins change them; admins, DPOs and managers read them.

Every answer that carries a person's data is recorded through ``shared.auth.access_audit`` before
it is returned, one entry per person concerned (a team's figures: each member); a denial is
recorded by the authorizer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Protocol

from functions.analytics_api.models import (
    AppTime,
    Day,
    EmployeeDaily,
    RulesIn,
    RulesOut,
    TeamDaily,
    TopApp,
    TopApps,
    Trend,
    Week,
    WeekChange,
)
from shared.analytics.rules import Categorizer, Category, RuleSet
from shared.auth.principal import Role
from shared.errors import GroupTooSmall, NotFound, ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Iterable

    from functions.analytics_api.repository import AppTotal, DayRow, Rows, RulesState
    from shared.auth.access_audit import AccessAudit
    from shared.auth.policy import Authorizer
    from shared.auth.principal import Principal

MAX_DAYS = 366
MAX_WEEKS = 26
TOP_APPS_PER_DAY = 10
PURPOSE = "productivity_analytics"
RESOURCE_EMPLOYEE = "analytics/employee_daily"
RESOURCE_TEAM = "analytics/team_daily"
RESOURCE_TOP_APPS = "analytics/top_apps"
RESOURCE_RULES = "analytics/productivity_rules"


class Store(Protocol):
    def employee_days(self, tenant_id: str, employee_id: str, start: date, end: date) -> Rows: ...
    def team_exists(self, tenant_id: str, team_id: str) -> bool: ...
    def team_members(self, tenant_id: str, team_id: str) -> list[str]: ...
    def team_days(self, tenant_id: str, team_id: str, start: date, end: date) -> Rows: ...
    def tenant_size(self, tenant_id: str) -> int: ...
    def top_apps(
        self, tenant_id: str, start: date, end: date, team_id: str | None
    ) -> tuple[int, list[AppTotal]]: ...
    def rules(self, tenant_id: str, version: int | None = None) -> RulesState: ...
    def put_rules(self, tenant_id: str, rules: RuleSet, actor: str) -> int: ...


class EmployeeTeams(Protocol):
    def employee_team(self, tenant_id: str, employee_id: str) -> str | None: ...


class MinGroupSize(Protocol):
    def __call__(self, tenant_id: str) -> int: ...


def check_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed(
            "`to` is before `from`.", details=[{"loc": ["query", "to"], "msg": "before from"}]
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            f"The period is longer than {MAX_DAYS} days.",
            details=[{"loc": ["query", "to"], "msg": f"at most {MAX_DAYS} days after from"}],
        )


def build_days(rows: Iterable[DayRow], start: date, end: date, top_n: int = TOP_APPS_PER_DAY) -> list[Day]:
    """One entry per date of the period (zeros where nothing was recorded), apps by active time."""
    totals: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    apps: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, app, category, active, idle in rows:
        t = totals[day]
        t["active"] += active
        t["idle"] += idle
        t[category] += active
        if active:
            apps[day][app] += active
    days = []
    current = start
    while current <= end:
        t = totals.get(current, {})
        ranked = sorted(apps.get(current, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]
        days.append(
            Day(
                date=current,
                active_ms=t.get("active", 0),
                idle_ms=t.get("idle", 0),
                productive_ms=t.get(Category.PRODUCTIVE, 0),
                neutral_ms=t.get(Category.NEUTRAL, 0),
                unproductive_ms=t.get(Category.UNPRODUCTIVE, 0),
                top_apps=[AppTime(app=a, active_ms=ms) for a, ms in ranked],
            )
        )
        current += timedelta(days=1)
    return days


def employee_daily(
    p: Principal,
    employee_id: str,
    start: date,
    end: date,
    store: Store,
    teams: EmployeeTeams,
    authz: Authorizer,
    audit: AccessAudit,
) -> EmployeeDaily:
    action = "analytics.employee_daily.read"
    scope = authz.people_scope(
        p, action, RESOURCE_EMPLOYEE, everyone=(Role.ADMIN,), managers=True, self_service=True
    )
    team_id = teams.employee_team(p.tenant_id, employee_id)
    if team_id is None:
        if scope.everyone or scope.employee_id == employee_id:
            raise NotFound("No such employee.")
        # Outside the caller's scope, an unknown id is answered like a known one: 403.
        raise authz.deny(p, action, RESOURCE_EMPLOYEE, "outside the caller's scope", subject=employee_id)
    authz.ensure_covers(p, scope, action, RESOURCE_EMPLOYEE, employee_id, team_id)
    check_period(start, end)
    result = store.employee_days(p.tenant_id, employee_id, start, end)
    audit.allowed(p, action, RESOURCE_EMPLOYEE, PURPOSE, [employee_id])
    return EmployeeDaily(
        employee_id=employee_id, rules_version=result.version, days=build_days(result.rows, start, end)
    )


def _team_in_scope(
    p: Principal, team_id: str, action: str, resource: str, store: Store, authz: Authorizer
) -> None:
    scope = authz.people_scope(p, action, resource, everyone=(Role.ADMIN,), managers=True, self_service=False)
    if not scope.covers_team(team_id):
        raise authz.deny(p, action, resource, "team outside the caller's scope")
    if not store.team_exists(p.tenant_id, team_id):
        raise NotFound("No such team.")


def _members_at_least(p: Principal, members: list[str], min_group: MinGroupSize) -> None:
    if len(members) < min_group(p.tenant_id):
        raise GroupTooSmall()


def team_daily(
    p: Principal,
    team_id: str,
    start: date,
    end: date,
    store: Store,
    authz: Authorizer,
    audit: AccessAudit,
    min_group: MinGroupSize,
) -> TeamDaily:
    action = "analytics.team_daily.read"
    _team_in_scope(p, team_id, action, RESOURCE_TEAM, store, authz)
    check_period(start, end)
    members = store.team_members(p.tenant_id, team_id)
    _members_at_least(p, members, min_group)
    result = store.team_days(p.tenant_id, team_id, start, end)
    audit.allowed(p, action, RESOURCE_TEAM, PURPOSE, members)
    return TeamDaily(
        team_id=team_id,
        members=len(members),
        rules_version=result.version,
        days=build_days(result.rows, start, end),
    )


def top_apps(
    p: Principal,
    start: date,
    end: date,
    team_id: str | None,
    limit: int,
    store: Store,
    authz: Authorizer,
    audit: AccessAudit,
    min_group: MinGroupSize,
    categorizers: CategorizerSource,
) -> TopApps:
    action = "analytics.top_apps.read"
    k = min_group(p.tenant_id)
    subjects: list[str | None]
    if team_id is not None:
        _team_in_scope(p, team_id, action, RESOURCE_TOP_APPS, store, authz)
        check_period(start, end)
        members = store.team_members(p.tenant_id, team_id)
        _members_at_least(p, members, lambda _t: k)
        subjects = list(members)
    else:
        authz.require_role(p, action, RESOURCE_TOP_APPS, (Role.ADMIN,))
        check_period(start, end)
        if store.tenant_size(p.tenant_id) < k:
            raise GroupTooSmall()
        subjects = [None]
    version, totals = store.top_apps(p.tenant_id, start, end, team_id)
    categorizer = categorizers(p.tenant_id, version)
    shown = [t for t in totals if t.users >= k]
    audit.allowed(p, action, RESOURCE_TOP_APPS, PURPOSE, subjects)
    return TopApps(
        rules_version=version,
        apps=[
            TopApp(app=t.app, category=categorizer.category(team_id, t.app), active_ms=t.active_ms)
            for t in shown[:limit]
        ],
        suppressed_apps=len(totals) - len(shown),
    )


class CategorizerSource(Protocol):
    def __call__(self, tenant_id: str, version: int) -> Categorizer: ...


def get_rules(p: Principal, store: Store, authz: Authorizer) -> RulesOut:
    authz.require_role(p, "analytics.rules.read", RESOURCE_RULES, (Role.ADMIN, Role.DPO, Role.MANAGER))
    state = store.rules(p.tenant_id)
    rules = RuleSet.model_validate(state.rules)
    return RulesOut(
        version=state.version,
        applied_version=state.applied_version,
        recategorizing=state.applied_version < state.version,
        created_at=state.created_at,
        created_by=state.created_by,
        rules=rules.rules,
    )


def put_rules(p: Principal, body: RulesIn, store: Store, authz: Authorizer, audit: AccessAudit) -> RulesOut:
    """A new version; the rollup job recategorises past data to it (the answers keep the applied
    version, whole, until that is done)."""
    action = "analytics.rules.update"
    authz.require_role(p, action, RESOURCE_RULES, (Role.ADMIN,))
    rules = RuleSet(rules=body.rules)
    with audit.change(p, action, RESOURCE_RULES, "configuration"):
        store.put_rules(p.tenant_id, rules, p.user_id)
    return get_rules(p, store, authz)


def _share(productive: int, active: int) -> float | None:
    return round(productive / active, 4) if active else None


def build_weeks(days: list[Day], weeks: int) -> list[Week]:
    """ISO weeks (Monday first) from ``days``, which start on a Monday one week before the first
    week shown: each week's change is against the week before it."""
    totals: list[dict[str, int]] = []
    for i in range(weeks + 1):
        chunk = days[i * 7 : (i + 1) * 7]
        totals.append({k: sum(getattr(d, k) for d in chunk) for k in
                       ("active_ms", "idle_ms", "productive_ms", "neutral_ms", "unproductive_ms")})  # fmt: skip
    out = []
    for i in range(1, weeks + 1):
        now, before = totals[i], totals[i - 1]
        share, share_before = (
            _share(now["productive_ms"], now["active_ms"]),
            _share(before["productive_ms"], before["active_ms"]),
        )
        out.append(
            Week(
                week_start=days[i * 7].date,
                **now,
                productive_share=share,
                change=WeekChange(
                    active_ms=now["active_ms"] - before["active_ms"],
                    productive_ms=now["productive_ms"] - before["productive_ms"],
                    active_pct=round(100 * (now["active_ms"] - before["active_ms"]) / before["active_ms"], 2)
                    if before["active_ms"]
                    else None,
                    productive_share_points=round(100 * (share - share_before), 2)
                    if share is not None and share_before is not None
                    else None,
                ),
            )
        )
    return out


def trend_period(to: date, weeks: int) -> tuple[date, date]:
    """From the Monday ``weeks`` weeks before ``to``'s week (the comparison week) to its Sunday."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(
            f"weeks must be 1 to {MAX_WEEKS}.",
            details=[{"loc": ["query", "weeks"], "msg": f"1..{MAX_WEEKS}"}],
        )
    monday = to - timedelta(days=to.weekday())
    return monday - timedelta(weeks=weeks), monday + timedelta(days=6)


def employee_trend(
    p: Principal,
    employee_id: str,
    to: date,
    weeks: int,
    store: Store,
    teams: EmployeeTeams,
    authz: Authorizer,
    audit: AccessAudit,
) -> Trend:
    start, end = trend_period(to, weeks)
    daily = employee_daily(p, employee_id, start, end, store, teams, authz, audit)
    return Trend(subject="employee", id=employee_id, rules_version=daily.rules_version,
                 weeks=build_weeks(daily.days, weeks))  # fmt: skip


def team_trend(
    p: Principal,
    team_id: str,
    to: date,
    weeks: int,
    store: Store,
    authz: Authorizer,
    audit: AccessAudit,
    min_group: MinGroupSize,
) -> Trend:
    start, end = trend_period(to, weeks)
    daily = team_daily(p, team_id, start, end, store, authz, audit, min_group)
    return Trend(subject="team", id=team_id, members=daily.members, rules_version=daily.rules_version,
                 weeks=build_weeks(daily.days, weeks))  # fmt: skip
