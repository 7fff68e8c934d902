"""The stock ledger in Redis (``RedisStock``): one Lua script (``take.lua``) checks on-sale, start, stock
and the buyer's limit and takes; ``give_back.lua`` returns units.

Takes that arrive together (a flash sale's attempts) are sent together: one pipeline of script calls, each
call still one atomic script run by Redis in arrival order. A single call costs redis-py about 140 µs of
CPU here; in a pipeline of a hundred, about 17 µs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import NoScriptError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.stock.base import (
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

log = logging.getLogger("yellowcart.stock")
_Waiting = tuple[list[str], list[Any], "asyncio.Future[list[Any]]"]  # keys, args, the caller's answer

MARK_SECONDS = 7 * 24 * 3600  # how long an order's Idempotency-Key is answered from Redis
PIPELINE = 256  # script calls per pipeline
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
        self._waiting: list[_Waiting] = []
        self._sender: asyncio.Task[None] | None = None

    def _keys(self, sale_id: int) -> list[str]:
        base = f"{self._prefix}:sale:{{{sale_id}}}"  # one hash slot for both keys
        return [base, f"{base}:buyers"]

    async def take(self, sale_id: int, user_id: str, qty: int, now: datetime, key: str | None = None) -> Take:
        keys = self._keys(sale_id)
        if key is not None:
            keys.append(self._mark(user_id, key))
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append((keys, [user_id, qty, int(now.timestamp() * 1000)], future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_takes())
        code, left, units, wait_ms = await future
        if code == 2:
            return Take(False, 0, order_id=int(left))
        if code == 1:
            return Take(True, int(left), user_units=int(units))
        reason = _REASONS[int(code)]
        wait = int(wait_ms) / 1000 if reason == NOT_STARTED else None
        return Take(False, int(left), reason, seconds_to_start=wait, user_units=int(units))

    async def _send_takes(self) -> None:
        """Send the waiting takes, a pipeline at a time, until none wait (takes arriving meanwhile join
        the next pipeline)."""
        await asyncio.sleep(0)  # takes made in this turn of the loop join the first pipeline
        while self._waiting:
            batch, self._waiting = self._waiting[:PIPELINE], self._waiting[PIPELINE:]
            try:
                answers = await self._run_takes(batch)
            except Exception as exc:
                for _keys, _args, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (keys, args, future), answer in zip(batch, answers, strict=True):
                if isinstance(answer, Exception):
                    if not future.done():
                        future.set_exception(answer)
                elif not future.cancelled():
                    future.set_result(answer)
                elif int(answer[0]) == 1:  # taken for a caller that went away: the units go back
                    with contextlib.suppress(Exception):
                        await self._give_back(keys=keys[:2], args=[args[0], args[1]])

    async def _run_takes(
        self, batch: list[tuple[list[str], list[Any], asyncio.Future[list[Any]]]]
    ) -> list[Any]:
        answers: list[Any] = [None] * len(batch)
        todo = list(range(len(batch)))
        for _ in range(2):
            async with self._redis.pipeline(transaction=False) as pipe:
                for i in todo:
                    keys, args, _future = batch[i]
                    pipe.evalsha(self._take.sha, len(keys), *keys, *args)
                got = await pipe.execute(raise_on_error=False)
            for i, answer in zip(todo, got, strict=True):
                answers[i] = answer
            todo = [i for i in todo if isinstance(answers[i], NoScriptError)]
            if not todo:
                break
            # Redis lost its scripts (a restart): load ours; a call refused with NOSCRIPT did not run
            await self._redis.script_load(self._take.script)
        return answers

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

    async def sold(self, sale_ids: Sequence[int], session: AsyncSession | None = None) -> dict[int, int]:
        if not sale_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for sale_id in sale_ids:
                pipe.hget(self._keys(sale_id)[0], "sold")
            got = await pipe.execute()
        return {sale_id: int(n) for sale_id, n in zip(sale_ids, got, strict=True) if n is not None}

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
