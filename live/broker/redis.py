"""The Redis broker and counters.

``RedisBroker`` (publish/subscribe with history): keys per topic ``{prefix}:{topic}`` (prefix from
``REDIS_PREFIX``; topics ``room:{id}``, ``user:{id}``): ``:state`` stream (entry id = sequence number),
``:meta`` hash with the history's ``epoch`` (created with the history, so it changes when Redis loses
the topic's keys), ``:chat`` recent chat list. Channel ``{prefix}:{topic}`` carries ``s:<seq>:<json>``,
``c::<json>`` and ``n::<json>``. If the connection drops, the reader reconnects with backoff,
subscribes again and calls the resync handler, so the hub catches up.

``RedisCounters`` (presence and counters), keys per room ``{prefix}:room:{id}``: ``:likes`` total,
``:online`` hash node -> "count:ms", ``:peak``, ``:uv`` HyperLogLog of viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterable
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from live.broker.base import (
    Handler,
    History,
    OnlineFigures,
    Position,
    Publication,
    ResyncHandler,
    RoomFigures,
)

log = logging.getLogger("yellowcart.broker")

TTL_SECONDS = 7 * 86400
STALE_NODE_MS = 10_000
_VIEWER_CHUNK = 500


def _client(url: str) -> Any:
    # redis-py's annotations do not model decode_responses=False; treat replies as bytes
    # pooled connections die with a Redis restart: retry a command on a fresh connection
    return Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 4),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def _position(epoch: bytes | None, last: list[Any]) -> Position:
    top = int(last[0][0].split(b"-")[0]) if last else 0
    return Position(epoch.decode() if epoch and top else "", top)


def _script(name: str) -> str:
    return resources.files("live.broker").joinpath(name).read_text()


class RedisBroker:
    def __init__(
        self, url: str, *, history_size: int = 1000, chat_history: int = 50, prefix: str = "yc"
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._redis: Any = _client(url)
        # the subscriber connection must not reconnect silently: the reader has to know, to catch up
        self._sub_redis: Any = Redis.from_url(url, socket_connect_timeout=2)
        self._history_size = history_size
        self._chat_history = chat_history
        self._publish_state = self._redis.register_script(_script("publish_state.lua"))
        self._subscribed: set[str] = set()
        self._on_pub: Handler | None = None
        self._on_resync: ResyncHandler | None = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._connected = asyncio.Event()
        self.reconnects = 0

    def _key(self, topic: str, what: str) -> str:
        return f"{self._prefix}:{topic}:{what}"

    def _channel(self, topic: str) -> str:
        return f"{self._prefix}:{topic}"

    def set_handlers(self, on_publication: Handler, on_resync: ResyncHandler) -> None:
        self._on_pub = on_publication
        self._on_resync = on_resync

    async def start(self) -> None:
        if self._reader is None:
            self._closing = False
            self._reader = asyncio.create_task(self._read_loop(), name="redis-broker-reader")

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        await self._redis.aclose()
        await self._sub_redis.aclose()

    async def ping(self) -> None:
        await self._redis.ping()

    async def subscribe(self, topic: str) -> None:
        if topic in self._subscribed:
            return
        self._subscribed.add(topic)
        if self._pubsub is not None:
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.subscribe(self._channel(topic))

    async def unsubscribe(self, topic: str) -> None:
        self._subscribed.discard(topic)
        if self._pubsub is not None:
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.unsubscribe(self._channel(topic))

    async def _read_loop(self) -> None:
        backoff = 0.05
        lost = False
        while not self._closing:
            pubsub = self._sub_redis.pubsub(ignore_subscribe_messages=True)
            try:
                # a first subscription to this process's own channel keeps the connection open
                await pubsub.subscribe(f"{self._prefix}:node", *(self._channel(r) for r in self._subscribed))
                self._pubsub = pubsub
                self._connected.set()
                if lost:
                    self.reconnects += 1
                    log.warning(
                        "redis broker reconnected; catching up topics from history",
                        extra={"topics": len(self._subscribed)},
                    )
                    if self._on_resync is not None:
                        self._on_resync()
                lost = False
                backoff = 0.05
                while not self._closing:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if not lost:
                    log.warning("redis broker connection lost: %s", exc)
                lost = True
                self._connected.clear()
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel: bytes = message["channel"]
        data: bytes = message["data"]
        topic = channel.decode()[len(self._prefix) + 1 :]
        try:
            kind, seq, body = data.split(b":", 2)
        except ValueError:
            log.error("malformed broker message on %r", channel)
            return
        if self._on_pub is None:
            return
        if kind == b"s":
            self._on_pub(Publication(topic, "state", int(seq), body))
        elif kind == b"c":
            self._on_pub(Publication(topic, "chat", 0, body))
        elif kind == b"n":
            self._on_pub(Publication(topic, "notice", 0, body))

    async def wait_connected(self) -> None:
        """Wait until the subscriber connection is up (callers bound the wait)."""
        await self._connected.wait()

    async def publish_state(self, topic: str, seq: int, data: bytes) -> bool:
        message = b"s:%d:" % seq + data
        stored = await self._publish_state(
            keys=[self._key(topic, "state"), self._key(topic, "meta")],
            args=[
                seq,
                data,
                self._history_size,
                self._channel(topic),
                message,
                TTL_SECONDS,
                uuid.uuid4().hex[:16],
            ],
        )
        return bool(stored)

    async def publish_chat(self, topic: str, data: bytes) -> None:
        key = self._key(topic, "chat")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, data)
            pipe.ltrim(key, -self._chat_history, -1)
            pipe.expire(key, TTL_SECONDS)
            pipe.publish(self._channel(topic), b"c::" + data)
            await pipe.execute()

    async def publish_notice(self, topic: str, data: bytes) -> None:
        await self._redis.publish(self._channel(topic), b"n::" + data)

    async def recent_chat(self, topic: str, limit: int) -> list[bytes]:
        if limit <= 0:
            return []
        return list(await self._redis.lrange(self._key(topic, "chat"), -limit, -1))

    async def history(self, topic: str, after_seq: int) -> History:
        key = self._key(topic, "state")
        async with self._redis.pipeline(transaction=True) as pipe:  # epoch and entries read together
            pipe.hget(self._key(topic, "meta"), "epoch")
            pipe.xrevrange(key, count=1)
            pipe.xrange(key, min=f"{after_seq + 1}-0", max="+")
            epoch, last, entries = await pipe.execute()
        position = _position(epoch, last)
        if after_seq >= position.top:
            return History(position, [])
        out = [Publication(topic, "state", int(eid.split(b"-")[0]), fields[b"d"]) for eid, fields in entries]
        if not out or out[0].seq != after_seq + 1:
            return History(position, None)
        return History(position, out)

    async def positions(self, topics: Iterable[str]) -> dict[str, Position]:
        wanted = list(topics)
        if not wanted:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for topic in wanted:
                pipe.hget(self._key(topic, "meta"), "epoch")
                pipe.xrevrange(self._key(topic, "state"), count=1)
            replies = await pipe.execute()
        return {t: _position(replies[2 * i], replies[2 * i + 1]) for i, t in enumerate(wanted)}


class RedisCounters:
    def __init__(self, url: str, *, prefix: str = "yc") -> None:
        self._prefix = prefix
        self._redis: Any = _client(url)
        self._report_online = self._redis.register_script(_script("report_online.lua"))

    def _key(self, room_id: int, what: str) -> str:
        return f"{self._prefix}:room:{room_id}:{what}"

    async def close(self) -> None:
        await self._redis.aclose()

    async def add_likes(self, room_id: int, n: int) -> int:
        key = self._key(room_id, "likes")
        if n == 0:
            return int(await self._redis.get(key) or 0)
        total = int(await self._redis.incrby(key, n))
        await self._redis.expire(key, TTL_SECONDS)
        return total

    async def report_online(
        self, room_id: int, node: str, count: int, viewers: Iterable[str]
    ) -> OnlineFigures:
        keys = [self._key(room_id, "online"), self._key(room_id, "peak"), self._key(room_id, "uv")]
        pending = list(viewers)
        now_ms = int(time.time() * 1000)
        while True:
            chunk, pending = pending[:_VIEWER_CHUNK], pending[_VIEWER_CHUNK:]
            current, peak, unique = await self._report_online(
                keys=keys, args=[node, count, now_ms, STALE_NODE_MS, TTL_SECONDS, *chunk]
            )
            if not pending:
                return OnlineFigures(int(current), int(peak), int(unique))

    async def figures(self, room_id: int) -> RoomFigures:
        now_ms = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key(room_id, "online"))
            pipe.get(self._key(room_id, "peak"))
            pipe.pfcount(self._key(room_id, "uv"))
            pipe.get(self._key(room_id, "likes"))
            nodes, peak, unique, likes = await pipe.execute()
        online = 0
        for value in nodes.values():
            count, _, at = value.partition(b":")
            if at.isdigit() and now_ms - int(at) <= STALE_NODE_MS:
                online += int(count)
        return RoomFigures(
            online=online, peak=int(peak or 0), unique_viewers=int(unique or 0), likes=int(likes or 0)
        )
