"""The stream sweep, every ``MEDIA_SWEEP_SECONDS``: dropped streams past their grace period end their room."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from live.container import Services

log = logging.getLogger("yellowcart.streams")


class StreamJobs:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._task: asyncio.Task[None] | None = None

    async def sweep_once(self) -> list[int]:
        ended = await self.services.streams.sweep()
        if ended:
            log.info("rooms ended by lost streams", extra={"rooms": ended})
        return ended

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stream-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:
                log.exception("stream sweep failed; will retry")
            await asyncio.sleep(self.services.settings.media_sweep_seconds)
