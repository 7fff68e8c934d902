"""A server process killed (SIGKILL) right after a commit loses none of the reactions to it: two real
server processes on PostgreSQL and Redis, one of them armed to kill itself at the exact point (after
the commit, before any reaction ran; ``TEST_CRASH_AFTER``), then started again.

- the order that took the last unit: the listing turns sold out, viewers get that event once, and the
  "just bought" notice for it appears;
- a room force-ended: its stream is ended and cut (a push is refused), its sales are closed in the stock
  ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import websockets

from commerce.core import failpoints
from tests.e2e.channel import Viewer
from tests.e2e.cluster import Cluster, running_cluster

ADDRESS = {
    "name": "Wang Fang",
    "phone": "+86 139 0000 0000",
    "line1": "1 Nanjing Road",
    "city": "Shanghai",
    "country": "CN",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("crash")) as c:
        yield c


async def _call(
    method: str, url: str, c: Cluster, who: str | None = None, body: Any = None, **headers: str
) -> httpx.Response:
    if who is not None:
        headers.update(c.auth(who))
    async with httpx.AsyncClient(timeout=15) as h:
        return await h.request(method, url, headers=headers, json=body)


async def _ok(method: str, url: str, c: Cluster, who: str | None = None, body: Any = None) -> Any:
    r = await _call(method, url, c, who, body)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _armed_restart(c: Cluster, point: str) -> None:
    """Server 0 again, armed to kill itself at ``point``."""
    c.kill(0)
    c.start(0, TEST_CRASH_AFTER=point, TEST_CRASH_ENABLED="true")


async def _died_by_itself(c: Cluster) -> None:
    proc = c.servers[0].proc
    assert proc is not None
    code = await asyncio.to_thread(proc.wait, 30)
    assert code == -signal.SIGKILL, code
    c.servers[0].proc = None


async def _follow(v: Viewer) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            v.apply(json.loads(await v.ws.recv()))


async def _eventually(check: Callable[[], Any], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check() if asyncio.iscoroutinefunction(check) else check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _live_room(c: Cluster) -> list[dict[str, Any]]:
    b, rid = c.http[1], c.room_id
    room = await _ok("GET", f"{b}/rooms/{rid}", c)
    if room["state"] == "scheduled":
        await _ok("POST", f"{b}/rooms/{rid}/start", c, "streamer")
    cart = await _ok("GET", f"{b}/rooms/{rid}/cart", c)
    return list(cart["listings"])


async def test_a_crash_right_after_the_last_unit_was_sold_delays_its_reactions_only(cluster: Cluster) -> None:
    c = cluster
    a, b, rid = c.http[0], c.http[1], c.room_id
    listing = (await _live_room(c))[0]
    lid, sku = listing["id"], listing["skus"][0]["id"]
    await _ok(
        "PUT", f"{b}/rooms/{rid}/listings/{lid}/stock", c, "shop_operator", {"stock": 2, "limit_per_user": 1}
    )
    await _ok("POST", f"{b}/rooms/{rid}/listings/{lid}/status", c, "streamer", {"status": "on_sale"})
    await asyncio.to_thread(_armed_restart, c, failpoints.LAST_UNIT_COMMITTED)
    order = {"sku_id": sku, "quantity": 1, "address": ADDRESS}
    async with Viewer.connect(f"{c.ws[1]}/ws/rooms/{rid}") as v:  # a viewer on the process that survives
        follower = asyncio.create_task(_follow(v))
        try:
            first = await _call(
                "POST",
                f"{a}/rooms/{rid}/listings/{lid}/orders",
                c,
                "viewer_1",
                order,
                **{"Idempotency-Key": "crash-1"},
            )
            assert first.status_code == 201, first.text
            with pytest.raises(httpx.HTTPError):  # the last unit: server 0 dies right after the commit
                await _call(
                    "POST",
                    f"{a}/rooms/{rid}/listings/{lid}/orders",
                    c,
                    "viewer_2",
                    order,
                    **{"Idempotency-Key": "crash-2"},
                )
            await _died_by_itself(c)
            rows = await asyncio.to_thread(c.sql, "SELECT buyer_id FROM orders WHERE sale_id = $1", lid)
            assert sorted(r["buyer_id"] for r in rows) == ["demo-viewer-1", "demo-viewer-2"]  # committed
            await asyncio.to_thread(c.start, 0)  # started again, unarmed

            def sold_out_flips() -> list[dict[str, Any]]:
                return [
                    e
                    for e in v.state
                    if e.get("kind") == "listing.status"
                    and e.get("listing_id") == lid
                    and e["status"] == "sold_out"
                ]

            def notice_of_the_last_buyer() -> bool:
                return any(n["name"] == "v***2" for b in v.bought for n in b["recent"])

            await _eventually(lambda: sold_out_flips() and notice_of_the_last_buyer(), "the reactions")
            await asyncio.sleep(1.5)  # both processes have polled since: nothing more arrives
            assert len(sold_out_flips()) == 1  # the event was delivered once
            for url in c.http:
                cart = await _ok("GET", f"{url}/rooms/{rid}/cart", c)
                assert next(x for x in cart["listings"] if x["id"] == lid)["status"] == "sold_out"
            retry = await _call(
                "POST",
                f"{a}/rooms/{rid}/listings/{lid}/orders",
                c,
                "viewer_2",
                order,
                **{"Idempotency-Key": "crash-2"},
            )
            assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
            # every consumer got past the order's event
            placed = await asyncio.to_thread(
                c.sql, "SELECT max(position) AS p FROM outbox_events WHERE kind = 'orders.placed'"
            )
            progress = await asyncio.to_thread(c.sql, "SELECT name, position FROM event_consumers")
            assert all(r["position"] >= placed[0]["p"] for r in progress), progress
        finally:
            follower.cancel()


async def test_a_crash_right_after_a_force_end_still_cuts_the_stream_and_closes_the_sales(
    cluster: Cluster,
) -> None:
    c = cluster
    a, b, rid = c.http[0], c.http[1], c.room_id
    listings = await _live_room(c)
    lid = listings[1]["id"]
    await _ok(
        "PUT",
        f"{b}/rooms/{rid}/listings/{lid}/stock",
        c,
        "shop_operator",
        {"stock": 10, "limit_per_user": None},
    )
    await _ok("POST", f"{b}/rooms/{rid}/listings/{lid}/status", c, "streamer", {"status": "on_sale"})
    ledger = c.redis.client()
    assert ledger.hget(f"yc:sale:{{{lid}}}", "open") == b"1"
    creds = await _ok("POST", f"{b}/rooms/{rid}/stream/credentials", c, "streamer")
    stream = f"room-{rid}"
    await asyncio.to_thread(_armed_restart, c, failpoints.ROOM_END_COMMITTED)
    with pytest.raises(httpx.HTTPError):  # server 0 dies right after the room's end committed
        await _call("POST", f"{a}/staff/rooms/{rid}/force-end", c, "platform_staff", {"reason": "crash test"})
    await _died_by_itself(c)
    rows = await asyncio.to_thread(c.sql, "SELECT state FROM live_rooms WHERE id = $1", rid)
    assert rows[0]["state"] == "force_ended"
    await asyncio.to_thread(c.start, 0)

    async def reacted() -> bool:
        got = await _ok("GET", f"{b}/rooms/{rid}/stream", c)
        cut = await asyncio.to_thread(c.sql, "SELECT cut_at FROM live_room_streams WHERE room_id = $1", rid)
        closed = all(ledger.hget(f"yc:sale:{{{x['id']}}}", "open") in (None, b"0") for x in listings)
        return bool(got["state"] == "ended" and cut[0]["cut_at"] is not None and closed)

    await _eventually(reacted, "the stream cut and the sales closed")
    assert ledger.hget(f"yc:sale:{{{lid}}}", "open") == b"0"
    for url in c.http:  # a push is refused from then on, on either process
        r = await _call(
            "POST",
            f"{url}/media/whip/{stream}",
            c,
            None,
            None,
            Authorization=f"Bearer {creds['bearer_token']}",
            **{"Content-Type": "application/sdp"},
        )
        assert r.status_code == 403, r.text
    events = await asyncio.to_thread(
        c.sql,
        "SELECT kind, payload FROM outbox_events WHERE stream = $1 AND kind = 'stream.state' ORDER BY seq",
        f"room:{rid}",
    )
    finals = [json.loads(e["payload"])["state"] for e in events]
    assert finals.count("ended") == 1  # the stream ended once, whoever ran the reaction
