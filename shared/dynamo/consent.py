"""Consent state as ingestion reads it (the consent service writes it, with its history)."""

from __future__ import annotations

import uuid
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
        self._client.put_item(TableName=self._table, Item=_current_item(tenant_id, employee_id, state))


class CachedConsentReader:
    """Per-container cache in front of ``ConsentStore``: a withdrawal is honoured within ``ttl_s``."""

    def __init__(self, store: ConsentStore, ttl_s: float) -> None:
        self._store = store
        self._cache: TtlCache[tuple[str, str], ConsentState] = TtlCache(ttl_s)

    def current(self, tenant_id: str, employee_id: str) -> ConsentState:
        return self._cache.get_or_load(
            (tenant_id, employee_id), lambda: self._store.current(tenant_id, employee_id)
        )


# --- The consent service's side: policies, changes with their history ----------------------
HIST_PREFIX = "HIST#"
VERSION_PREFIX = "VERSION#"


def policies_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#POLICY"


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """A published policy version: immutable once written."""

    version: str
    text: str
    purposes: tuple[str, ...]
    categories: frozenset[str]
    published_at: datetime
    published_by: str


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One entry of an employee's consent history: who, when, which version and categories, how."""

    action: str  # granted | changed | withdrawn
    status: ConsentStatus
    policy_version: str | None
    categories: frozenset[str]
    actor: str
    channel: str
    at: datetime
    purge_id: str | None = None


def _policy_from_item(item: dict[str, Any]) -> ConsentPolicy:
    return ConsentPolicy(
        version=item["version"]["S"],
        text=item["text"]["S"],
        purposes=tuple(p["S"] for p in item.get("purposes", {}).get("L", [])),
        categories=frozenset(item.get("categories", {}).get("SS", [])),
        published_at=datetime.fromisoformat(item["published_at"]["S"]),
        published_by=item["published_by"]["S"],
    )


def _change_from_item(item: dict[str, Any]) -> ConsentChange:
    return ConsentChange(
        action=item["action"]["S"],
        status=ConsentStatus(item["status"]["S"]),
        policy_version=item.get("policy_version", {}).get("S"),
        categories=frozenset(item.get("categories", {}).get("SS", [])),
        actor=item["actor"]["S"],
        channel=item["channel"]["S"],
        at=datetime.fromisoformat(item["at"]["S"]),
        purge_id=item.get("purge_id", {}).get("S"),
    )


def _current_item(tenant_id: str, employee_id: str, state: ConsentState) -> dict[str, Any]:
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
    return item


class StaleConsent(Exception):
    """The current state changed between read and write (a concurrent change); retry."""


class PolicyExists(Exception):
    """A policy with this version is already published."""


class ConsentLedger:
    """Policies, and changes of an employee's consent written with their history item in one
    transaction (CURRENT keeps exactly the shape ``ConsentStore.current`` reads)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self.current_store = ConsentStore(client, table)

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        """One DynamoDB call; a failed condition becomes ``PolicyExists`` / ``StaleConsent``, any
        other failure ``DependencyUnavailable``."""
        try:
            return fn(**kwargs)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise PolicyExists() from err
            reasons = err.response.get("CancellationReasons", [])
            if code == "TransactionCanceledException" and any(
                r.get("Code") == "ConditionalCheckFailed" for r in reasons
            ):
                raise StaleConsent() from err
            raise DependencyUnavailable("The consent store is unavailable.") from err
        except BotoCoreError as err:
            raise DependencyUnavailable("The consent store is unavailable.") from err

    def current(self, tenant_id: str, employee_id: str) -> ConsentState:
        """The current state, strongly consistent (what ingestion reads)."""
        return self.current_store.current(tenant_id, employee_id)

    def put_policy(self, tenant_id: str, policy: ConsentPolicy) -> None:
        """Publish a policy version; an existing version is never overwritten (``PolicyExists``)."""
        item: dict[str, Any] = {
            "pk": {"S": policies_pk(tenant_id)},
            "sk": {"S": VERSION_PREFIX + policy.version},
            "version": {"S": policy.version},
            "text": {"S": policy.text},
            "purposes": {"L": [{"S": p} for p in policy.purposes]},
            "categories": {"SS": sorted(policy.categories)},
            "published_at": {"S": policy.published_at.isoformat()},
            "published_by": {"S": policy.published_by},
        }
        self._call(
            self._client.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_policy(self, tenant_id: str, version: str) -> ConsentPolicy | None:
        resp = self._call(
            self._client.get_item,
            TableName=self._table,
            Key={"pk": {"S": policies_pk(tenant_id)}, "sk": {"S": VERSION_PREFIX + version}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return _policy_from_item(item) if item else None

    def list_policies(self, tenant_id: str) -> list[ConsentPolicy]:
        """Every published version of the tenant, newest first (a tenant has a handful)."""
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": policies_pk(tenant_id)}},
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            resp = self._call(self._client.query, TableName=self._table, **kwargs)
            items.extend(resp.get("Items", []))
            start = resp.get("LastEvaluatedKey")
            if not start:
                break
        return sorted((_policy_from_item(i) for i in items), key=lambda p: p.published_at, reverse=True)

    def record(
        self,
        tenant_id: str,
        employee_id: str,
        state: ConsentState,
        change: ConsentChange,
        previous: ConsentState,
    ) -> None:
        """Write the new current state and its history item atomically.

        The write is conditional on the current state still being ``previous`` (by its
        ``updated_at``), so two concurrent changes cannot interleave; the loser gets ``StaleConsent``.
        """
        pk = subject_pk(tenant_id, employee_id)
        current = _current_item(tenant_id, employee_id, state)
        put_current: dict[str, Any] = {"TableName": self._table, "Item": current}
        if previous.updated_at is None:
            put_current["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put_current["ConditionExpression"] = "updated_at = :prev"
            put_current["ExpressionAttributeValues"] = {":prev": {"S": previous.updated_at.isoformat()}}
        hist: dict[str, Any] = {
            "pk": {"S": pk},
            "sk": {"S": f"{HIST_PREFIX}{change.at.isoformat()}#{uuid.uuid4()}"},
            "employee_id": {"S": employee_id},
            "action": {"S": change.action},
            "status": {"S": change.status.value},
            "actor": {"S": change.actor},
            "channel": {"S": change.channel},
            "at": {"S": change.at.isoformat()},
        }
        if change.policy_version is not None:
            hist["policy_version"] = {"S": change.policy_version}
        if change.categories:
            hist["categories"] = {"SS": sorted(change.categories)}
        if change.purge_id is not None:
            hist["purge_id"] = {"S": change.purge_id}
        self._call(
            self._client.transact_write_items,
            TransactItems=[
                {"Put": put_current},
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": hist,
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
            ],
        )

    def history(self, tenant_id: str, employee_id: str, limit: int = 500) -> list[ConsentChange]:
        """The employee's consent changes, newest first."""
        resp = self._call(
            self._client.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :h)",
            ExpressionAttributeValues={
                ":pk": {"S": subject_pk(tenant_id, employee_id)},
                ":h": {"S": HIST_PREFIX},
            },
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_change_from_item(i) for i in resp.get("Items", [])]
