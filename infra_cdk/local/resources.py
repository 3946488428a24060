"""The AWS resources the functions use, created in moto from the same specs the CDK app declares.

Table key schemas come from ``infra_cdk.constants.TABLE_SPECS`` (what the CDK tables are built
from), so tests and the local stack cannot drift from the cloud's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from infra_cdk.constants import TABLE_SPECS, Tables

REGION = "eu-west-1"

ENV_BY_TABLE = {
    Tables.DEVICES: "DEVICES_TABLE",
    Tables.CONSENT: "CONSENT_TABLE",
    Tables.TENANTS: "TENANTS_TABLE",
    Tables.DATA_KEYS: "DATA_KEYS_TABLE",
    Tables.IDEMPOTENCY: "IDEMPOTENCY_TABLE",
}


@dataclass(frozen=True)
class Resources:
    tables: dict[str, str]
    stream_name: str
    bus_name: str
    kms_key_arn: str

    @property
    def devices_table(self) -> str:
        return self.tables[Tables.DEVICES]

    @property
    def consent_table(self) -> str:
        return self.tables[Tables.CONSENT]

    @property
    def tenants_table(self) -> str:
        return self.tables[Tables.TENANTS]

    @property
    def data_keys_table(self) -> str:
        return self.tables[Tables.DATA_KEYS]

    def env(self) -> dict[str, str]:
        """The function environment variables that name these resources."""
        out = {ENV_BY_TABLE[concern]: name for concern, name in self.tables.items()}
        out.update(
            EVENTS_STREAM_NAME=self.stream_name,
            EVENT_BUS_NAME=self.bus_name,
            DATA_KEY_KMS_KEY_ARN=self.kms_key_arn,
        )
        return out


def table_definition(name: str, concern: str) -> dict[str, Any]:
    spec = TABLE_SPECS[concern]
    keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    attrs = {spec.partition_key}
    if spec.sort_key:
        keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        attrs.add(spec.sort_key)
    definition: dict[str, Any] = {"TableName": name, "BillingMode": "PAY_PER_REQUEST", "KeySchema": keys}
    if spec.gsis:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, key in spec.gsis
        ]
        attrs.update(key for _, key in spec.gsis)
    definition["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)]
    return definition


def create_resources(prefix: str = "wm-local", shards: int = 2, region: str = REGION) -> Resources:
    """Create tables, stream, bus and the data-key KMS key (moto: in process or at AWS_ENDPOINT_URL)."""
    ddb = boto3.client("dynamodb", region_name=region)
    tables = {}
    for concern in TABLE_SPECS:
        name = f"{prefix}-{concern.lower()}"
        ddb.create_table(**table_definition(name, concern))
        tables[concern] = name
    kinesis = boto3.client("kinesis", region_name=region)
    stream = f"{prefix}-events"
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    bus = f"{prefix}-bus"
    boto3.client("events", region_name=region).create_event_bus(Name=bus)
    key_arn = boto3.client("kms", region_name=region).create_key(Description="subject data keys")[
        "KeyMetadata"
    ]["Arn"]
    return Resources(tables=tables, stream_name=stream, bus_name=bus, kms_key_arn=key_arn)
