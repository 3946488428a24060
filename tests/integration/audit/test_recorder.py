"""The recorder appends to the tenant's chain in the caller's transaction: both commit, or neither."""

from __future__ import annotations

import psycopg
import pytest

from shared.audit import Actor, ActorType, AuditRecorder
from shared.audit.recorder import DETAIL_FIELD, LOCK_CLASS, find_pseudonym, forget_subject
from shared.audit.verify import VerifyReport, verify_chains
from shared.crypto.fields import FieldCipher, associated_data
from shared.errors import AuditUnavailable
from tests.conftest import RoleConnect
from tests.integration.audit.conftest import FixedKeys, entry

pytestmark = pytest.mark.integration


def chain(conn: psycopg.Connection, tenant: str) -> list[tuple]:
    return conn.execute(
        "SELECT seq, prev_hash, hash, subject_ref, actor_id FROM audit_log WHERE tenant_id = %s ORDER BY seq",
        (tenant,),
    ).fetchall()


def test_entries_form_a_gap_free_hash_chain_that_verifies(pg_url: str, tenant: str) -> None:
    # Given a recorder
    recorder = AuditRecorder()
    # When three accesses are recorded, each in its own transaction
    with psycopg.connect(pg_url) as conn:
        for i in range(3):
            recorded = recorder.record(conn, entry(tenant, i))
            conn.commit()
            assert recorded.seq == i + 1
        rows = chain(conn, tenant)
        report = VerifyReport()
        verify_chains(conn, report, tenant_id=tenant)
    # Then seq runs 1..3, each entry links to its predecessor, and the chain verifies
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][1] == bytes(32)
    assert [r[1] for r in rows[1:]] == [r[2] for r in rows[:-1]]
    assert report.ok
    assert report.checked == 3


def test_a_rolled_back_access_leaves_no_entry_and_no_gap(pg_url: str, tenant: str) -> None:
    # Given one committed entry
    recorder = AuditRecorder()
    with psycopg.connect(pg_url) as conn:
        recorder.record(conn, entry(tenant, 1))
        conn.commit()
        # When the next access records its entry but its transaction rolls back
        recorder.record(conn, entry(tenant, 2))
        conn.rollback()
        # Then the entry is gone and the next one takes its seq
        assert recorder.record(conn, entry(tenant, 3)).seq == 2
        conn.commit()
        assert [r[0] for r in chain(conn, tenant)] == [1, 2]


def test_an_access_whose_entry_cannot_be_written_fails_and_stores_nothing(pg_url: str, tenant: str) -> None:
    # Given a chain held by a stuck writer, and an access that changed data in its transaction
    with psycopg.connect(pg_url, autocommit=True) as stuck, psycopg.connect(pg_url) as conn:
        stuck.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, tenant))
        conn.execute("CREATE TEMP TABLE personal (v text)")
        conn.commit()
        conn.execute("SET statement_timeout = 100")
        conn.execute("INSERT INTO personal VALUES ('changed')")
        # When its audit entry cannot be written
        with pytest.raises(AuditUnavailable):
            AuditRecorder().record(conn, entry(tenant, 1))
        conn.rollback()
        # Then the access fails as a whole: neither the change nor an entry is stored
        assert conn.execute("SELECT count(*) FROM personal").fetchone()[0] == 0
        assert chain(conn, tenant) == []


def test_recording_outside_a_transaction_is_refused(pg_url: str, tenant: str) -> None:
    # Given an autocommit connection with no transaction open
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # When / Then recording is refused: the entry would not share the access's fate
        with pytest.raises(ValueError, match="inside the transaction"):
            AuditRecorder().record(conn, entry(tenant))
        # but inside an explicit transaction it works
        with conn.transaction():
            assert AuditRecorder().record(conn, entry(tenant)).seq == 1


def test_the_subject_is_stored_as_a_pseudonym_and_self_access_as_self(pg_url: str, tenant: str) -> None:
    # Given accesses about one subject, one of them by the subject themselves
    recorder = AuditRecorder()
    with psycopg.connect(pg_url) as conn:
        recorder.record(conn, entry(tenant, 1, subject="emp-42"))
        recorder.record(conn, entry(tenant, 2, subject="emp-42", actor=Actor(ActorType.USER, "emp-42")))
        conn.commit()
        rows = chain(conn, tenant)
        ref = find_pseudonym(conn, tenant, "emp-42")
        stored = conn.execute(
            "SELECT string_agg(concat_ws('|', actor_id, resource, purpose, request_id), ',')"
            " FROM audit_log WHERE tenant_id = %s",
            (tenant,),
        ).fetchone()[0]
    # Then both entries carry the same pseudonym, and the id appears nowhere in the log
    assert ref is not None
    assert [r[3] for r in rows] == [ref, ref]
    assert [r[4] for r in rows] == ["manager-7", "self"]
    assert "emp-42" not in stored


def test_a_purged_subject_leaves_a_verifiable_chain_that_names_nobody(
    pg_url: str, tenant: str, connect_as: RoleConnect
) -> None:
    # Given entries about a subject, with a free-text detail encrypted under their key
    keys = FixedKeys()
    recorder = AuditRecorder(keys=keys)
    with psycopg.connect(pg_url) as conn:
        recorder.record(conn, entry(tenant, 1, subject="emp-9", detail="asked about Bob's overtime"))
        conn.commit()
        detail_enc = conn.execute(
            "SELECT detail_enc FROM audit_log WHERE tenant_id = %s", (tenant,)
        ).fetchone()[0]
        aad = associated_data(tenant, "emp-9", "req-1", DETAIL_FIELD)
        assert (
            FieldCipher(keys.key_for(tenant, "emp-9")).decrypt(detail_enc, aad)
            == "asked about Bob's overtime"
        )
        conn.commit()
    # When the purge (as its own role) deletes the pseudonym and destroys the data key
    purge = connect_as("wm_purge")
    assert forget_subject(purge, tenant, "emp-9")
    purge.commit()
    keys.keys.clear()
    with psycopg.connect(pg_url) as conn:
        report = VerifyReport()
        verify_chains(conn, report, tenant_id=tenant)
        assert find_pseudonym(conn, tenant, "emp-9") is None
        # Then the chain still verifies, and a new entry about the same id gets a new pseudonym
        recorder.record(conn, entry(tenant, 2, subject="emp-9"))
        conn.commit()
        refs = [r[3] for r in chain(conn, tenant)]
    assert report.ok
    assert refs[0] != refs[1]


def test_a_batch_spanning_tenants_lands_in_each_tenants_chain_in_order(pg_url: str, tenant: str) -> None:
    # Given a batch interleaving two tenants
    other = tenant + "-b"
    batch = [entry(tenant, 0), entry(other, 1), entry(tenant, 2), entry(other, 3, subject=None)]
    # When it is recorded in one transaction
    with psycopg.connect(pg_url) as conn:
        recorded = AuditRecorder().record_many(conn, batch)
        conn.commit()
    # Then each tenant's chain got its entries in input order
    assert [(r.tenant_id, r.seq) for r in recorded] == [(tenant, 1), (other, 1), (tenant, 2), (other, 2)]


def test_a_writer_that_ignores_the_head_cannot_fork_the_chain(pg_url: str, tenant: str) -> None:
    # Given a chain of two entries
    with psycopg.connect(pg_url) as conn:
        AuditRecorder().record_many(conn, [entry(tenant, 1), entry(tenant, 2)])
        conn.commit()
        # When a writer inserts a second "seq 3" linked to entry 1 (a fork), or leaves a gap
        row = conn.execute(
            "SELECT hash FROM audit_log WHERE tenant_id = %s AND seq = 1", (tenant,)
        ).fetchone()
        for seq, prev in ((3, row[0]), (4, row[0])):
            # Then the database refuses it
            with pytest.raises(psycopg.errors.SerializationFailure):
                conn.execute(
                    "INSERT INTO audit_log SELECT tenant_id, %s, format, ts, actor_type, actor_id, action,"
                    " resource, subject_ref, purpose, outcome, request_id, detail_enc, %s, hash"
                    " FROM audit_log WHERE tenant_id = %s AND seq = 2",
                    (seq, prev, tenant),
                )
            conn.rollback()


def test_non_ascii_text_hashes_the_same_in_the_database_and_in_the_verifier(pg_url: str, tenant: str) -> None:
    # Given entries whose text is not ASCII
    actor = Actor(ActorType.USER, "Zoë-Ĳsbrand-日本")
    with psycopg.connect(pg_url) as conn:
        AuditRecorder().record_many(
            conn, [entry(tenant, 1, actor=actor, resource="análisis/día"), entry(tenant, 2, subject="empé-1")]
        )
        conn.commit()
        # When the chain is verified by the Python implementation of the canonical form
        report = VerifyReport()
        verify_chains(conn, report, tenant_id=tenant)
    # Then it agrees with the hashes audit_append computed
    assert report.ok, report.problems
