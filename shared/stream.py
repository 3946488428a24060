"""Kinesis adapter: PutRecords that reports which records failed, so only those are retried."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import DependencyUnavailable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_kinesis import KinesisClient

_MAX_RECORDS_PER_CALL = 500


class KinesisPublisher:
    def __init__(self, client: KinesisClient, stream_name: str) -> None:
        self._client = client
        self._stream = stream_name

    def put(self, partition_key: str, records: Sequence[bytes]) -> list[int]:
        failed: list[int] = []
        for start in range(0, len(records), _MAX_RECORDS_PER_CALL):
            chunk = records[start : start + _MAX_RECORDS_PER_CALL]
            try:
                resp = self._client.put_records(
                    StreamName=self._stream,
                    Records=[{"Data": data, "PartitionKey": partition_key} for data in chunk],
                )
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code in ("ProvisionedThroughputExceededException", "KMSThrottlingException"):
                    failed.extend(range(start, start + len(chunk)))
                    continue
                raise DependencyUnavailable("The event stream is unavailable.") from err
            except BotoCoreError as err:
                raise DependencyUnavailable("The event stream is unavailable.") from err
            if resp.get("FailedRecordCount", 0):
                failed.extend(start + i for i, r in enumerate(resp["Records"]) if "ErrorCode" in r)
        return failed
