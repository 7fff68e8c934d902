"""A bounded soak on two real server processes with PostgreSQL and Redis: 500 viewers, state changes at
20 a second, Redis restarted twice, a pub/sub connection killed and a server process restarted. An
independent client (written from docs/PROTOCOL.md, not from the server's code) follows every viewer:
each must end with the database's cart and seq, and no viewer may ever see a silent gap (a state event
skipped without a coalesced batch or a ``recovered: false`` snapshot telling it so)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.cluster import Cluster, running_cluster

VIEWERS = 500
FLIPS_PER_SECOND = 20


@dataclass
class Follower:
    """One viewer as the protocol describes it: applies state by seq, resumes with ``since``."""

    n: int
    seq: int = 0
    prices: dict[int, int | None] = field(default_factory=dict)
    explaining: int | None = None
    silent_gaps: list[str] = field(default_factory=list)
    resumes: int = 0
    snapshots: int = 0
    coalesced: int = 0
    closes: Counter[int | str] = field(default_factory=Counter)

    def apply_event(self, ev: dict[str, Any]) -> None:
        if ev["kind"] == "listing.price":
            self.prices[ev["listing_id"]] = ev["live_price_minor"]
        elif ev["kind"] == "room.explaining":
            self.explaining = ev["listing_id"]

    def on_frame(self, msg: dict[str, Any]) -> None:
        t = msg["t"]
        if t == "snapshot":
            self.snapshots += msg.get("recovered") is False
            self.seq = msg["seq"]
            self.prices = {line["id"]: line["live_price_minor"] for line in msg["cart"]}
            self.explaining = msg["room"]["explaining_listing_id"]
        elif t in ("resume", "batch"):
            new = [e for e in msg["state"] if e["seq"] > self.seq]
            expected = list(range(self.seq + 1, max(self.seq, msg["seq"]) + 1))
            if msg.get("coalesced"):
                self.coalesced += 1
            elif [e["seq"] for e in new] != expected:
                got = [e["seq"] for e in new]
                self.silent_gaps.append(f"{t} at {self.seq}: got {got} up to {msg['seq']}")
            for ev in new:
                self.apply_event(ev)
            self.resumes += t == "resume"
            self.seq = max(self.seq, msg["seq"])

    async def run(self, c: Cluster, down: set[int]) -> None:
        while True:
            up = [i for i in range(len(c.servers)) if i not in down] or [0]
            url = f"{c.ws[random.choice(up)]}/ws/rooms/{c.room_id}"
            if self.seq:
                url += f"?since={self.seq}"
            code: int | str = "refused"
            try:
                async with websockets.connect(url, open_timeout=10, max_size=2**22) as ws:
                    try:
                        async for raw in ws:
                            self.on_frame(json.loads(raw))
                    except websockets.ConnectionClosed:
                        pass
                    code = ws.close_code if ws.close_code is not None else "none"
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
                pass
            self.closes[code] += 1
            await asyncio.sleep(random.uniform(0.1, 0.6))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("soak")) as c:
        r = httpx.post(f"{c.http[0]}/rooms/{c.room_id}/start", headers=c.auth("streamer"), timeout=10)
        assert r.status_code == 200, r.text
        yield c


async def _flipper(c: Cluster, listings: list[int], down: set[int], stop: asyncio.Event) -> Counter[str]:
    """State changes at a steady rate through whichever processes are up (each sent on schedule, not
    after the previous answer, so a slow answer does not slow the rate)."""
    outcome: Counter[str] = Counter()

    async def one(h: httpx.AsyncClient, n: int) -> None:
        up = [i for i in range(len(c.servers)) if i not in down] or [0]
        base = c.http[up[n % len(up)]]
        try:
            if n % 5 == 4:
                r = await h.put(
                    f"{base}/rooms/{c.room_id}/explaining",
                    headers=c.auth("streamer"),
                    json={"listing_id": random.choice([*listings, None])},
                )
            else:
                r = await h.put(
                    f"{base}/rooms/{c.room_id}/listings/{random.choice(listings)}/price",
                    headers=c.auth("streamer"),
                    json={"live_price_minor": random.randrange(100, 100_000)},
                )
            outcome[str(r.status_code)] += 1
        except httpx.HTTPError as exc:
            outcome[type(exc).__name__] += 1

    sent: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(timeout=10) as h:
        started = time.monotonic()
        n = 0
        while not stop.is_set():
            sent.append(asyncio.create_task(one(h, n)))
            n += 1
            await asyncio.sleep(max(0.0, started + n / FLIPS_PER_SECOND - time.monotonic()))
        await asyncio.gather(*sent)
    return outcome


async def _kill_one_pubsub(c: Cluster) -> None:
    admin = c.redis.client()
    clients = admin.client_list(_type="pubsub")
    assert clients, "no pub/sub connection to kill"
    admin.client_kill_filter(_id=clients[0]["id"])


async def test_soak_every_viewer_ends_with_the_database_state_and_no_silent_gap(cluster: Cluster) -> None:
    c = cluster
    async with httpx.AsyncClient(timeout=10) as h:
        cart = (await h.get(f"{c.http[0]}/rooms/{c.room_id}/cart")).json()
    listings = [line["id"] for line in cart["listings"]]
    down: set[int] = set()
    followers = [Follower(i) for i in range(VIEWERS)]
    tasks = [asyncio.create_task(f.run(c, down)) for f in followers]
    stop = asyncio.Event()
    flips = asyncio.create_task(_flipper(c, listings, down, stop))
    try:
        await asyncio.sleep(6)
        await asyncio.to_thread(c.redis.restart, 0.5)  # Redis restarts empty
        await asyncio.sleep(6)
        await _kill_one_pubsub(c)  # one process's pub/sub connection dies
        await asyncio.sleep(6)
        down.add(1)  # a server process restarts (its viewers are told 1012 and come back)
        await asyncio.to_thread(c.kill, 1, signal.SIGTERM)
        await asyncio.to_thread(c.start, 1)
        down.discard(1)
        await asyncio.sleep(6)
        await asyncio.to_thread(c.redis.restart, 0.5)  # and Redis once more
        await asyncio.sleep(6)
    finally:
        stop.set()
        outcome = await flips
    truth_seq = int((await c.fetch("SELECT event_seq FROM live_rooms WHERE id = $1", c.room_id))[0][0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(f.seq != truth_seq for f in followers):
        await asyncio.sleep(0.2)
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await t
    async with httpx.AsyncClient(timeout=10) as h:
        final = (await h.get(f"{c.http[0]}/rooms/{c.room_id}/cart")).json()
    prices = {line["id"]: line["live_price_minor"] for line in final["listings"]}
    explaining = final["explaining_listing_id"]

    gaps = [g for f in followers for g in f.silent_gaps]
    behind = [f.n for f in followers if f.seq != truth_seq]
    wrong = [f.n for f in followers if f.prices != prices or f.explaining != explaining]
    closes: Counter[int | str] = sum((f.closes for f in followers), Counter())
    summary = {
        "flips": dict(outcome),
        "seq": truth_seq,
        "resumes": sum(f.resumes for f in followers),
        "snapshots_not_recovered": sum(f.snapshots for f in followers),
        "coalesced": sum(f.coalesced for f in followers),
        "closes": dict(closes),
    }
    assert gaps == [], (gaps[:10], summary)
    assert behind == [] and wrong == [], (behind[:10], wrong[:10], summary)
    # the flips went on through it all (a request that met the restarting process may have failed)
    assert outcome["200"] >= 0.9 * sum(outcome.values()) >= 0.9 * FLIPS_PER_SECOND * 25, summary
    assert closes[1012] >= 1, summary  # the restart was seen by its viewers, who came back
    print(summary)
