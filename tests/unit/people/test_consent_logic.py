"""Consent use cases with fakes: a withdrawal whose event could not be published is retried with
the same purge id, and only the employee acts on their own consent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.consent_api import logic
from functions.consent_api.models import Channel, ConsentGrant
from shared.auth.policy import Authorizer
from shared.auth.principal import Principal, Role
from shared.dynamo.consent import (
    NO_CONSENT,
    ConsentChange,
    ConsentPolicy,
    ConsentState,
    PolicyExists,
    StaleConsent,
)
from shared.errors import Conflict, DependencyUnavailable, Forbidden

T0 = datetime(2026, 6, 1, tzinfo=UTC)


class FakeLedger:
    def __init__(self) -> None:
        self.policies: dict[str, ConsentPolicy] = {}
        self.state: ConsentState = NO_CONSENT
        self.changes: list[ConsentChange] = []

    def put_policy(self, tenant_id: str, policy: ConsentPolicy) -> None:
        if policy.version in self.policies:
            raise PolicyExists()
        self.policies[policy.version] = policy

    def get_policy(self, tenant_id: str, version: str) -> ConsentPolicy | None:
        return self.policies.get(version)

    def list_policies(self, tenant_id: str) -> list[ConsentPolicy]:
        return sorted(self.policies.values(), key=lambda p: p.published_at, reverse=True)

    def current(self, tenant_id: str, employee_id: str) -> ConsentState:
        return self.state

    def record(
        self,
        tenant_id: str,
        employee_id: str,
        state: ConsentState,
        change: ConsentChange,
        previous: ConsentState,
    ) -> None:
        if previous != self.state:
            raise StaleConsent()
        self.state = state
        self.changes.insert(0, change)

    def history(self, tenant_id: str, employee_id: str, limit: int = 500) -> list[ConsentChange]:
        return self.changes[:limit]


class FlakyPublisher:
    def __init__(self, fail_times: int) -> None:
        self.fail_times = fail_times
        self.sent: list[dict[str, Any]] = []

    def publish(self, entries: list[dict[str, Any]]) -> int:
        if self.fail_times:
            self.fail_times -= 1
            return len(entries)
        self.sent += entries
        return 0


class Nobody:
    def has_active_grant(self, *_: Any) -> bool:
        return False

    def managed_team_ids(self, *_: Any) -> frozenset[str]:
        return frozenset()


class Quiet:
    def record(self, *_: Any, **__: Any) -> None:
        pass


class Audit:
    def __init__(self) -> None:
        self.actions: list[str] = []

    def allowed(self, principal: Principal, action: str, *_: Any, **__: Any) -> None:
        self.actions.append(action)

    @contextmanager
    def change(self, principal: Principal, action: str, *_: Any, **__: Any) -> Iterator[None]:
        yield  # recorded only when the change went through, as the real one commits
        self.actions.append(action)


EMPLOYEE = Principal("t-1", "sub-1", frozenset({Role.EMPLOYEE}), "e-1")


@pytest.fixture
def ledger() -> FakeLedger:
    ledger = FakeLedger()
    ledger.put_policy(
        "t-1", ConsentPolicy("2026-01", "text", ("analytics",), frozenset({"apps", "urls"}), T0, "user:dpo")
    )
    return ledger


@pytest.fixture
def authz() -> Authorizer:
    return Authorizer(Nobody(), Nobody(), Quiet())


def test_a_withdrawal_whose_event_failed_is_retried_with_the_same_purge_id(
    ledger: FakeLedger, authz: Authorizer
) -> None:
    # Given an active consent and a bus that fails once
    audit = Audit()
    logic.set_my_consent(
        EMPLOYEE, ConsentGrant(policy_version="2026-01", categories=["apps"]), ledger, authz, audit
    )
    bus = FlakyPublisher(fail_times=1)
    # When the withdrawal's publish fails, and the client retries
    with pytest.raises(DependencyUnavailable):
        logic.withdraw_my_consent(EMPLOYEE, Channel.WEB, ledger, bus, "bus", authz, audit)
    retried = logic.withdraw_my_consent(EMPLOYEE, Channel.WEB, ledger, bus, "bus", authz, audit)
    # Then the consent was withdrawn at once, one withdrawal is in the history, and the event that
    # finally went out carries that withdrawal's purge id
    assert ledger.state.status.value == "withdrawn"
    assert [c.action for c in ledger.changes] == ["withdrawn", "granted"]
    assert retried.purge_id == ledger.changes[0].purge_id
    assert retried.purge_id in bus.sent[0]["Detail"]
    assert audit.actions == ["consent.granted", "consent.withdrawn"]


def test_a_consent_to_unchanged_terms_records_nothing(ledger: FakeLedger, authz: Authorizer) -> None:
    body = ConsentGrant(policy_version="2026-01", categories=["apps"])
    logic.set_my_consent(EMPLOYEE, body, ledger, authz, Audit())
    logic.set_my_consent(EMPLOYEE, body, ledger, authz, Audit())
    assert len(ledger.changes) == 1


def test_an_employee_without_an_employee_id_cannot_consent(ledger: FakeLedger, authz: Authorizer) -> None:
    nobody = Principal("t-1", "sub-2", frozenset({Role.EMPLOYEE}), None)
    with pytest.raises(Forbidden):
        logic.set_my_consent(
            nobody, ConsentGrant(policy_version="2026-01", categories=["apps"]), ledger, authz, Audit()
        )


def test_a_concurrent_change_is_a_conflict(ledger: FakeLedger, authz: Authorizer) -> None:
    # Given a ledger whose state changes between the read and the write
    class Racing(FakeLedger):
        def current(self, tenant_id: str, employee_id: str) -> ConsentState:
            seen = self.state
            self.state = ConsentState(self.state.status, "other", frozenset(), T0)
            return seen

    racing = Racing()
    racing.policies = ledger.policies
    # When / Then
    with pytest.raises(Conflict):
        logic.set_my_consent(
            EMPLOYEE, ConsentGrant(policy_version="2026-01", categories=["apps"]), racing, authz, Audit()
        )
