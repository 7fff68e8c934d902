"""Shared by the media tests: the nginx-rtmp tools check, a room client on a chosen media provider, and
loopback-only ICE candidates for in-process WebRTC peers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aioice.ice
import pytest

from media.nginx_config import missing_tools
from tests.support import IN_CI, Client, FakeClock, make_services

MISSING = missing_tools()


def skip_without_media_tools() -> None:
    """Call at module level: without nginx, its RTMP module, ffmpeg or ffprobe the module is skipped,
    except under CI (``CI=true``), where ``tools_present`` fails each test instead."""
    if MISSING and not IN_CI:
        pytest.skip(
            f"nginx-rtmp tools missing ({', '.join(MISSING)}): run scripts/install-media.sh",
            allow_module_level=True,
        )


def tools_present() -> None:
    if MISSING:  # only reached under CI
        pytest.fail(f"CI must test nginx-rtmp, but these are missing: {', '.join(MISSING)}")


async def exits_within(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    try:
        await asyncio.wait_for(proc.wait(), seconds)
    except TimeoutError:
        return False
    return True


def only_loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice gathers host candidates from the machine's interfaces and always leaves 127.0.0.1 out, so
    on a machine with no other interface (a container without network) neither peer would offer a
    candidate and ICE could not connect. With both peers in the test's process, offer loopback alone:
    the test then does not depend on this machine's other interfaces (and their firewalls)."""

    def loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback_only)


@contextlib.asynccontextmanager
async def room_client(db_url: str, clock: FakeClock, **settings: Any) -> AsyncIterator[Client]:
    """An API client on the in-process app with these settings (the media provider among them)."""
    services = make_services(db_url, clock, **settings)
    await services.hub.start()
    client = Client(services)
    try:
        yield client
    finally:
        await client.aclose()
        await services.streams.stop()
        await services.media.close()
        await services.hub.stop()
        await services.db.dispose()
