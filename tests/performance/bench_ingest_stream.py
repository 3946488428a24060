"""``ingest_stream_rows_per_s``: 10,000-record Kinesis batches through the real consumer into PostgreSQL.

Dedup, rollups and field encryption are on; DynamoDB, KMS and EventBridge are moto in process.
Baseline ``copy_rows_per_s``: binary ``COPY`` of the very same (already encrypted) rows into an
unindexed, unpartitioned table on the same server.

Two shapes are measured: one event per record (10,000 records: the literal worst case), and the
shape the agent API produces, one request's events per record (100 records x 100 events).
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from tests.performance.report import Report

ROWS = 10_000
EMPLOYEES = 200
ROUNDS = 5


def _records(tenant: str, employees: list[str], per_record: int, seed: int) -> list[bytes]:
    from tests.support.activity import make_events

    # 10,000 events 7 s apart span ~19.5 h: end them now, as agents upload what just happened.
    events = make_events(ROWS, start=datetime.now(UTC) - timedelta(hours=20), seed=seed)
    received = datetime.now(UTC).isoformat()
    out = []
    for i in range(0, ROWS, per_record):
        emp = employees[(i // per_record) % len(employees)]
        out.append(
            json.dumps(
                {
                    "v": 1,
                    "tenant_id": tenant,
                    "employee_id": emp,
                    "device_id": f"dev-{emp[:8]}",
                    "received_at": received,
                    "events": events[i : i + per_record],
                },
                separators=(",", ":"),
            ).encode()
        )
    return out


def _copy_baseline(url: str, rows: list[Any]) -> float:
    from shared.db.events import COLUMNS

    types = ["timestamptz", "uuid", "text", "text", "text", "text", "int4", "text", "text",
             "bytea", "bytea", "int8", "int8", "text", "timestamptz"]  # fmt: skip

    samples = []
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_copy (LIKE activity_events INCLUDING DEFAULTS EXCLUDING CONSTRAINTS)"
        )
        conn.commit()
        for _ in range(ROUNDS + 1):
            conn.execute("TRUNCATE bench_copy")
            conn.commit()
            start = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY bench_copy ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
            conn.commit()
            samples.append(len(rows) / (time.perf_counter() - start))
    return statistics.median(samples[1:])


def run(report: Report) -> None:
    saved_env = dict(os.environ)
    try:
        _measure(report)
    finally:  # the next benchmark must not inherit this one's database or tables
        os.environ.clear()
        os.environ.update(saved_env)


def _measure(report: Report) -> None:
    import boto3
    from moto import mock_aws

    from functions.ingest_stream import handler, logic
    from infra_cdk.local.apigw import FakeLambdaContext
    from infra_cdk.local.resources import REGION, create_resources
    from shared import aws
    from shared.db import pool as db_pool
    from shared.dynamo.consent import ConsentState, ConsentStatus, ConsentStore
    from tests.support.kinesis import lambda_event
    from tests.support.postgres import fresh_database, server_url

    with server_url() as server, fresh_database(server) as url, mock_aws():
        aws.reset_clients()
        res = create_resources(prefix="bench-stream")
        for k, v in res.env().items():
            os.environ[k] = v
        os.environ["DATABASE_URL"] = url
        handler.deps.cache_clear()
        tenant = "t-bench"
        employees = [str(uuid.uuid4()) for _ in range(EMPLOYEES)]
        store = ConsentStore(boto3.client("dynamodb", region_name=REGION), res.consent_table)
        for emp in employees:
            store.put_current(
                tenant,
                emp,
                ConsentState(
                    ConsentStatus.ACTIVE, "v1", frozenset({"apps", "window_titles", "urls", "input_counts"})
                ),
            )
        ctx = FakeLambdaContext()
        d = handler.deps()

        # Warm-up: creates every employee's data key and the day's partitions, as a warm container has.
        warm = lambda_event(_records(tenant, employees, 1, seed=10_000))
        assert handler.lambda_handler(warm, ctx) == {"batchItemFailures": []}

        results: dict[str, float] = {}
        for shape, per_record in (
            ("ingest_stream_rows_per_s", 1),
            ("ingest_stream_rows_per_s_aggregated", 100),
        ):
            samples = []
            for r in range(ROUNDS):
                event = lambda_event(_records(tenant, employees, per_record, seed=per_record * 1000 + r))
                start = time.perf_counter()
                out = handler.lambda_handler(event, ctx)
                samples.append(ROWS / (time.perf_counter() - start))
                assert out == {"batchItemFailures": []}, out
            results[shape] = statistics.median(samples)

        # The baseline copies the same rows the consumer produced (encryption already done).
        rows = [
            row
            for payload in _records(tenant, employees, 100, seed=424242)
            for row in logic.to_rows(logic.decode(payload), logic.BatchSubjects(d.consent, d.keys)).rows
        ]
        copy_rate = _copy_baseline(url, rows)
        handler.deps.cache_clear()
        db_pool.close_all()
    aws.reset_clients()
    report.baseline("copy_rows_per_s", copy_rate, "rows/s")
    report.figure(
        "ingest_stream_rows_per_s",
        results["ingest_stream_rows_per_s"],
        "rows/s",
        "copy_rows_per_s",
        goal=">= 30,000 rows/s and ratio >= 0.35",
    )
    report.figure(
        "ingest_stream_rows_per_s_aggregated",
        results["ingest_stream_rows_per_s_aggregated"],
        "rows/s",
        "copy_rows_per_s",
        goal="(100 events per record, as the agent API writes them)",
    )
