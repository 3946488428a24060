"""Read what the agent API put on the (moto) stream and wrap it as the consumer's Lambda event."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import boto3

from infra_cdk.local.resources import REGION


def read_stream(stream_name: str) -> list[dict[str, Any]]:
    client = boto3.client("kinesis", region_name=REGION)
    records: list[dict[str, Any]] = []
    for shard in client.list_shards(StreamName=stream_name)["Shards"]:
        it = client.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            resp = client.get_records(ShardIterator=it, Limit=10_000)
            records.extend(resp["Records"])
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    return records


def lambda_event(payloads: list[bytes], partition_key: str = "employee") -> dict[str, Any]:
    """A Kinesis → Lambda event carrying these payloads, with increasing sequence numbers."""
    base = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898
    out = []
    for i, data in enumerate(payloads):
        seq = str(base + i)
        out.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": seq,
                    "data": base64.b64encode(data).decode(),
                    "approximateArrivalTimestamp": 1_733_300_000.0 + i,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{seq}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/ingest-stream",
                "awsRegion": REGION,
                "eventSourceARN": f"arn:aws:kinesis:{REGION}:123456789012:stream/{uuid.uuid4().hex[:8]}",
            }
        )
    return {"Records": out}


def stream_to_lambda_event(stream_name: str) -> dict[str, Any]:
    return lambda_event([bytes(r["Data"]) for r in read_stream(stream_name)])
