"""Room and listing changes are published after their transaction commits, in order, and never lost."""

from __future__ import annotations

import pytest

from commerce.core.outbox import record_event
from tests.e2e.world import STAFF, ok, qualified_shop, scheduled_room
from tests.support import Client, FakeClock, make_services


async def test_http_changes_are_published_after_commit_in_order(client: Client) -> None:
    c = client
    sub = c.services.bus.subscribe("room:")
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, stock=5)
    rid, lid = room["id"], room["listing_ids"][0]
    await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    await ok(
        await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "on_sale"})
    )
    await ok(await c.call("POST", f"/staff/rooms/{rid}/force-end", STAFF, json={"reason": "rules"}))
    await c.services.relay.drain()
    events = sub.drain()
    kinds = [(e.kind, e.payload.get("state") or e.payload.get("status")) for e in events]
    assert kinds == [
        ("room.created", "scheduled"),
        ("listing.added", "pending"),
        ("listing.stock", None),
        ("listing.added", "pending"),
        ("listing.stock", None),
        ("room.state", "live"),
        ("listing.status", "on_sale"),
        ("listing.status", "off"),  # the room's end closes its listings first
        ("listing.status", "off"),
        ("room.state", "force_ended"),
    ]
    assert all(e.stream == f"room:{rid}" for e in events)
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[-1].payload["reason"] == "rules"


async def test_refused_change_publishes_nothing(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    room = await scheduled_room(c, w)
    await c.services.relay.drain()
    sub = c.services.bus.subscribe("room:")
    lid = room["listing_ids"][0]
    # on_sale while scheduled is refused after the listing row was already loaded: the transaction rolls back
    r = await c.call(
        "POST", f"/rooms/{room['id']}/listings/{lid}/status", w.streamer, json={"status": "on_sale"}
    )
    assert r.status_code == 409
    await c.services.relay.drain()
    assert sub.drain() == []


async def test_rolled_back_transaction_leaves_no_event(client: Client) -> None:
    db, clock = client.services.db, client.services.clock
    sub = client.services.bus.subscribe("")
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            record_event(s, stream="room:1", kind="x", payload={}, at=clock())
            raise RuntimeError("fail before commit")
    await client.services.relay.drain()
    assert sub.drain() == []


async def test_events_committed_before_a_crash_are_published_on_restart(
    db_url: str, clock: FakeClock
) -> None:
    first = make_services(db_url, clock)  # relay never started: the process "dies" after commit
    async with first.db.transaction() as s:
        for i in range(3):
            record_event(s, stream="room:7", kind="room.state", payload={"n": i}, at=clock())
    await first.db.dispose()

    second = make_services(db_url, clock)
    sub = second.bus.subscribe("room:7")
    second.relay.start()
    try:
        await second.relay.drain()
        assert [e.payload["n"] for e in sub.drain()] == [0, 1, 2]
        await second.relay.drain()
        assert sub.drain() == []  # published once
    finally:
        await second.relay.stop()
        await second.db.dispose()


async def test_room_events_carry_one_gapless_sequence_per_room(client: Client) -> None:
    c = client
    sub = c.services.bus.subscribe("room:")
    w = await qualified_shop(c)
    r1 = await scheduled_room(c, w)
    r2 = await scheduled_room(c, w)
    await ok(await c.call("POST", f"/rooms/{r1['id']}/start", w.streamer))
    await c.services.relay.drain()
    by_room: dict[str, list[int | None]] = {}
    for e in sub.drain():
        by_room.setdefault(e.stream, []).append(e.seq)
    assert by_room[f"room:{r1['id']}"] == [1, 2, 3, 4]  # created, 2 listings added, live
    assert by_room[f"room:{r2['id']}"] == [1, 2, 3]
    room = (await c.call("GET", f"/rooms/{r1['id']}")).json()
    assert room["id"] == r1["id"]
