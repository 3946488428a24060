"""Cached boto3 client factories: created on first use, once per container, never at import time.

``AWS_ENDPOINT_URL`` (read by botocore itself) points every client at moto locally.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


@cache
def _session() -> boto3.Session:
    return boto3.Session()


def _client(name: str) -> Any:
    return _session().client(name, config=_CONFIG)  # type: ignore[call-overload]


@cache
def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


@cache
def kinesis() -> KinesisClient:
    client: KinesisClient = _client("kinesis")
    return client


@cache
def events() -> EventBridgeClient:
    client: EventBridgeClient = _client("events")
    return client


@cache
def kms() -> KMSClient:
    client: KMSClient = _client("kms")
    return client


@cache
def s3() -> S3Client:
    client: S3Client = _client("s3")
    return client


@cache
def secretsmanager() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager")
    return client


def reset_clients() -> None:
    """Forget cached clients (tests switch moto contexts and endpoints)."""
    for factory in (_session, dynamodb, kinesis, events, kms, s3, secretsmanager):
        factory.cache_clear()
