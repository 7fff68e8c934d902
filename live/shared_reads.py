"""One read shared by everyone who asks for the same thing at once, and reused while it stays good.

Used for what a joining viewer (``live.snapshots``) or a purchase attempt (``live.ordering.sale_cache``)
needs from the database: a thousand callers in the same second make one read, and concurrent callers
wait for the read in flight instead of starting their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedReads(Generic[K, V]):
    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._reading: dict[K, asyncio.Future[V]] = {}
        self.reads = 0

    async def get(self, key: K, read: Callable[[], Awaitable[V]], good: Callable[[V], bool]) -> V:
        """The kept value if ``good`` says so; else the read in flight, if that one is good; else a new
        read, which everyone asking meanwhile shares. A failed read fails its waiters too."""
        while True:
            kept = self._values.get(key)
            if kept is not None and good(kept):
                return kept
            pending = self._reading.get(key)
            if pending is None:
                break
            value = await asyncio.shield(pending)
            if good(value):
                return value
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._reading[key] = future
        self.reads += 1
        try:
            value = await read()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # reported to the waiters, not logged as never retrieved
            raise
        finally:
            del self._reading[key]
        self._values[key] = value
        future.set_result(value)
        return value

    def forget(self, matching: Callable[[K], bool]) -> None:
        for key in [k for k in self._values if matching(k)]:
            del self._values[key]
