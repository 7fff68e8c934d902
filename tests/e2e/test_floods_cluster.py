"""Floods and origins on two real server processes (PostgreSQL, Redis): the tester's flood is closed with
4029 on either process and the room's like total (summed over both) stays bounded; a foreign origin is
refused before the upgrade by both, the configured and the server's own origins are not."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.channel import Viewer
from tests.e2e.cluster import Cluster, running_cluster
from tests.e2e.floods import EVERYTHING, FLOODS, accepted, flood, refused_handshake

SHOP_ORIGIN = "https://shop.example"
FLOOD_BURST = 20  # the default WS_FLOOD_BURST
LIKES_PER_SECOND = 50  # the default LIKES_PER_SECOND


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(
        tmp_path_factory.mktemp("floods"), WS_ALLOWED_ORIGINS=json.dumps([SHOP_ORIGIN])
    ) as c:
        yield c


async def _likes(c: Cluster, url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.get(f"{url}/staff/rooms", headers=c.auth("platform_staff"), params={"state": "live"})
    assert r.status_code == 200, r.text
    return int(next(x for x in r.json()["items"] if x["id"] == c.room_id)["figures"]["likes"])


async def test_floods_are_closed_and_foreign_origins_refused_on_every_process(cluster: Cluster) -> None:
    c = cluster
    rid = c.room_id
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.post(f"{c.http[0]}/rooms/{rid}/start", headers=c.auth("streamer"))
    assert r.status_code == 200, r.text
    urls = [f"{ws}/ws/rooms/{rid}" for ws in c.ws]
    async with Viewer.connect(urls[0]) as bystander:
        # the whole flood on process 0, the likes alone on process 1: both cut off with 4029
        started = time.monotonic()
        (code0, v0), (code1, v1) = await asyncio.gather(
            flood(urls[0], EVERYTHING), flood(urls[1], FLOODS["like"])
        )
        elapsed = time.monotonic() - started
        assert (code0, code1) == (4029, 4029)
        assert {o["code"] for o in v0.other if o.get("t") == "error"} == {"bad_json"}
        assert len([o for o in v1.other if o.get("t") == "error"]) <= FLOOD_BURST + 5
        # 10,000 messages of 50 likes: a second's worth and what came meanwhile, summed over processes
        await asyncio.sleep(1.5)  # each process sums its likes into Redis every WS_COUNTS_SECONDS
        likes = await _likes(c, c.http[1])
        assert 0 < likes <= LIKES_PER_SECOND * (1 + elapsed)
        await bystander.until(lambda v: v.counts.get("likes") == likes)
    for url in urls:
        status, body = await refused_handshake(f"{url}?token={c.tokens['viewer_1']}", "https://evil.example")
        assert status == 403 and body["error"]["code"] == "forbidden_origin"
        own = url.split("/ws/")[0].replace("ws://", "http://")
        for origin in (None, own, SHOP_ORIGIN):
            assert await accepted(url, origin) == "snapshot", (url, origin)
