"""The directory and consent database roles can do what their functions need, and no more."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.integration


def test_the_directory_role_adds_and_reads_the_directory(
    connect_as: Callable[[str], psycopg.Connection],
) -> None:
    conn = connect_as("wm_directory")
    team = conn.execute(
        "INSERT INTO teams (tenant_id, name, created_by) VALUES ('t-lp', 'A', 'x') RETURNING team_id"
    ).fetchone()
    conn.execute(
        "INSERT INTO employees (tenant_id, email, display_name, team_id, created_by) VALUES ('t-lp', 'a@b.c', 'A', %s, 'x')",
        team,
    )
    assert conn.execute("SELECT count(*) FROM employees WHERE tenant_id = 't-lp'").fetchone() == (1,)
    conn.rollback()


@pytest.mark.parametrize(
    ("role", "statement"),
    [
        ("wm_directory", "DELETE FROM employees"),
        ("wm_directory", "UPDATE access_grants SET not_after = now() + interval '10 years'"),
        ("wm_directory", "SELECT count(*) FROM activity_events"),
        ("wm_directory", "DROP TABLE teams"),
        ("wm_consent", "INSERT INTO access_grants (tenant_id, user_id, role, not_before, not_after, created_by)"
                       " VALUES ('t', 'u', 'auditor', now(), now() + interval '1 day', 'x')"),
        ("wm_consent", "INSERT INTO team_managers VALUES ('t', 'x', 'u')"),
        ("wm_consent", "UPDATE employees SET team_id = 'x'"),
        ("wm_consent", "SELECT count(*) FROM activity_events"),
    ],
)  # fmt: skip
def test_the_people_roles_cannot_change_what_they_do_not_own(
    connect_as: Callable[[str], psycopg.Connection], role: str, statement: str
) -> None:
    conn = connect_as(role)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    conn.rollback()


def test_the_consent_role_answers_scope_questions(connect_as: Callable[[str], psycopg.Connection]) -> None:
    conn = connect_as("wm_consent")
    for table in ("employees", "team_managers", "access_grants"):
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()
