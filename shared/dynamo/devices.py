"""Device registry: which certificate belongs to which device, employee and tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEVICE_ID_INDEX = "device_id-index"


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    tenant_id: str
    employee_id: str
    cert_key: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.not_before <= now <= self.not_after


def _to_item(d: Device) -> dict[str, Any]:
    item: dict[str, Any] = {
        "cert_key": {"S": d.cert_key},
        "device_id": {"S": d.device_id},
        "tenant_id": {"S": d.tenant_id},
        "employee_id": {"S": d.employee_id},
        "issuer": {"S": d.issuer},
        "serial": {"S": d.serial},
        "not_before": {"S": d.not_before.isoformat()},
        "not_after": {"S": d.not_after.isoformat()},
    }
    if d.revoked_at is not None:
        item["revoked_at"] = {"S": d.revoked_at.isoformat()}
    return item


def _from_item(item: dict[str, Any]) -> Device:
    revoked = item.get("revoked_at", {}).get("S")
    return Device(
        device_id=item["device_id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        employee_id=item["employee_id"]["S"],
        cert_key=item["cert_key"]["S"],
        issuer=item["issuer"]["S"],
        serial=item["serial"]["S"],
        not_before=datetime.fromisoformat(item["not_before"]["S"]),
        not_after=datetime.fromisoformat(item["not_after"]["S"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )


class DeviceRegistry:
    """Reads are strongly consistent and uncached, so a revocation takes effect on the next request."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def get_by_cert_key(self, key: str) -> Device | None:
        try:
            resp = self._client.get_item(
                TableName=self._table, Key={"cert_key": {"S": key}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as err:
            raise DependencyUnavailable("The device registry is unavailable.") from err
        item = resp.get("Item")
        return _from_item(item) if item else None

    def get_by_device_id(self, device_id: str) -> Device | None:
        """The device with this id (through the ``device_id-index`` GSI: eventually consistent,
        which is fine for administration; ingestion reads by certificate key, strongly)."""
        try:
            resp = self._client.query(
                TableName=self._table,
                IndexName=DEVICE_ID_INDEX,
                KeyConditionExpression="device_id = :d",
                ExpressionAttributeValues={":d": {"S": device_id}},
                Limit=2,
            )
        except (ClientError, BotoCoreError) as err:
            raise DependencyUnavailable("The device registry is unavailable.") from err
        items = resp.get("Items", [])
        return _from_item(items[0]) if items else None

    def register(self, device: Device) -> bool:
        """Register a device; ``False`` if its certificate is already registered."""
        try:
            self.put(device)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise DependencyUnavailable("The device registry is unavailable.") from err
        except BotoCoreError as err:
            raise DependencyUnavailable("The device registry is unavailable.") from err
        return True

    def put(self, device: Device) -> None:
        """Register a device; a certificate already registered is refused (conditional put)."""
        self._client.put_item(
            TableName=self._table,
            Item=_to_item(device),
            ConditionExpression="attribute_not_exists(cert_key)",
        )

    def revoke(self, device: Device, at: datetime | None = None) -> None:
        when = (at or datetime.now(UTC)).isoformat()
        self._client.update_item(
            TableName=self._table,
            Key={"cert_key": {"S": device.cert_key}},
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :t)",
            ExpressionAttributeValues={":t": {"S": when}},
        )
