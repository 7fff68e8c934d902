"""Stock counters in Redis: one Lua script checks on-sale, start, stock and the buyer's limit and takes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis

from commerce.orders.stock import (
    INSUFFICIENT,
    LIMIT,
    NOT_OPEN,
    NOT_STARTED,
    SOLD_OUT,
    UNKNOWN,
    Counters,
    SaleConfig,
    Take,
)

MARK_SECONDS = 7 * 24 * 3600  # how long an order's Idempotency-Key is answered from Redis
_REASONS = {-1: UNKNOWN, -2: NOT_OPEN, -3: NOT_STARTED, -4: SOLD_OUT, -5: INSUFFICIENT, -6: LIMIT}


def _script(name: str) -> str:
    return (Path(__file__).parent / name).read_text()


class RedisStock:
    keeps_marks = True

    def __init__(self, url: str, *, prefix: str = "yc", max_connections: int = 32) -> None:
        # a bounded pool: a flash sale's thousand concurrent attempts share a few connections instead of
        # each opening its own
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, socket_connect_timeout=2, socket_timeout=5
        )
        self._redis = Redis(connection_pool=pool)
        self._prefix = prefix
        self._take = self._redis.register_script(_script("take.lua"))
        self._give_back = self._redis.register_script(_script("give_back.lua"))

    def _keys(self, sale_id: int) -> list[str]:
        base = f"{self._prefix}:sale:{{{sale_id}}}"  # one hash slot for both keys
        return [base, f"{base}:buyers"]

    async def take(self, sale_id: int, user_id: str, qty: int, now: datetime, key: str | None = None) -> Take:
        keys = self._keys(sale_id)
        if key is not None:
            keys.append(self._mark(user_id, key))
        code, left, units, wait_ms = await self._take(
            keys=keys, args=[user_id, qty, int(now.timestamp() * 1000)]
        )
        if code == 2:
            return Take(False, 0, order_id=int(left))
        if code == 1:
            return Take(True, int(left), user_units=int(units))
        reason = _REASONS[int(code)]
        wait = int(wait_ms) / 1000 if reason == NOT_STARTED else None
        return Take(False, int(left), reason, seconds_to_start=wait, user_units=int(units))

    async def give_back(self, sale_id: int, user_id: str, qty: int) -> int:
        return int(await self._give_back(keys=self._keys(sale_id), args=[user_id, qty]))

    async def configure(self, config: SaleConfig, counters: Counters | None = None) -> None:
        sale, buyers = self._keys(config.sale_id)
        fields: dict[str, int] = {
            "total": config.total,
            "limit": config.limit_per_user or 0,
            "starts_ms": int(config.starts_at.timestamp() * 1000) if config.starts_at else 0,
            "open": 1 if config.open else 0,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            if counters is not None:
                fields["sold"] = counters.sold
                pipe.delete(buyers)
                if counters.users:
                    pipe.hset(buyers, mapping=cast(Any, counters.users))
            else:
                pipe.hsetnx(sale, "sold", 0)
            pipe.hset(sale, mapping=cast(Any, fields))
            await pipe.execute()

    async def counters(self, sale_id: int) -> Counters | None:
        sale, buyers = self._keys(sale_id)
        sold = await self._redis.hget(sale, "sold")
        if sold is None:
            return None
        users = await self._redis.hgetall(buyers)
        return Counters(
            int(sold),
            {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in users.items() if int(v)},
        )

    def _mark(self, buyer_id: str, key: str) -> str:
        return f"{self._prefix}:orderkey:{buyer_id}:{key}"

    async def remember_many(self, marks: list[tuple[str, str, int]]) -> None:
        if not marks:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for buyer_id, key, order_id in marks:
                pipe.set(self._mark(buyer_id, key), order_id, ex=MARK_SECONDS)
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()
