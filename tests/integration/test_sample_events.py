"""The committed sample events (used by `sam local invoke`) work against the real handlers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

from functions.ingest_api import handler as ingest_api
from functions.ingest_stream import handler as ingest_stream
from infra_cdk.local.apigw import FakeLambdaContext
from infra_cdk.local.resources import REGION, Resources
from shared.certs import identity_from_pem
from shared.dynamo.consent import ConsentStatus
from shared.dynamo.devices import Device, DeviceRegistry
from shared.dynamo.tenants import TenantSettings, TenantStore
from tests.conftest import ALL_CATEGORIES, Agent, set_consent
from tests.support import samples

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def sample_device(aws_resources: Resources, handlers: None) -> None:
    pem = load("ingest_api/post_events.json")["requestContext"]["identity"]["clientCert"]["clientCertPem"]
    ident = identity_from_pem(pem)
    device = Device(
        samples.DEVICE, samples.TENANT, samples.EMPLOYEE, ident.cert_key, ident.issuer, ident.serial,
        ident.not_before, ident.not_after,
    )  # fmt: skip
    ddb = boto3.client("dynamodb", region_name=REGION)
    DeviceRegistry(ddb, aws_resources.devices_table).put(device)
    # The samples are dated the day they were made; a ten-year retention keeps them acceptable.
    TenantStore(ddb, aws_resources.tenants_table).put(
        TenantSettings(tenant_id=samples.TENANT, retention_days=3650)
    )
    agent = Agent(samples.TENANT, samples.EMPLOYEE, device, None)  # type: ignore[arg-type]
    set_consent(aws_resources.consent_table, agent, ConsentStatus.ACTIVE, ALL_CATEGORIES)


def test_every_sample_event_has_a_function() -> None:
    functions = {p.parent.name for p in (EVENTS.parent / "functions").glob("*/handler.py")}
    assert {p.name for p in EVENTS.iterdir() if p.is_dir()} == functions


def test_agent_api_samples(sample_device: None) -> None:
    ok = ingest_api.lambda_handler(load("ingest_api/post_events.json"), FakeLambdaContext())
    assert (ok["statusCode"], json.loads(ok["body"])["accepted"]) == (202, 20)
    mixed = json.loads(
        ingest_api.lambda_handler(load("ingest_api/post_events_with_rejections.json"), FakeLambdaContext())[
            "body"
        ]
    )
    assert (mixed["accepted"], [r["index"] for r in mixed["rejected"]]) == (1, [1])
    config = ingest_api.lambda_handler(load("ingest_api/get_agent_config.json"), FakeLambdaContext())
    assert json.loads(config["body"])["employee_id"] == samples.EMPLOYEE


def test_stream_sample(sample_device: None, db: psycopg.Connection) -> None:
    assert ingest_stream.lambda_handler(load("ingest_stream/kinesis_batch.json"), FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    assert db.execute("SELECT count(*) FROM activity_events").fetchone()[0] == 20
