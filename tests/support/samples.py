"""Regenerates the sample events under ``events/`` (run: ``python -m tests.support.samples``).

The samples are static files, used by tests and by ``sam local invoke``; their device
certificate is valid for ten years and their events are dated the day they were made.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from infra_cdk.local.apigw import rest_event
from infra_cdk.local.pki import LocalCA
from tests.support.activity import make_events
from tests.support.kinesis import lambda_event

ROOT = Path(__file__).resolve().parents[2] / "events"
TENANT = "t-acme"
EMPLOYEE = "3f6d1c2a-7b8e-4d5f-9a0b-1c2d3e4f5a6b"
DEVICE = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def _write(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    ca = LocalCA("Acme Device CA")
    now = datetime.now(UTC).replace(microsecond=0)
    cert = ca.issue(f"device-{DEVICE[:8]}", not_after=now + timedelta(days=3650))
    events = make_events(20, start=now - timedelta(minutes=30), seed=2026)
    post = rest_event("POST", "/v1/events", {"events": events}, cert_pem=cert.cert_pem)
    _write(ROOT / "ingest_api" / "post_events.json", post)
    _write(
        ROOT / "ingest_api" / "get_agent_config.json",
        rest_event("GET", "/v1/agent/config", cert_pem=cert.cert_pem),
    )
    bad = make_events(2, start=now - timedelta(minutes=5), seed=7)
    bad[1]["keystrokes"] = "do-not-collect"
    _write(
        ROOT / "ingest_api" / "post_events_with_rejections.json",
        rest_event("POST", "/v1/events", {"events": bad}, cert_pem=cert.cert_pem),
    )
    record = {
        "v": 1,
        "tenant_id": TENANT,
        "employee_id": EMPLOYEE,
        "device_id": DEVICE,
        "received_at": now.isoformat(),
        "events": events,
    }
    _write(
        ROOT / "ingest_stream" / "kinesis_batch.json",
        lambda_event(
            [json.dumps(record).encode(), json.dumps({**record, "events": events[:5]}).encode()], EMPLOYEE
        ),
    )
    _write(ROOT / "db_migrate" / "trigger.json", {})


if __name__ == "__main__":
    main()
