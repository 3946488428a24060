"""An entry that would leak a purged subject, or hold free text in clear, is refused."""

from __future__ import annotations

import pytest

from shared.audit import Actor, ActorType, AuditEntry, Outcome


def make(**kw: object) -> AuditEntry:
    fields: dict[str, object] = {
        "tenant_id": "t-1",
        "actor": Actor(ActorType.USER, "manager-7"),
        "action": "directory.employee.read",
        "resource": "directory/employee",
        "purpose": "team_management",
        "outcome": Outcome.ALLOWED,
        "request_id": "req-1",
        "subject_employee_id": "emp-42",
    }
    fields.update(kw)
    return AuditEntry(**fields)  # type: ignore[arg-type]


def test_a_well_formed_entry_is_accepted() -> None:
    make().validate()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"purpose": "Checking on Bob's overtime"}, "purpose must be a lowercase code"),
        ({"action": ""}, "action must be a lowercase code"),
        ({"resource": "directory/employees/emp-42"}, "resource must not contain the subject"),
        ({"request_id": "emp-42-req"}, "request_id must not contain the subject"),
        ({"subject_employee_id": None, "detail": "free text"}, "needs subject_employee_id"),
        ({"tenant_id": ""}, "tenant_id is required"),
        ({"resource": "x" * 257}, "resource is required"),
    ],
)
def test_entries_that_could_leak_or_grow_unbounded_are_refused(
    change: dict[str, object], message: str
) -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match=message):
        make(**change).validate()


def test_a_person_reading_their_own_data_is_stored_as_self() -> None:
    # Given an employee reading their own data, and a manager reading it
    own = make(actor=Actor(ActorType.USER, "emp-42"))
    managers = make()
    # When / Then only the self access hides the actor id
    assert (own.stored_actor_id, managers.stored_actor_id) == ("self", "manager-7")
