"""The services one app instance runs on, built once by the composition root (``live.app``)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.files import FileLinks, FileStore
from commerce.orders.service import OrderService
from commerce.payments.service import PaymentService
from live.auth import TokenService
from live.events import LocalBus, OutboxRelay
from live.hub import Hub
from live.moderation.cache import WordListCache
from live.observability import Metrics
from live.ordering.sale_cache import SaleCache
from live.reactions import Reactions
from live.settings import Settings
from live.snapshots import RoomSnapshots
from live.streaming.service import StreamService
from live.uploads import ImageStore
from media.provider import MediaProvider
from sandbox.payments.bank import SandboxBank


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: TokenService
    clock: Clock
    metrics: Metrics
    bus: LocalBus
    relay: OutboxRelay
    reactions: Reactions
    hub: Hub
    words: WordListCache
    snapshots: RoomSnapshots
    orders: OrderService
    payments: PaymentService
    sale_cache: SaleCache
    media: MediaProvider
    streams: StreamService
    images: ImageStore
    files: FileStore
    file_links: FileLinks
    sandbox: SandboxBank | None = None  # the in-process sandbox payment provider, if used
    redis: Redis | None = None
