"""A change and its audit entry: the entry is written first and commits only with the change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from tests.integration.people.conftest import POLICY, Api, Cognito, build_tenant

if TYPE_CHECKING:
    from infra_cdk.local.pki import LocalCA
    from infra_cdk.local.resources import Resources

pytestmark = pytest.mark.integration


def entries(db: psycopg.Connection, tenant_id: str, action: str) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM audit_log WHERE tenant_id = %s AND action = %s", (tenant_id, action)
        ).fetchone()[0]
    )


def test_a_refused_change_leaves_no_entry(people_api: Api, cognito: Cognito, db: psycopg.Connection) -> None:
    # Given the tenant's published policy (one publish entry)
    t = build_tenant(people_api, cognito)
    assert entries(db, t.tenant_id, "consent_policy.publish") == 1
    # When the DPO tries to publish the same version again
    status, _ = people_api.post("/v1/consent-policies", t.dpo, POLICY | {"text": "changed"})
    # Then the change is refused and no entry claims it happened
    assert status == 409
    assert entries(db, t.tenant_id, "consent_policy.publish") == 1


def test_a_change_whose_entry_cannot_be_written_is_not_made(
    people_api: Api,
    cognito: Cognito,
    ca: LocalCA,
    db: psycopg.Connection,
    aws_resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.audit.recorder import AuditRecorder
    from shared.errors import AuditUnavailable

    # Given a registered device
    t = build_tenant(people_api, cognito)
    issued = ca.issue("device-audit-first")
    status, device = people_api.post(
        "/v1/devices", t.admin, {"employee_id": t.emp1.employee_id, "certificate_pem": issued.cert_pem}
    )
    assert status == 201

    # When the audit log cannot be written and the admin revokes the device
    def unavailable(self: Any, conn: Any, entries: Any) -> Any:
        raise AuditUnavailable()

    monkeypatch.setattr(AuditRecorder, "record_many", unavailable)
    status, body = people_api.delete(
        f"/v1/devices/{device['device_id']}", t.admin, path_params={"device_id": device["device_id"]}
    )
    monkeypatch.undo()
    # Then the request fails and the device is still active (the change was never made)
    assert (status, body["error"]["code"]) == (503, "service_unavailable")

    import boto3

    from infra_cdk.local.resources import REGION
    from shared.dynamo.devices import DeviceRegistry

    registry = DeviceRegistry(boto3.client("dynamodb", region_name=REGION), aws_resources.devices_table)
    assert registry.get_by_device_id(device["device_id"]).revoked_at is None  # type: ignore[union-attr]
    assert entries(db, t.tenant_id, "device.revoke") == 0
