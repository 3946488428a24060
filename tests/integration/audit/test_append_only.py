"""Nobody changes the log through the application: roles may only INSERT and SELECT, and a
trigger refuses UPDATE, DELETE and TRUNCATE even to the table's owner."""

from __future__ import annotations

import psycopg
import pytest

from shared.audit import AuditRecorder
from shared.errors import AuditUnavailable
from tests.conftest import RoleConnect
from tests.integration.audit.conftest import entry

pytestmark = pytest.mark.integration

CHANGES = [
    "UPDATE audit_log SET outcome = 'allowed'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
]
WRITERS = ["wm_audit", "wm_directory", "wm_consent", "wm_analytics", "wm_reporting", "wm_purge"]


@pytest.mark.parametrize("role", WRITERS)
def test_every_writer_role_can_append_but_only_the_audit_role_reads(
    connect_as: RoleConnect, pg_url: str, role: str, tenant: str
) -> None:
    # Given a connection as the function's role
    conn = connect_as(role)
    # When it records an access
    recorded = AuditRecorder().record(conn, entry(tenant))
    conn.commit()
    # Then the entry is in the log
    with psycopg.connect(pg_url) as owner:
        stored = owner.execute("SELECT hash FROM audit_log WHERE tenant_id = %s", (tenant,)).fetchall()
    assert stored == [(recorded.hash,)]
    # and only the audit API's role may read the log (who looked at whom is personal data too)
    if role == "wm_audit":
        conn.execute("SELECT count(*) FROM audit_log").fetchone()
    else:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM audit_log")
    conn.rollback()


@pytest.mark.parametrize("statement", CHANGES)
@pytest.mark.parametrize("role", ["wm_audit", "wm_purge", "wm_audit_checkpoint"])
def test_application_roles_cannot_change_or_remove_entries(
    connect_as: RoleConnect, pg_url: str, tenant: str, role: str, statement: str
) -> None:
    # Given an entry
    with psycopg.connect(pg_url) as owner:
        AuditRecorder().record(owner, entry(tenant))
    conn = connect_as(role)
    # When / Then changing or removing it fails for lack of privilege
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    conn.rollback()


@pytest.mark.parametrize("statement", CHANGES)
def test_even_the_owner_cannot_change_or_remove_entries(pg_url: str, tenant: str, statement: str) -> None:
    # Given an entry, and a connection as the schema owner
    with psycopg.connect(pg_url) as conn:
        AuditRecorder().record(conn, entry(tenant))
        conn.commit()
        # When / Then the trigger refuses the change
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        conn.rollback()


def test_the_checkpoint_role_reads_the_log_but_cannot_write_it(connect_as: RoleConnect, tenant: str) -> None:
    # Given a connection as the checkpoint function's role
    conn = connect_as("wm_audit_checkpoint")
    # When / Then it may read but not append
    conn.execute("SELECT count(*) FROM audit_log").fetchone()
    with pytest.raises(AuditUnavailable) as failed:
        AuditRecorder().record(conn, entry(tenant, subject=None))
    conn.rollback()
    assert isinstance(failed.value.__cause__, psycopg.errors.InsufficientPrivilege)


@pytest.mark.parametrize("role", ["wm_audit", "wm_analytics"])
def test_application_roles_cannot_insert_entries_directly(
    connect_as: RoleConnect, tenant: str, role: str
) -> None:
    # Given a connection as a function's role
    conn = connect_as(role)
    # When it tries to add an entry of its own making instead of going through audit_append
    # Then it lacks the privilege: every entry gets its seq and hash from the database
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "INSERT INTO audit_log VALUES (%s, 1, 1, now(), 'user', 'x', 'a', 'r', NULL, 'p', 'allowed',"
            " 'q', NULL, %s, %s)",
            (tenant, bytes(32), bytes(32)),
        )
    conn.rollback()
