"""Role, scope and time decisions of the Authorizer, with fakes for grants and teams."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.auth.policy import Authorizer, Scope
from shared.auth.principal import Principal, Role, principal_from_claims
from shared.errors import Forbidden

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


class Grants:
    def __init__(self, *users: str) -> None:
        self.users = set(users)

    def has_active_grant(self, tenant_id: str, user_id: str, role: Role, at: datetime) -> bool:
        return user_id in self.users and at == NOW


class Teams:
    def managed_team_ids(self, tenant_id: str, user_id: str) -> frozenset[str]:
        return frozenset({"team-1"}) if user_id == "mgr" else frozenset()


class Denials:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def record(
        self, principal: Principal, action: str, resource: str, reason: str, subject: str | None = None
    ) -> None:
        self.seen.append((principal.user_id, action, reason))


def who(user: str, *roles: Role, employee: str | None = None) -> Principal:
    return Principal("t-1", user, frozenset(roles), employee)


@pytest.fixture
def denials() -> Denials:
    return Denials()


@pytest.fixture
def authz(denials: Denials) -> Authorizer:
    return Authorizer(Grants("aud-granted"), Teams(), denials, clock=lambda: NOW)


def scope(authz: Authorizer, p: Principal) -> Scope:
    return authz.people_scope(
        p, "read", "x", everyone=[Role.ADMIN, Role.AUDITOR], managers=True, self_service=True
    )


def test_admins_see_everyone_managers_their_teams_employees_themselves(authz: Authorizer) -> None:
    assert scope(authz, who("a", Role.ADMIN)).everyone
    assert scope(authz, who("mgr", Role.MANAGER)).team_ids == {"team-1"}
    me = scope(authz, who("e", Role.EMPLOYEE, employee="e-1"))
    assert (me.covers("e-1", "team-9"), me.covers("e-2", "team-9")) == (True, False)


def test_an_auditor_counts_only_inside_a_valid_grant(authz: Authorizer, denials: Denials) -> None:
    # Given two auditors, one with a valid grant
    # When / Then
    assert scope(authz, who("aud-granted", Role.AUDITOR)).everyone
    with pytest.raises(Forbidden):
        scope(authz, who("aud-other", Role.AUDITOR))
    assert denials.seen == [("aud-other", "read", "role not allowed")]


def test_a_manager_of_no_team_and_an_employee_without_an_id_are_refused_and_recorded(
    authz: Authorizer, denials: Denials
) -> None:
    for p in (who("nobody", Role.MANAGER), who("e", Role.EMPLOYEE)):
        with pytest.raises(Forbidden):
            scope(authz, p)
    assert len(denials.seen) == 2


def test_require_role_records_why_an_auditor_was_refused(authz: Authorizer, denials: Denials) -> None:
    with pytest.raises(Forbidden):
        authz.require_role(who("aud-other", Role.AUDITOR), "audit.read", "audit", [Role.AUDITOR, Role.DPO])
    assert denials.seen == [("aud-other", "audit.read", "no valid access grant")]
    assert (
        authz.require_role(who("aud-granted", Role.AUDITOR), "audit.read", "audit", [Role.AUDITOR])
        is Role.AUDITOR
    )


def test_ensure_covers_refuses_another_team(authz: Authorizer, denials: Denials) -> None:
    mgr = who("mgr", Role.MANAGER)
    s = scope(authz, mgr)
    authz.ensure_covers(mgr, s, "read", "directory/employee", "e-1", "team-1")
    with pytest.raises(Forbidden):
        authz.ensure_covers(mgr, s, "read", "directory/employee", "e-2", "team-2")
    assert denials.seen[-1][2] == "outside the caller's scope"


def test_claims_without_tenant_or_sub_give_no_principal_and_unknown_groups_no_roles() -> None:
    assert principal_from_claims({"sub": "u"}) is None
    assert principal_from_claims({"custom:tenant_id": "t"}) is None
    p = principal_from_claims({"sub": "u", "custom:tenant_id": "t", "cognito:groups": ["root", "admin", 7]})
    assert p is not None
    assert p.roles == {Role.ADMIN}
    weird = principal_from_claims({"sub": "u", "custom:tenant_id": "t", "cognito:groups": "admin"})
    assert weird is not None
    assert weird.roles == frozenset()
