"""The bare reference for the room channel benchmark: a minimal `websockets` server that relays every
message through Redis pub/sub and `broadcast()`s it to its viewers, one frame per message.

    REDIS_URL=redis://127.0.0.1:6379/0 python -m loadtests.bare_reference --port 9001

Viewers connect to ``/``; a text message from a viewer is published to the channel; every message on
the channel (viewers' danmaku, or state events the benchmark publishes directly) is broadcast as is.
"""

from __future__ import annotations

import argparse
import asyncio
import os

import websockets
from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection, broadcast, serve

CHANNEL = "bench-reference"


async def main(port: int) -> None:
    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            async for message in ws:
                await redis.publish(CHANNEL, message)
        except websockets.ConnectionClosed:
            pass
        finally:
            clients.discard(ws)

    async def relay() -> None:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CHANNEL)
        async for msg in pubsub.listen():
            if msg["type"] == "message":
                broadcast(clients, msg["data"].decode())

    async with serve(handler, "127.0.0.1", port, ping_interval=None, max_size=2**16):
        await relay()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    asyncio.run(main(ap.parse_args().port))
