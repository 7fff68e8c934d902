"""Product status transition table."""

from commerce.catalog.models import ProductStatus
from commerce.core.transitions import StateMachine

PRODUCT = StateMachine[ProductStatus](
    "product",
    {
        ProductStatus.ACTIVE: frozenset({ProductStatus.ARCHIVED}),
        ProductStatus.ARCHIVED: frozenset({ProductStatus.ACTIVE}),
    },
)
