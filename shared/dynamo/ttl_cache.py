"""A tiny per-container cache with a time-to-live, for registry reads on the hot path."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_s
        self._max = max_entries
        self._clock = clock
        self._items: dict[K, tuple[float, V]] = {}

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        now = self._clock()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if self._ttl > 0:
            if len(self._items) >= self._max:
                self._items.clear()
            self._items[key] = (now + self._ttl, value)
        return value

    def invalidate(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
