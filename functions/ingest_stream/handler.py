"""Kinesis consumer: stores accepted events in PostgreSQL exactly once and publishes ``ActivityStored``.

Partial batch response: a record that cannot be decoded is reported alone; if the database
transaction fails, every decoded record is reported (nothing was written), without raising,
so Lambda retries the batch as a whole instead of bisecting a healthy batch during an outage.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from functions.ingest_stream import logic
from functions.ingest_stream.pipeline import PipelinedBatch, tune_gil_for_pipelining
from functions.ingest_stream.settings import IngestStreamSettings
from shared import aws
from shared.audit.recorder import AuditRecorder
from shared.bus import EventBridgePublisher
from shared.crypto.data_keys import DataKeyStore, EsdkKeyWrapper
from shared.db.events import EventWriter
from shared.db.pool import pool_for
from shared.dynamo.consent import CachedConsentReader, ConsentStore
from shared.errors import DependencyUnavailable
from shared.observability import freeze_heap, logger, metrics, tracer

if TYPE_CHECKING:
    import psycopg
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from psycopg_pool import ConnectionPool

    from shared.db.events import StoredSummary


class PgEventStore:
    """Stores batches in PostgreSQL; the audit entries of what a batch stored commit with it."""

    def __init__(self, pool: ConnectionPool[Any], recorder: AuditRecorder) -> None:
        self._pool = pool
        self._writer = EventWriter()
        self._recorder = recorder
        self.request_id = ""

    def begin(self) -> PipelinedBatch:
        return PipelinedBatch(self._pool, self._writer, before_commit=self._audit)

    def _audit(self, conn: psycopg.Connection[Any], stored: list[StoredSummary]) -> None:
        entries = logic.audit_entries(stored, self.request_id)
        if entries:
            self._recorder.record_many(conn, entries)


@dataclass(frozen=True)
class Deps:
    consent: logic.ConsentReader
    keys: logic.KeyProvider
    store: logic.EventStore
    publisher: logic.EventPublisher
    bus_name: str


@cache
def deps() -> Deps:
    s = IngestStreamSettings()
    ddb = aws.dynamodb()
    built = Deps(
        consent=CachedConsentReader(ConsentStore(ddb, s.consent_table), s.consent_cache_ttl_s),
        keys=DataKeyStore(
            ddb, s.data_keys_table, EsdkKeyWrapper(s.data_key_kms_key_arn), s.data_key_cache_ttl_s
        ),
        store=PgEventStore(pool_for(s), AuditRecorder()),
        publisher=EventBridgePublisher(aws.events()),
        bus_name=s.event_bus_name,
    )
    freeze_heap()
    tune_gil_for_pipelining()
    return built


class BulkKinesisProcessor(BatchProcessor):
    """Decodes records one by one (a poison record fails alone), then stores all rows in one transaction."""

    def __init__(self, d: Deps) -> None:
        super().__init__(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
        self._deps = d

    def process(self) -> list[tuple[Any, ...]]:
        sink = self._deps.store.begin()
        results: list[tuple[Any, ...]] = []
        decoded: list[tuple[logic.DecodedRecord, dict[str, Any]]] = []
        for raw in self.records:
            result = self._process_record(raw)
            results.append(result)
            if result[0] == "success":
                rec = cast("logic.DecodedRecord", result[1])
                decoded.append((rec, raw))
                sink.add(rec.rows)
        rows = sum(len(rec.rows) for rec, _ in decoded)
        try:
            summaries = sink.finish()
        except DependencyUnavailable:
            logger.exception(
                "batch not stored; every decoded record is reported failed", extra={"rows": rows}
            )
            exc_info = sys.exc_info()
            self.success_messages.clear()
            for _, raw in decoded:
                self.failure_handler(record=KinesisStreamRecord(raw), exception=exc_info)
            metrics.add_metric(name="BatchStoreFailed", unit=MetricUnit.Count, value=1)
            return results
        inserted = sum(s.inserted for s in summaries)
        dropped = sum(len(rec.record.events) for rec, _ in decoded if rec.dropped)
        metrics.add_metric(name="EventsStored", unit=MetricUnit.Count, value=inserted)
        metrics.add_metric(name="EventsDuplicate", unit=MetricUnit.Count, value=rows - inserted)
        metrics.add_metric(name="EventsDroppedNoConsent", unit=MetricUnit.Count, value=dropped)
        if summaries:
            failed = self._deps.publisher.publish(logic.summaries_to_entries(summaries, self._deps.bus_name))
            if failed:
                # The rows are committed; the summary is a notification, not the data.
                logger.warning("ActivityStored not published", extra={"failed_entries": failed})
                metrics.add_metric(name="ActivityStoredPublishFailed", unit=MetricUnit.Count, value=failed)
        return results


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    d = deps()
    subjects = logic.BatchSubjects(d.consent, d.keys)
    if isinstance(d.store, PgEventStore):
        d.store.request_id = context.aws_request_id

    def record_handler(record: KinesisStreamRecord) -> logic.DecodedRecord:
        return logic.to_rows(logic.decode(record.kinesis.data_as_bytes()), subjects)

    processor = BulkKinesisProcessor(d)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
