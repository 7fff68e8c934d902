"""`yellowcart test-stream ROOM`: publish a moving test pattern with a clock to a room, so anyone can try
a room without a camera. Over WHIP (the WebRTC provider) or RTMP with ffmpeg (nginx-rtmp and the CDNs),
whichever the server's push credentials name."""

from __future__ import annotations

import asyncio
import sys

import httpx


async def publish_test_stream(
    server: str,
    room_id: int,
    token: str,
    *,
    seconds: float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Ask the server for push credentials as the room's streamer, then push until ``seconds`` pass (or
    forever). Returns a process exit code."""
    async with httpx.AsyncClient(base_url=server, transport=transport, timeout=10) as http:
        r = await http.post(
            f"/rooms/{room_id}/stream/credentials", headers={"Authorization": f"Bearer {token}"}
        )
    if r.status_code != 200:
        print(
            f"test-stream: the server refused push credentials ({r.status_code}): {r.text}", file=sys.stderr
        )
        return 1
    creds = r.json()
    pull = creds["stream"]["pull"]
    if creds["protocol"] == "whip":
        from media.testpattern import TestPatternTrack
        from media.whip_client import publish

        session = await publish(creds["url"], creds["bearer_token"], TestPatternTrack(), transport=transport)
        print(f"test-stream: publishing to room {room_id} over WHIP; viewers play {pull}", flush=True)
        try:
            if seconds is None:
                await session.wait_closed()
            else:
                async with asyncio.timeout(seconds):
                    await session.wait_closed()
        except TimeoutError:
            pass
        finally:
            await session.close()
        return 0
    from media.ffmpeg import push_test_stream

    proc = await push_test_stream(creds["url"], seconds)
    print(f"test-stream: pushing to room {room_id} over RTMP; viewers play {pull}", flush=True)
    try:
        return await proc.wait()
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
