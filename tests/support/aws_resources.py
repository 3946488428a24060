"""AWS resources for moto, with the key schemas that `shared.dynamo` documents and the CDK declares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

REGION = "eu-west-1"

TABLES: dict[str, dict[str, Any]] = {
    "devices": {
        "KeySchema": [{"AttributeName": "cert_key", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "cert_key", "AttributeType": "S"},
            {"AttributeName": "device_id", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "device_id-index",
                "KeySchema": [{"AttributeName": "device_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    },
    "consent": {
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    },
    "tenants": {
        "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "tenant_id", "AttributeType": "S"}],
    },
    "data_keys": {
        "KeySchema": [{"AttributeName": "subject", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "subject", "AttributeType": "S"}],
    },
}


@dataclass(frozen=True)
class Resources:
    devices_table: str
    consent_table: str
    tenants_table: str
    data_keys_table: str
    stream_name: str
    bus_name: str
    kms_key_arn: str

    def env(self) -> dict[str, str]:
        return {
            "DEVICES_TABLE": self.devices_table,
            "CONSENT_TABLE": self.consent_table,
            "TENANTS_TABLE": self.tenants_table,
            "DATA_KEYS_TABLE": self.data_keys_table,
            "EVENTS_STREAM_NAME": self.stream_name,
            "EVENT_BUS_NAME": self.bus_name,
            "DATA_KEY_KMS_KEY_ARN": self.kms_key_arn,
        }


def create_resources(prefix: str = "wm-test", shards: int = 2) -> Resources:
    ddb = boto3.client("dynamodb", region_name=REGION)
    names = {}
    for concern, spec in TABLES.items():
        name = f"{prefix}-{concern}"
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **spec)
        names[concern] = name
    kinesis = boto3.client("kinesis", region_name=REGION)
    stream = f"{prefix}-events"
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    events = boto3.client("events", region_name=REGION)
    bus = f"{prefix}-bus"
    events.create_event_bus(Name=bus)
    kms = boto3.client("kms", region_name=REGION)
    key_arn = kms.create_key(Description="subject data keys")["KeyMetadata"]["Arn"]
    return Resources(
        devices_table=names["devices"],
        consent_table=names["consent"],
        tenants_table=names["tenants"],
        data_keys_table=names["data_keys"],
        stream_name=stream,
        bus_name=bus,
        kms_key_arn=key_arn,
    )
