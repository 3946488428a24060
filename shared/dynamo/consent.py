"""Consent state as ingestion reads it (the consent service writes it, with its history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.dynamo.ttl_cache import TtlCache
from shared.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CURRENT = "CURRENT"


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ConsentState:
    status: ConsentStatus
    policy_version: str | None = None
    categories: frozenset[str] = field(default_factory=frozenset)
    updated_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status is ConsentStatus.ACTIVE


NO_CONSENT = ConsentState(status=ConsentStatus.NONE)


def subject_pk(tenant_id: str, employee_id: str) -> str:
    return f"TENANT#{tenant_id}#EMP#{employee_id}"


def _from_item(item: dict[str, Any]) -> ConsentState:
    updated = item.get("updated_at", {}).get("S")
    return ConsentState(
        status=ConsentStatus(item["status"]["S"]),
        policy_version=item.get("policy_version", {}).get("S"),
        categories=frozenset(item.get("categories", {}).get("SS", [])),
        updated_at=datetime.fromisoformat(updated) if updated else None,
    )


class ConsentStore:
    """Current consent per employee. Reads are strongly consistent; callers may cache them briefly."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def current(self, tenant_id: str, employee_id: str) -> ConsentState:
        try:
            resp = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": subject_pk(tenant_id, employee_id)}, "sk": {"S": CURRENT}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as err:
            raise DependencyUnavailable("The consent store is unavailable.") from err
        item = resp.get("Item")
        return _from_item(item) if item else NO_CONSENT

    def put_current(self, tenant_id: str, employee_id: str, state: ConsentState) -> None:
        """Write the current state (the consent service adds the history item in the same transaction)."""
        item: dict[str, Any] = {
            "pk": {"S": subject_pk(tenant_id, employee_id)},
            "sk": {"S": CURRENT},
            "status": {"S": state.status.value},
            "updated_at": {"S": (state.updated_at or datetime.now(UTC)).isoformat()},
        }
        if state.policy_version is not None:
            item["policy_version"] = {"S": state.policy_version}
        if state.categories:
            item["categories"] = {"SS": sorted(state.categories)}
        self._client.put_item(TableName=self._table, Item=item)


class CachedConsentReader:
    """Per-container cache in front of ``ConsentStore``: a withdrawal is honoured within ``ttl_s``."""

    def __init__(self, store: ConsentStore, ttl_s: float) -> None:
        self._store = store
        self._cache: TtlCache[tuple[str, str], ConsentState] = TtlCache(ttl_s)

    def current(self, tenant_id: str, employee_id: str) -> ConsentState:
        return self._cache.get_or_load(
            (tenant_id, employee_id), lambda: self._store.current(tenant_id, employee_id)
        )
