"""The slow-client policy of a connection, and a room with one stalled viewer (no sockets, real hub)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from live.broker.memory import MemoryBroker, MemoryCounters
from live.close_codes import CLOSE_SLOW_CONSUMER
from live.connection import Connection, Frame, coalesce
from live.hub import Hub
from live.observability import Metrics


class Sink:
    """A fake socket: records what was sent; ``blocked`` makes every send wait forever (a stalled reader)."""

    def __init__(self, blocked: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        self.gate = asyncio.Event()
        if not blocked:
            self.gate.set()

    async def send(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def _state_frame(seq: int, listing: int, status: str) -> Frame:
    ev = {"kind": "listing.status", "listing_id": listing, "status": status, "seq": seq}
    return Frame(json.dumps({"t": "batch", "seq": seq, "state": [ev], "chat": []}), seq, (ev,))


def _chat_frame(n: int, seq: int) -> Frame:
    return Frame(json.dumps({"t": "batch", "seq": seq, "state": [], "chat": [{"text": f"c{n}"}]}), seq)


def test_coalesce_keeps_the_latest_state_of_each_listing() -> None:
    events = [
        {"kind": "listing.added", "listing_id": 1, "status": "pending", "product_id": 9, "seq": 1},
        {"kind": "listing.status", "listing_id": 1, "status": "on_sale", "seq": 2},
        {"kind": "listing.status", "listing_id": 2, "status": "off", "seq": 3},
        {"kind": "room.explaining", "listing_id": 1, "seq": 4},
        {"kind": "listing.status", "listing_id": 1, "status": "sold_out", "seq": 5},
    ]
    merged = coalesce(events)
    assert [(e["kind"], e.get("listing_id"), e.get("status"), e["seq"]) for e in merged] == [
        ("listing.status", 2, "off", 3),
        ("room.explaining", 1, None, 4),
        ("listing.status", 1, "sold_out", 5),
    ]
    assert merged[2]["product_id"] == 9  # fields of the earlier events survive


async def test_chat_is_dropped_first_then_state_is_coalesced_then_the_viewer_is_closed() -> None:
    sink = Sink(blocked=True)
    conn = Connection(sink.send, sink.close, user_id=None, max_frames=4, max_coalesce=2, lag_window=60)
    conn.start()
    conn.offer(_state_frame(1, 1, "on_sale"))
    await asyncio.sleep(0)  # the writer takes frame 1 and blocks sending it
    for i in range(3):
        conn.offer(_chat_frame(i, 1))
    conn.offer(_state_frame(2, 1, "sold_out"))
    conn.offer(_chat_frame(9, 2))  # full: the oldest chat frame goes
    assert conn.backlog == 4 and conn.stats.chat_dropped == 1
    for seq in range(3, 9):
        conn.offer(_state_frame(seq, 2, "on_sale" if seq % 2 else "off"))
    assert conn.stats.coalesced == 1 and conn.closing is None
    for seq in range(9, 14):
        conn.offer(_state_frame(seq, 3, "on_sale"))
    assert conn.stats.coalesced == 2
    for seq in range(14, 19):
        conn.offer(_state_frame(seq, 3, "off"))
    assert conn.closing is not None and conn.closing[0] == CLOSE_SLOW_CONSUMER
    sink.gate.set()  # the client reads again: it gets what was queued, then the close
    async with asyncio.timeout(2):
        while sink.closed is None:
            await asyncio.sleep(0.01)
    assert sink.closed[0] == CLOSE_SLOW_CONSUMER


async def test_coalesced_frame_carries_every_listing_latest_state() -> None:
    sink = Sink(blocked=True)
    conn = Connection(sink.send, sink.close, user_id=None, max_frames=3, max_coalesce=5, lag_window=60)
    conn.start()
    conn.offer(_state_frame(1, 1, "on_sale"))
    await asyncio.sleep(0)
    for seq, (listing, status) in enumerate([(1, "sold_out"), (2, "on_sale"), (1, "on_sale"), (2, "off")], 2):
        conn.offer(_state_frame(seq, listing, status))
    sink.gate.set()
    async with asyncio.timeout(2):
        while not sink.sent or sink.sent[-1]["seq"] != 5:
            await asyncio.sleep(0.01)
    assert [f.get("coalesced", False) for f in sink.sent] == [False, True, False]
    view: dict[int, str] = {}
    for frame in sink.sent:
        for e in frame["state"]:
            view[e["listing_id"]] = e["status"]
    assert view == {1: "on_sale", 2: "off"}


async def test_a_stalled_viewer_does_not_delay_the_room() -> None:
    broker = MemoryBroker()
    hub = Hub(broker, MemoryCounters(), Metrics(), tick_seconds=0.01, counts_seconds=60)
    await hub.start()
    try:
        stalled = Sink(blocked=True)
        slow = Connection(
            stalled.send, stalled.close, user_id=None, max_frames=8, max_coalesce=3, lag_window=60
        )
        slow.start()
        await hub.join(7, slow)
        readers = [Sink() for _ in range(20)]
        conns = [Connection(r.send, r.close, user_id=f"u{i}", max_frames=8) for i, r in enumerate(readers)]
        for c in conns:
            c.start()
            await hub.join(7, c)
        loop = asyncio.get_running_loop()
        for seq in range(1, 201):
            await broker.publish_state(
                "room:7",
                seq,
                json.dumps({"kind": "listing.status", "listing_id": seq % 3, "status": "on_sale"}).encode(),
            )
            if seq % 2 == 0:
                await asyncio.sleep(0.012)  # about one tick: one frame per two events
        started = loop.time()
        async with asyncio.timeout(5):
            while any(not r.sent or r.sent[-1]["seq"] != 200 for r in readers):
                await asyncio.sleep(0.005)
        assert loop.time() - started < 1.0
        for r in readers:
            seqs = [e["seq"] for f in r.sent for e in f["state"]]
            assert seqs == list(range(1, 201))  # every reader: every event, in order, none coalesced
        assert slow.closing is not None and slow.closing[0] == CLOSE_SLOW_CONSUMER
        assert slow.stats.coalesced >= 1
    finally:
        await hub.stop()
