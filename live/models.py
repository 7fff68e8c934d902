"""Every table of the server, gathered for migrations and tests."""

from commerce.catalog import models as catalog_models
from commerce.core import audit, idempotency, outbox, transitions
from commerce.core.db import Base
from commerce.orders import models as order_models
from commerce.payments import models as payment_models
from commerce.shops import models as shop_models
from live.cart import models as cart_models
from live.moderation import models as moderation_models
from live.rooms import models as room_models
from live.streaming import models as stream_models

metadata = Base.metadata

__all__ = [
    "audit",
    "cart_models",
    "catalog_models",
    "idempotency",
    "metadata",
    "moderation_models",
    "order_models",
    "outbox",
    "payment_models",
    "room_models",
    "shop_models",
    "stream_models",
    "transitions",
]
