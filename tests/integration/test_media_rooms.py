"""A room's stream on real nginx-rtmp and ffmpeg, through our server's HTTP API and callbacks.

The server runs on uvicorn in the test's event loop with the nginx-rtmp provider; nginx (Debian's RTMP
module, its own prefix and free ports) posts its callbacks to it. ffmpeg pushes a synthetic stream.
Without the tools the module is skipped, except under CI (``CI=true``), where that fails:
``scripts/install-media.sh`` installs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from commerce.core.db import system_clock
from live.app import build_services, create_app
from live.container import Services
from live.streamtest import publish_test_stream
from media import ffmpeg as ff
from media.keys import StreamKeys
from media.nginx_config import NginxLayout, NginxProcess
from tests.e2e.channel import Viewer, free_port
from tests.e2e.world import STAFF, ok, qualified_shop, room_body
from tests.media_support import exits_within, skip_without_media_tools, tools_present
from tests.support import Client, settings_for

skip_without_media_tools()


@pytest.fixture(autouse=True)
def _tools_present() -> None:
    tools_present()


@dataclass
class Site:
    c: Client
    services: Services
    layout: NginxLayout
    port: int
    logs: Path

    async def push(self, url: str, name: str) -> asyncio.subprocess.Process:
        return await ff.push_test_stream(url, None, log=self.logs / f"{name}.log")

    def diagnostics(self) -> str:
        out = []
        for log in sorted(self.logs.glob("*.log")) + sorted((self.layout.prefix / "logs").glob("*.log")):
            out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(out)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str, site: Site) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}\n{site.diagnostics()}")
        await asyncio.sleep(0.1)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


@contextlib.asynccontextmanager
async def serving(services: Services, port: int) -> AsyncIterator[None]:
    config = uvicorn.Config(
        create_app(services.settings, services=services),
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def site(sqlite_template: Any, tmp_path: Path) -> AsyncIterator[Site]:
    port = free_port()
    layout = NginxLayout.under(
        tmp_path / "nginx",
        f"http://127.0.0.1:{port}/media/callbacks/nginx-rtmp",
        rtmp_port=free_port(),
        http_port=free_port(),
    )
    settings = settings_for(
        sqlite_template.fresh(tmp_path),
        port=port,
        media_provider="nginx-rtmp",
        media_key_secret="integration-media-secret",
        nginx_rtmp_url=layout.rtmp_url,
        nginx_http_url=layout.http_url,
        nginx_replay_dir=str(layout.replay_dir),
        nginx_record_dir=str(layout.record_dir),
    )
    services = build_services(settings, system_clock)
    await services.hub.start()
    services.relay.start()
    logs = tmp_path / "logs"
    logs.mkdir()
    c = Client(services)
    try:
        async with serving(services, port), NginxProcess(layout):
            yield Site(c, services, layout, port, logs)
    finally:
        await c.aclose()
        await services.streams.stop()
        await services.media.close()
        await services.relay.stop()
        await services.hub.stop()
        await services.db.dispose()


async def test_a_pushed_stream_makes_the_room_live_force_end_cuts_it_and_the_replay_plays(site: Site) -> None:
    c = site.c
    w = await qualified_shop(c)
    when = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = room_body(w.shop_id)
    body.pop("cover_url")  # no cover: the replay's snapshot becomes it
    body["scheduled_at"] = when
    room = await ok(await c.call("POST", "/rooms", w.streamer, json=body), 201)
    rid = room["id"]
    creds = await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer))
    hls = creds["stream"]["pull"]["hls"]

    # a wrong key and an expired key are refused at once
    wrong = await site.push(creds["url"].replace("key=", "key=1"), "wrong")
    expired_key = StreamKeys("integration-media-secret").sign(f"room-{rid}", datetime.now(UTC) - timedelta(1))
    expired = await site.push(f"{creds['server']}/room-{rid}?key={expired_key}", "expired")
    assert await exits_within(wrong, 10), site.diagnostics()
    assert await exits_within(expired, 10), site.diagnostics()
    assert (await ok(await c.call("GET", f"/rooms/{rid}")))["state"] == "scheduled"

    async with Viewer.connect(f"ws://127.0.0.1:{site.port}/ws/rooms/{rid}") as viewer:
        publisher = await site.push(creds["url"], "publisher")
        try:

            async def is_live() -> bool:
                return bool((await ok(await c.call("GET", f"/rooms/{rid}")))["state"] == "live")

            await eventually(is_live, 15, "the room to go live", site)

            await viewer.until(
                lambda v: any(e["kind"] == "stream.state" and e["state"] == "publishing" for e in v.state),
                timeout=10,
            )

            async def hls_plays() -> bool:
                try:
                    return bool(ff.has_video(await ff.probe(hls)))
                except Exception:
                    return False

            await eventually(hls_plays, 20, "HLS to be pullable", site)

            t0 = time.monotonic()
            await ok(await c.call("POST", f"/staff/rooms/{rid}/force-end", STAFF, json={"reason": "rules"}))
            assert await exits_within(publisher, 8), f"publisher still up\n{site.diagnostics()}"
            cut_after = time.monotonic() - t0
        finally:
            await stop(publisher)
    assert cut_after < 8

    again = await site.push(creds["url"], "again")
    try:
        assert await exits_within(again, 10), f"re-push was admitted\n{site.diagnostics()}"
    finally:
        await stop(again)

    async def replay_ready() -> bool:
        stream = await ok(await c.call("GET", f"/rooms/{rid}/stream"))
        return bool(stream["replays"])

    await eventually(replay_ready, 30, "the replay", site)
    stream = await ok(await c.call("GET", f"/rooms/{rid}/stream"))
    assert stream["state"] == "ended"
    replay = stream["replays"][0]
    info = await ff.probe(replay["hls"])
    assert ff.has_video(info)
    duration = ff.duration_of(info)
    assert duration is not None and duration > 0
    assert replay["cover"]
    async with httpx.AsyncClient() as http:
        cover = await http.get(replay["cover"])
    assert cover.status_code == 200 and cover.content[:2] == b"\xff\xd8"  # a JPEG
    assert (await ok(await c.call("GET", f"/rooms/{rid}")))["cover_url"] == replay["cover"]

    page = await ok(await c.call("GET", f"/rooms/{rid}/stream/events", STAFF))
    outcomes = [(i["name"], i["outcome"]) for i in reversed(page["items"])]
    assert ("publish", "went_live") in outcomes
    assert ("publish", "refused") in outcomes  # the re-push after the force-end
    assert any(name == "record_done" for name, _ in outcomes)


async def test_the_test_stream_command_pushes_over_rtmp_to_a_room(site: Site) -> None:
    c = site.c
    w = await qualified_shop(c)
    body = room_body(w.shop_id)
    body["scheduled_at"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    room = await ok(await c.call("POST", "/rooms", w.streamer, json=body), 201)
    token = c.token(*w.streamer)
    server = f"http://127.0.0.1:{site.port}"
    pushing = asyncio.ensure_future(publish_test_stream(server, room["id"], token, seconds=6))
    try:

        async def is_live() -> bool:
            return bool((await ok(await c.call("GET", f"/rooms/{room['id']}")))["state"] == "live")

        await eventually(is_live, 15, "the room to go live from the test stream", site)
    finally:
        code = await asyncio.wait_for(pushing, 20)
    assert code == 0  # ffmpeg pushed for the whole time and stopped by itself
