"""EventBridge adapter: PutEvents in chunks of 10, retrying failed entries once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

_MAX_ENTRIES = 10


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient) -> None:
        self._client = client

    def publish(self, entries: list[dict[str, Any]]) -> int:
        failed = 0
        for start in range(0, len(entries), _MAX_ENTRIES):
            pending = entries[start : start + _MAX_ENTRIES]
            for _attempt in range(2):
                try:
                    resp = self._client.put_events(Entries=pending)  # type: ignore[arg-type]
                except (ClientError, BotoCoreError):
                    continue
                pending = [e for e, r in zip(pending, resp["Entries"], strict=True) if "ErrorCode" in r]
                if not pending:
                    break
            failed += len(pending)
        return failed
