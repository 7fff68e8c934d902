"""The same contract tests run against every broker: in-process memory and real Redis."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from live.broker import Broker, Counters, Position, Publication, create_broker, create_counters
from live.broker.redis import RedisBroker
from tests.support import IN_CI, reachable, redis_url

BROKERS = ["memory", "redis"]


class Inbox:
    def __init__(self) -> None:
        self.items: list[Publication] = []
        self.resyncs = 0
        self.changed = asyncio.Event()

    def on_pub(self, pub: Publication) -> None:
        self.items.append(pub)
        self.changed.set()

    def on_resync(self) -> None:
        self.resyncs += 1
        self.changed.set()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


BrokerFactory = Callable[..., Broker]


@pytest.fixture(params=BROKERS)
async def make_broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerFactory]:
    made: list[Broker] = []
    if request.param == "redis" and not reachable(redis_url(), 6379):
        if IN_CI:
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis not reachable")
    shared_memory: list[Broker] = []

    def factory(history_size: int = 1000, chat_history: int = 50) -> Broker:
        if request.param == "memory":
            # one process: every "node" is the same in-process broker
            if not shared_memory:
                shared_memory.append(
                    create_broker("memory://", history_size=history_size, chat_history=chat_history)
                )
            return shared_memory[0]
        b = create_broker(redis_url(), history_size=history_size, chat_history=chat_history)
        made.append(b)
        return b

    yield factory
    for b in made + shared_memory:
        await b.close()


CountersFactory = Callable[[], Counters]


@pytest.fixture(params=BROKERS)
async def make_counters(request: pytest.FixtureRequest) -> AsyncIterator[CountersFactory]:
    """Counters of several "nodes" that share one store (one process: one in-process store)."""
    made: list[Counters] = []
    if request.param == "redis" and not reachable(redis_url(), 6379):
        if IN_CI:
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis not reachable")
    shared = create_counters("memory://")

    def factory() -> Counters:
        if request.param == "memory":
            return shared
        c = create_counters(redis_url())
        made.append(c)
        return c

    yield factory
    for c in made:
        await c.close()


async def _started(broker: Broker, inbox: Inbox, *rooms: str) -> Broker:
    broker.set_handlers(inbox.on_pub, inbox.on_resync)
    await broker.start()
    if isinstance(broker, RedisBroker):
        async with asyncio.timeout(5):
            await broker.wait_connected()
    for r in rooms:
        await broker.subscribe(r)
    return broker


def _room() -> int:
    return random.randrange(10**9, 2 * 10**9)


def _topic() -> str:
    return f"room:{_room()}"


async def test_state_events_fan_out_in_order_once(make_broker: BrokerFactory) -> None:
    room, inbox = _topic(), Inbox()
    b = await _started(make_broker(), inbox, room)
    for seq in range(1, 6):
        assert await b.publish_state(room, seq, b'{"n":%d}' % seq)
    assert not await b.publish_state(room, 3, b"dup")  # a relay retry changes nothing
    await inbox.wait_for(lambda: len(inbox.items) >= 5)
    await asyncio.sleep(0.05)
    assert [(p.kind, p.seq) for p in inbox.items] == [("state", s) for s in range(1, 6)]
    assert inbox.items[0].data == b'{"n":1}' and inbox.items[0].topic == room
    assert (await b.positions([room]))[room].top == 5


async def test_history_and_its_limits(make_broker: BrokerFactory) -> None:
    room, other = _topic(), _topic()
    b = make_broker(history_size=5)
    empty = await b.history(room, 0)
    assert empty.position == Position("", 0) and empty.events == []
    for seq in range(1, 21):
        await b.publish_state(room, seq, b"%d" % seq)
    recent = await b.history(room, 17)
    assert recent.events is not None and [p.seq for p in recent.events] == [18, 19, 20]
    assert recent.position.top == 20 and recent.position.epoch != ""
    assert (await b.history(room, 20)).events == []
    trimmed = await b.history(room, 2)
    assert trimmed.events is None and trimmed.position == recent.position  # the client needs a snapshot
    assert await b.positions([room, other]) == {room: recent.position, other: Position("", 0)}
    # the epoch stays while the history lives
    await b.publish_state(room, 21, b"21")
    assert (await b.positions([room]))[room] == Position(recent.position.epoch, 21)


async def test_a_history_that_lost_its_entries_starts_a_new_epoch(make_broker: BrokerFactory) -> None:
    room = _topic()
    b = make_broker()
    for seq in range(1, 4):
        await b.publish_state(room, seq, b"%d" % seq)
    before = (await b.positions([room]))[room]
    if isinstance(b, RedisBroker):  # Redis lost the room's keys (a flush, a restart without persistence)
        from redis.asyncio import Redis

        admin: Any = Redis.from_url(redis_url())
        keys = [k async for k in admin.scan_iter(match=f"yc:{room}:*")]
        await admin.delete(*keys)
        await admin.aclose()
    else:  # the in-process broker's history dies with its process: a new one knows nothing
        b = create_broker("memory://")
    assert (await b.positions([room]))[room] == Position("", 0)
    lost = await b.history(room, 1)
    assert lost.events == [] and lost.position.top == 0  # it vouches only for what it holds
    await b.publish_state(room, 4, b"4")
    after = (await b.positions([room]))[room]
    assert after.top == 4 and after.epoch not in {"", before.epoch}
    assert [p.seq for p in (await b.history(room, 3)).events or []] == [4]
    assert (await b.history(room, 1)).events is None


async def test_chat_recent_and_fan_out(make_broker: BrokerFactory) -> None:
    room, other, inbox = _topic(), _topic(), Inbox()
    b = await _started(make_broker(chat_history=3), inbox, room)
    for i in range(5):
        await b.publish_chat(room, b"m%d" % i)
    await b.publish_chat(other, b"elsewhere")
    await inbox.wait_for(lambda: len(inbox.items) >= 5)
    await asyncio.sleep(0.05)
    assert [p.data for p in inbox.items] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert await b.recent_chat(room, 10) == [b"m2", b"m3", b"m4"]
    assert await b.recent_chat(room, 2) == [b"m3", b"m4"]


async def test_likes_and_online_figures_add_up_over_nodes(make_counters: CountersFactory) -> None:
    room = _room()
    a, b = make_counters(), make_counters()
    assert await a.add_likes(room, 3) == 3
    assert await b.add_likes(room, 4) == 7
    assert await a.add_likes(room, 0) == 7
    f = await a.report_online(room, "node-a", 10, ["u1", "u2"])
    assert (f.current, f.peak, f.unique) == (10, 10, 2)
    f = await b.report_online(room, "node-b", 5, ["u2", "u3"])
    assert (f.current, f.peak, f.unique) == (15, 15, 3)
    f = await a.report_online(room, "node-a", 0, [])
    assert (f.current, f.peak, f.unique) == (5, 15, 3)


async def test_unsubscribed_rooms_are_not_delivered(make_broker: BrokerFactory) -> None:
    room, inbox = _topic(), Inbox()
    b = await _started(make_broker(), inbox, room)
    await b.unsubscribe(room)
    await b.publish_state(room, 1, b"x")
    await b.publish_chat(room, b"y")
    await asyncio.sleep(0.2)
    assert inbox.items == []


async def test_redis_delivers_across_processes_and_recovers_a_lost_connection() -> None:
    if not reachable(redis_url(), 6379):
        pytest.skip("Redis not reachable") if not IN_CI else pytest.fail("Redis is required in CI")
    room, inbox = _topic(), Inbox()
    publisher = create_broker(redis_url())
    subscriber = create_broker(redis_url())
    try:
        await _started(subscriber, inbox, room)
        await publisher.publish_state(room, 1, b"one")
        await inbox.wait_for(lambda: len(inbox.items) == 1)
        # cut the subscriber's connection, as a Redis restart would
        from redis.asyncio import Redis

        admin: Any = Redis.from_url(redis_url())
        await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await admin.aclose()
        await inbox.wait_for(lambda: inbox.resyncs == 1)
        assert isinstance(subscriber, RedisBroker) and subscriber.reconnects == 1
        await publisher.publish_state(room, 2, b"two")
        await inbox.wait_for(lambda: len(inbox.items) == 2)
        assert [p.seq for p in inbox.items] == [1, 2]
    finally:
        await publisher.close()
        await subscriber.close()


def test_unknown_broker_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported broker"):
        create_broker("kafka://localhost")


async def test_figures_read_what_the_nodes_reported(make_counters: CountersFactory) -> None:
    room = _room()
    a, b = make_counters(), make_counters()
    f0 = await a.figures(room)
    assert (f0.online, f0.peak, f0.unique_viewers, f0.likes) == (0, 0, 0, 0)
    await a.add_likes(room, 9)
    await a.report_online(room, "node-a", 4, ["u1", "u2"])
    await b.report_online(room, "node-b", 2, ["u3"])
    f = await b.figures(room)
    assert (f.online, f.peak, f.unique_viewers, f.likes) == (6, 6, 3, 9)


async def test_user_topics_carry_their_own_sequence(make_broker: BrokerFactory) -> None:
    """A user's topic (ids may hold colons) has its own history and fan-out, apart from rooms."""
    user, inbox = f"user:u:{_room()}", Inbox()
    b = await _started(make_broker(), inbox, user)
    assert await b.publish_state(user, 1, b'{"kind":"order.status"}')
    await inbox.wait_for(lambda: len(inbox.items) == 1)
    assert inbox.items[0].topic == user and inbox.items[0].seq == 1
    assert [p.seq for p in (await b.history(user, 0)).events or []] == [1]
