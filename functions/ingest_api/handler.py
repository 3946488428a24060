"""Agent API: ``POST /v1/events`` and ``GET /v1/agent/config`` (mutual TLS; the certificate is the credential).

The device is resolved here rather than in a REQUEST authorizer: an authorizer cannot cache on
the client certificate (it is not an identity source), so it would cost a second Lambda
invocation per request for the same single GetItem, and the handler needs the registry entry anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from functions.ingest_api import logic
from functions.ingest_api.models import AgentConfig, ConsentView
from functions.ingest_api.settings import IngestApiSettings
from shared import aws
from shared.certs import identity_from_event
from shared.dynamo.consent import CachedConsentReader, ConsentStore
from shared.dynamo.devices import Device, DeviceRegistry
from shared.dynamo.tenants import TenantStore
from shared.http import json_response, raw_body, register_error_handlers
from shared.observability import freeze_heap, logger, metrics, tracer
from shared.stream import KinesisPublisher

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = APIGatewayRestResolver()
register_error_handlers(app)


@dataclass(frozen=True)
class Deps:
    devices: logic.DeviceLookup
    consent: CachedConsentReader
    tenants: TenantStore
    publisher: logic.StreamPublisher
    limits: logic.Limits


@cache
def deps() -> Deps:
    s = IngestApiSettings()
    ddb = aws.dynamodb()
    built = Deps(
        devices=DeviceRegistry(ddb, s.devices_table),
        consent=CachedConsentReader(ConsentStore(ddb, s.consent_table), s.consent_cache_ttl_s),
        tenants=TenantStore(ddb, s.tenants_table, s.tenant_cache_ttl_s),
        publisher=KinesisPublisher(aws.kinesis(), s.events_stream_name),
        limits=logic.Limits(
            max_body_bytes=s.max_body_bytes,
            max_events=s.max_events,
            max_future_skew_s=s.max_future_skew_s,
            max_record_bytes=s.max_record_bytes,
            put_max_attempts=s.put_max_attempts,
        ),
    )
    freeze_heap()
    return built


def _current_device(d: Deps) -> Device:
    ident = identity_from_event(app.current_event.raw_event)
    device = logic.authorize_device(ident, d.devices, datetime.now(UTC))
    logger.append_keys(tenant_id=device.tenant_id, device_id=device.device_id)
    return device


@app.post("/v1/events")
def post_events() -> Any:
    d = deps()
    device = _current_device(d)
    result = logic.ingest(
        raw_body(app.current_event.raw_event),
        device,
        d.consent.current(device.tenant_id, device.employee_id),
        d.tenants.get(device.tenant_id),
        d.publisher,
        d.limits,
    )
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=result.accepted)
    metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=len(result.rejected))
    return json_response(202, result.model_dump())


@app.get("/v1/agent/config")
def get_agent_config() -> Any:
    d = deps()
    device = _current_device(d)
    consent = d.consent.current(device.tenant_id, device.employee_id)
    tenant = d.tenants.get(device.tenant_id)
    config = AgentConfig(
        employee_id=device.employee_id,
        consent=ConsentView(
            status=consent.status.value,
            policy_version=consent.policy_version,
            categories=sorted(consent.categories),
        ),
        upload_interval_s=tenant.upload_interval_s,
        max_batch=tenant.max_batch,
    )
    return json_response(200, config.model_dump())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
