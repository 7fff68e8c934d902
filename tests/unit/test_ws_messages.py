"""The room channel's dispatch table and its limits: handlers per message type, the like cap, the ping
limit and the flood rule (every refused or excessive message counts; 4029 past the limit). No sockets:
a real hub on the in-process broker, a fake socket, an injected monotonic clock."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from commerce.core.identity import Role
from live.api.ws_messages import HANDLERS, TokenBucket, ViewerSession
from live.close_codes import CLOSE_FLOOD, CLOSE_TOO_BIG
from live.connection import Connection
from live.container import Services
from live.moderation.actions import WordFilter
from live.moderation.models import WordAction
from tests.support import FakeClock, make_services
from tests.unit.test_connection import Sink

ROOM = 7


class Monotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Words:
    """The word list without a database."""

    def __init__(self, words: list[tuple[str, WordAction]]) -> None:
        self.filter = WordFilter(words)

    async def get(self) -> WordFilter:
        return self.filter


@dataclass
class Rig:
    services: Services
    sink: Sink
    conn: Connection
    session: ViewerSession
    time: Monotonic

    async def send(self, msg: Any) -> bool:
        return await self.session.handle(msg if isinstance(msg, str) else json.dumps(msg))

    def errors(self) -> list[str]:
        return [m["code"] for m in self.sink.sent if m["t"] == "error"]

    def sent(self, t: str) -> list[dict[str, Any]]:
        return [m for m in self.sink.sent if m["t"] == t]

    @property
    def likes(self) -> int:
        return self.services.hub.rooms[ROOM].audience.likes_pending

    def token(self, user: str) -> str:
        return self.services.tokens.issue(user, (Role.VIEWER,), name=user)


@contextlib.asynccontextmanager
async def make_rig(tmp_path: Path, **settings: Any) -> AsyncIterator[Rig]:
    """A viewer's session in room 7; the database is never opened (the word list is a fake)."""
    services = make_services(f"sqlite:///{tmp_path / 'unused.db'}", FakeClock(), **settings)
    services.words = Words([("scam", WordAction.BLOCK)])  # type: ignore[assignment]
    services.hub.feeds.truth = None  # the broker alone answers for positions here
    sink = Sink()
    conn = Connection(sink.send, sink.close, user_id=None)
    channel = await services.hub.join(ROOM, conn)
    clock = Monotonic()
    yield Rig(services, sink, conn, ViewerSession(services, channel, conn, None, monotonic=clock), clock)
    await services.hub.leave(ROOM, conn)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with make_rig(tmp_path) as rig:
        yield rig


def test_the_token_bucket_grants_what_it_holds_and_refills_at_its_rate() -> None:
    clock = Monotonic()
    bucket = TokenBucket(rate=10, burst=20, monotonic=clock)
    assert bucket.take_up_to(15) == 15
    assert bucket.take_up_to(15) == 5
    assert not bucket.take()
    clock.t += 0.5
    assert bucket.take_up_to(50) == 5
    clock.t += 60
    assert bucket.take_up_to(50) == 20  # never more than the burst


async def test_each_message_type_has_its_handler(rig: Rig) -> None:
    assert set(HANDLERS) == {"ping", "auth", "like", "chat"}
    assert await rig.send({"t": "ping", "id": "p1"})
    assert rig.sent("pong")[0]["id"] == "p1"
    assert await rig.send({"t": "like", "n": 3})
    assert rig.likes == 3
    assert await rig.send({"t": "auth", "token": rig.token("fan-1"), "id": "a1"})
    assert rig.sent("authed") == [{"t": "authed", "id": "a1", "user_id": "fan-1"}]
    assert rig.conn.user_id == "fan-1"
    assert await rig.send({"t": "chat", "text": " hello ", "id": "c1"})
    [ack] = rig.sent("ack")
    published = await rig.services.hub.recent_chat(ROOM, 10)
    assert [(d["id"], d["user_id"], d["text"]) for d in published] == [(ack["chat_id"], "fan-1", "hello")]
    assert rig.services.hub.rooms[ROOM].audience.danmaku == 1  # the hub counts what it published
    assert rig.errors() == []


REFUSED: list[tuple[str, Any, str]] = [
    ("bad json", "{not json", "bad_json"),
    ("not an object", '["chat"]', "bad_message"),
    ("unknown type", {"t": "dance"}, "unknown_type"),
    ("bad like", {"t": "like", "n": 0}, "invalid"),
    ("guest chat", {"t": "chat", "text": "hi"}, "login_required"),
    ("bad token", {"t": "auth", "token": "garbage"}, "unauthenticated"),
]


@pytest.mark.parametrize(("message", "code"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
async def test_every_kind_of_refusal_counts_toward_the_flood_limit(rig: Rig, message: Any, code: str) -> None:
    burst = rig.services.settings.ws_flood_burst
    results = [await rig.send(message) for _ in range(burst + 1)]
    assert results == [True] * burst + [False]
    assert rig.errors() == [code] * (burst + 1)  # each refusal is answered, the last one too
    assert rig.conn.closing is not None and rig.conn.closing[0] == CLOSE_FLOOD


@pytest.mark.parametrize("code", ["invalid", "muted", "rate_limited", "blocked"])
async def test_refused_danmaku_count_too(rig: Rig, code: str) -> None:
    assert await rig.send({"t": "auth", "token": rig.token("loud")})
    text = {"invalid": "", "blocked": "a SCAM"}.get(code, "hi")
    if code == "muted":
        rig.services.hub.rooms[ROOM].muted.add("loud")
    if code == "blocked":  # an allowance that never runs out, so that only the words are refused
        rig.session.chat = TokenBucket(1000, 1000, rig.time)
    accepted = rig.services.settings.chat_burst if code == "rate_limited" else 0
    results = [await rig.send({"t": "chat", "text": text}) for _ in range(accepted + 21)]
    assert results == [True] * (accepted + 20) + [False]
    assert rig.errors() == [code] * 21
    assert rig.conn.closing is not None and rig.conn.closing[0] == CLOSE_FLOOD


async def test_likes_are_capped_per_second_and_the_excess_counts_as_a_refusal(tmp_path: Path) -> None:
    async with make_rig(tmp_path, likes_per_second=30) as rig:
        assert await rig.send({"t": "like", "n": 50})
        assert await rig.send({"t": "like", "n": 10})
        assert rig.likes == 30
        assert [(m["code"], m["details"]) for m in rig.sent("error")] == [
            ("rate_limited", {"counted": 30}),
            ("rate_limited", {"counted": 0}),
        ]
        rig.time.t += 0.5
        assert await rig.send({"t": "like", "n": 50})
        assert rig.likes == 45
        # the tester's flood: 10,000 messages of 50 likes each, all at once
        sent = 0
        while await rig.send({"t": "like", "n": 50}) and sent < 10_000:
            sent += 1
        assert sent < rig.services.settings.ws_flood_burst
        assert rig.likes == 45
        assert rig.conn.closing is not None and rig.conn.closing[0] == CLOSE_FLOOD


async def test_pings_are_limited_and_the_excess_counts_as_a_refusal(rig: Rig) -> None:
    per_minute = rig.services.settings.ws_pings_per_minute
    for _ in range(per_minute):
        assert await rig.send({"t": "ping"})
    assert len(rig.sent("pong")) == per_minute and rig.errors() == []
    assert await rig.send({"t": "ping", "id": 9})
    assert rig.sent("error")[-1] == {
        "t": "error",
        "code": "rate_limited",
        "message": f"too many pings; at most {per_minute} a minute",
        "id": 9,
    }
    rig.time.t += 60 / per_minute
    assert await rig.send({"t": "ping"})
    assert len(rig.sent("pong")) == per_minute + 1
    while await rig.send({"t": "ping"}):
        pass
    assert rig.conn.closing is not None and rig.conn.closing[0] == CLOSE_FLOOD


async def test_refusals_are_forgiven_at_the_sustained_rate(rig: Rig) -> None:
    settings = rig.services.settings
    for _ in range(settings.ws_flood_burst):
        assert await rig.send("{not json")
    rig.time.t += settings.ws_flood_burst / settings.ws_flood_rate_per_second
    for _ in range(settings.ws_flood_burst):
        assert await rig.send({"t": "dance"})
    assert not await rig.send({"t": "dance"})


async def test_a_well_behaved_viewer_is_never_refused_nor_closed(rig: Rig) -> None:
    """Ten minutes of an eager viewer: tapping like 20 times a second (sent one by one for five minutes,
    then ten at a time), a danmaku every 2 s, a ping every 20 s."""
    assert await rig.send({"t": "auth", "token": rig.token("eager")})
    step = 0.05
    for i in range(int(600 / step)):
        rig.time.t += step
        if i < 6000:
            assert await rig.send({"t": "like"})
        elif i % 10 == 0:
            assert await rig.send({"t": "like", "n": 10})
        if i % 40 == 0:
            assert await rig.send({"t": "chat", "text": f"so good {i}"})
        if i % 400 == 0:
            assert await rig.send({"t": "ping"})
    assert rig.errors() == [] and rig.conn.closing is None
    assert rig.likes == 6000 + 600 * 10


async def test_a_viewer_mashing_send_now_and_then_is_slowed_down_but_not_closed(rig: Rig) -> None:
    """Eight danmaku in a row every ten seconds: the last three each time are refused, never a 4029."""
    assert await rig.send({"t": "auth", "token": rig.token("fast")})
    for _ in range(30):
        for _ in range(8):
            assert await rig.send({"t": "chat", "text": "grab it!"})
        rig.time.t += 10
    assert rig.errors().count("rate_limited") == 3 * 30 and rig.conn.closing is None


async def test_a_message_larger_than_the_limit_closes_with_1009(rig: Rig) -> None:
    assert not await rig.send(json.dumps({"t": "chat", "text": "y" * 10_000}))
    assert rig.conn.closing is not None and rig.conn.closing[0] == CLOSE_TOO_BIG
