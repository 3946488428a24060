"""The committed sample events of the people's functions work against the real handlers, once the
placeholder bearer token is replaced by a real one of the named role."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import psycopg
import pytest

from functions.consent_api import handler as consent_api
from functions.directory_api import handler as directory_api
from infra_cdk.local.apigw import FakeLambdaContext
from infra_cdk.local.resources import REGION
from shared.certs import identity_from_pem
from shared.dynamo.devices import Device, DeviceRegistry
from tests.integration.people import samples
from tests.integration.people.conftest import Api, Cognito

if TYPE_CHECKING:
    from infra_cdk.local.pki import LocalCA
    from infra_cdk.local.resources import Resources

pytestmark = pytest.mark.integration

# In the order they are played, with the status each must produce.
EXPECTED = {
    "directory_api/get_openapi.json": 200,
    "directory_api/post_team.json": 201,
    "directory_api/get_employees.json": 200,
    "directory_api/get_employee.json": 200,
    "directory_api/post_device.json": 201,
    "directory_api/delete_device.json": 204,
    "consent_api/post_consent_policy.json": 201,
    "consent_api/put_my_consent.json": 200,
    "consent_api/get_employee_consent.json": 200,
    "consent_api/delete_my_consent.json": 202,
}


def _with_token(event: dict[str, Any], tokens: dict[str, str]) -> dict[str, Any]:
    header = (event.get("headers") or {}).get("Authorization")
    if header is None:
        return event
    role = header.rsplit("_OF_", 1)[1].lower()
    value = f"Bearer {tokens[role]}"
    event["headers"]["Authorization"] = value
    event["multiValueHeaders"]["Authorization"] = [value]
    return event


def test_every_people_sample_event_is_played(people_api: Api) -> None:
    present = {
        f"{p.parent.name}/{p.name}"
        for name in ("directory_api", "consent_api")
        for p in (samples.ROOT / name).glob("*.json")
    }
    assert present == set(EXPECTED)


def test_the_people_samples_run_against_the_handlers(
    people_api: Api, cognito: Cognito, db: psycopg.Connection, aws_resources: Resources, ca: LocalCA
) -> None:
    # Given tenant t-acme's team, employee and a registered device, and its people signed in
    samples.seed_directory(db)
    ident = identity_from_pem(ca.issue("device-sample-registered").cert_pem)
    DeviceRegistry(boto3.client("dynamodb", region_name=REGION), aws_resources.devices_table).put(
        Device(samples.DEVICE, samples.TENANT, samples.EMPLOYEE, ident.cert_key, ident.issuer, ident.serial,
               ident.not_before, ident.not_after)
    )  # fmt: skip
    tokens = {
        "admin": cognito.user(samples.TENANT, "admin").token,
        "dpo": cognito.user(samples.TENANT, "dpo").token,
        "employee": cognito.user(samples.TENANT, "employee", employee_id=samples.EMPLOYEE).token,
    }
    # When each sample is played in order
    statuses = {}
    for name in EXPECTED:
        event = _with_token(json.loads((samples.ROOT / name).read_text()), tokens)
        handler = directory_api if name.startswith("directory_api") else consent_api
        statuses[name] = handler.lambda_handler(event, FakeLambdaContext())["statusCode"]
    # Then each answers as expected
    assert statuses == EXPECTED
