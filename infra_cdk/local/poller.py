"""Feeds the Kinesis stream (moto) to the consumer in batches, as Lambda's event source mapping does.

Per shard: read up to ``batch_size`` records, invoke the handler, honour its partial batch
response (resume at the lowest failed sequence number), retry a failing batch a bounded number
of times, then set it aside in ``.local/dlq.jsonl`` (the on-failure destination) and move on.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from infra_cdk.local.apigw import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class StreamPoller:
    def __init__(
        self,
        kinesis: Any,
        stream_name: str,
        handler: Callable[[dict[str, Any], Any], dict[str, Any]],
        dlq_path: Path,
        log: Callable[[str], None] = print,
        batch_size: int = 100,
        interval_s: float = 0.5,
        max_retries: int = 3,
    ) -> None:
        self._kinesis = kinesis
        self._stream = stream_name
        self._handler = handler
        self._dlq = dlq_path
        self._log = log
        self._batch = batch_size
        self._interval = interval_s
        self._max_retries = max_retries
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self.delivered = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        stream = self._kinesis.describe_stream(StreamName=self._stream)["StreamDescription"]
        arn = stream["StreamARN"]
        positions: dict[str, dict[str, Any]] = {
            shard["ShardId"]: {"type": "TRIM_HORIZON", "seq": None, "retries": 0}
            for shard in self._kinesis.list_shards(StreamName=self._stream)["Shards"]
        }
        while not self._stop.is_set():
            busy = False
            for shard_id, pos in positions.items():
                try:
                    busy |= self._poll_shard(shard_id, pos, arn)
                except Exception as err:  # a poller must outlive one bad read; it logs and goes on
                    self._log(f"stream poll error on {shard_id}: {type(err).__name__}: {err}")
            if not busy:
                self._stop.wait(self._interval)

    def _iterator(self, shard_id: str, pos: dict[str, Any]) -> str:
        kwargs: dict[str, Any] = {
            "StreamName": self._stream,
            "ShardId": shard_id,
            "ShardIteratorType": pos["type"],
        }
        if pos["seq"] is not None:
            kwargs["StartingSequenceNumber"] = pos["seq"]
        return str(self._kinesis.get_shard_iterator(**kwargs)["ShardIterator"])

    def _poll_shard(self, shard_id: str, pos: dict[str, Any], arn: str) -> bool:
        records = self._kinesis.get_records(ShardIterator=self._iterator(shard_id, pos), Limit=self._batch)[
            "Records"
        ]
        if not records:
            return False
        event = {"Records": [self._lambda_record(r, arn, shard_id) for r in records]}
        started = time.perf_counter()
        result = self._handler(event, FakeLambdaContext())
        failures = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
        took = (time.perf_counter() - started) * 1000
        if not failures:
            pos.update(type="AFTER_SEQUENCE_NUMBER", seq=records[-1]["SequenceNumber"], retries=0)
            self.delivered += len(records)
            self._log(f"stream {shard_id}: {len(records)} records stored ({took:.0f} ms)")
            return True
        first_failed = min(failures, key=int)
        pos["retries"] += 1
        if pos["retries"] > self._max_retries:
            failed = [r for r in records if int(r["SequenceNumber"]) >= int(first_failed)]
            self._set_aside(failed, shard_id)
            pos.update(type="AFTER_SEQUENCE_NUMBER", seq=records[-1]["SequenceNumber"], retries=0)
            return True
        pos.update(type="AT_SEQUENCE_NUMBER", seq=first_failed)
        self._log(
            f"stream {shard_id}: {len(failures)} of {len(records)} records failed; retry {pos['retries']}"
        )
        time.sleep(min(2.0, 0.2 * 2 ** pos["retries"]))
        return True

    def _set_aside(self, records: list[dict[str, Any]], shard_id: str) -> None:
        self._dlq.parent.mkdir(parents=True, exist_ok=True)
        with self._dlq.open("a") as fh:
            for r in records:
                fh.write(json.dumps({"shard": shard_id, "sequence": r["SequenceNumber"]}) + "\n")
        self._log(
            f"stream {shard_id}: {len(records)} records sent to the DLQ after {self._max_retries} retries"
        )

    @staticmethod
    def _lambda_record(r: dict[str, Any], arn: str, shard_id: str) -> dict[str, Any]:
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": r["PartitionKey"],
                "sequenceNumber": r["SequenceNumber"],
                "data": base64.b64encode(r["Data"]).decode(),
                "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp(),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{r['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/local",
            "awsRegion": arn.split(":")[3],
            "eventSourceARN": arn,
        }
