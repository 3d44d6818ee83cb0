"""A small thread-safe least-recently-used map, for values made from a key that `functools.lru_cache`
cannot key on (a model row and its fingerprint) or that must be closed when dropped (connection
pools)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value for `key`, made (outside the lock, as making may be slow) when missing.

        The least recently used values beyond the size are dropped, not closed: a caller may still
        be using one.
        """
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            value = self._items.setdefault(key, value)  # a value another thread made first wins
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> list[V]:
        """Forget every value; returns them, to close."""
        with self._lock:
            values = list(self._items.values())
            self._items.clear()
        return values

    def reset_after_fork(self) -> None:
        # The parent's lock may have been held at the fork; its values belong to the parent.
        self._lock = threading.Lock()
        self._items = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)
