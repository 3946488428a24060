"""Concurrent writers (separate connections, threads) never fork a tenant's chain."""

from __future__ import annotations

import threading

import psycopg
import pytest

from shared.audit import AuditRecorder
from shared.audit.verify import VerifyReport, verify_chains
from tests.integration.audit.conftest import entry

pytestmark = pytest.mark.integration

WRITERS = 8
PER_WRITER = 25


def test_concurrent_writers_build_one_gap_free_chain(pg_url: str, tenant: str) -> None:
    # Given eight writers on their own connections, released at once
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    recorder = AuditRecorder()

    def write(worker: int) -> None:
        try:
            with psycopg.connect(pg_url) as conn:
                start.wait()
                for i in range(PER_WRITER):
                    # alternate single entries and small batches, each its own transaction
                    if i % 5 == 0:
                        recorder.record_many(
                            conn, [entry(tenant, worker * 1000 + i), entry(tenant + "-x", i)]
                        )
                    else:
                        recorder.record(conn, entry(tenant, worker * 1000 + i))
                    conn.commit()
        except BaseException as err:
            errors.append(err)

    # When they all record into the same tenant's chain
    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every entry got its own seq, 1..n without a gap, and the chain verifies
    assert errors == []
    with psycopg.connect(pg_url) as conn:
        seqs = [r[0] for r in conn.execute(
            "SELECT seq FROM audit_log WHERE tenant_id = %s ORDER BY seq", (tenant,)
        ).fetchall()]  # fmt: skip
        report = VerifyReport()
        verify_chains(conn, report, tenant_id=tenant)
    assert seqs == list(range(1, WRITERS * PER_WRITER + 1))
    assert report.ok, report.problems
