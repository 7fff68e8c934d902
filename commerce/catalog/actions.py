"""Catalog actions: shop operators manage products and SKUs; anyone reads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Product, ProductStatus, Sku
from commerce.catalog.transitions import PRODUCT
from commerce.core.db import Clock
from commerce.core.errors import Conflict, InvalidInput, NotFound
from commerce.core.identity import Principal
from commerce.core.money import Money, check_currency
from commerce.core.transitions import record_transition
from commerce.shops.actions import get_shop, require_operator


@dataclass(frozen=True)
class SkuInput:
    attributes: dict[str, str]
    price_minor: int
    stock: int
    code: str = ""


@dataclass(frozen=True)
class ProductInput:
    title: str
    category: str
    currency: str
    description: str = ""
    images: list[str] = field(default_factory=list)
    skus: Sequence[SkuInput] = ()


def attributes_key(attributes: dict[str, str]) -> str:
    return ";".join(f"{k.strip().lower()}={v.strip()}" for k, v in sorted(attributes.items()))


def _check_skus(skus: Sequence[SkuInput], currency: str) -> None:
    seen: set[str] = set()
    for i, sku in enumerate(skus):
        Money(sku.price_minor, currency)  # validates range and currency
        key = attributes_key(sku.attributes)
        if key in seen:
            raise Conflict(
                "two SKUs have the same attributes", details={"field": f"skus[{i}].attributes", "key": key}
            )
        seen.add(key)


async def get_product(session: AsyncSession, product_id: int) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound("product", product_id)
    return product


async def skus_of(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, list[Sku]]:
    out: dict[int, list[Sku]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return out
    rows = await session.scalars(select(Sku).where(Sku.product_id.in_(product_ids)).order_by(Sku.id))
    for sku in rows:
        out[sku.product_id].append(sku)
    return out


async def create_product(
    session: AsyncSession, actor: Principal, shop_id: int, data: ProductInput, clock: Clock
) -> Product:
    await get_shop(session, shop_id)
    await require_operator(session, shop_id, actor)
    check_currency(data.currency)
    if not data.skus:
        raise InvalidInput("a product needs at least one SKU", details={"field": "skus"})
    _check_skus(data.skus, data.currency)
    now = clock()
    product = Product(
        shop_id=shop_id,
        title=data.title,
        category=data.category,
        description=data.description,
        images=list(data.images),
        currency=data.currency,
        status=ProductStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    await session.flush()
    for sku in data.skus:
        session.add(_new_sku(product.id, sku, now))
    await record_transition(
        session,
        entity="product",
        entity_id=product.id,
        from_state=None,
        to_state=ProductStatus.ACTIVE,
        actor_id=actor.user_id,
        actor_role="shop_operator",
        at=now,
    )
    await session.flush()
    return product


def _new_sku(product_id: int, sku: SkuInput, now: datetime) -> Sku:
    return Sku(
        product_id=product_id,
        code=sku.code,
        attributes=dict(sku.attributes),
        attributes_key=attributes_key(sku.attributes),
        price_minor=sku.price_minor,
        stock=sku.stock,
        created_at=now,
        updated_at=now,
    )


async def update_product(
    session: AsyncSession,
    actor: Principal,
    product_id: int,
    *,
    title: str | None,
    category: str | None,
    description: str | None,
    images: list[str] | None,
    clock: Clock,
) -> Product:
    product = await get_product(session, product_id)
    await require_operator(session, product.shop_id, actor)
    if product.status == ProductStatus.ARCHIVED:
        raise Conflict(
            "an archived product cannot be edited; restore it first", details={"status": product.status}
        )
    if title is not None:
        product.title = title
    if category is not None:
        product.category = category
    if description is not None:
        product.description = description
    if images is not None:
        product.images = list(images)
    product.updated_at = clock()
    return product


async def set_product_status(
    session: AsyncSession, actor: Principal, product_id: int, target: ProductStatus, clock: Clock
) -> Product:
    product = await get_product(session, product_id)
    await require_operator(session, product.shop_id, actor)
    PRODUCT.check(product.status, target)
    now = clock()
    await record_transition(
        session,
        entity="product",
        entity_id=product.id,
        from_state=product.status,
        to_state=target,
        actor_id=actor.user_id,
        actor_role="shop_operator",
        at=now,
    )
    product.status = target
    product.updated_at = now
    return product


async def add_sku(
    session: AsyncSession, actor: Principal, product_id: int, data: SkuInput, clock: Clock
) -> Sku:
    product = await get_product(session, product_id)
    await require_operator(session, product.shop_id, actor)
    Money(data.price_minor, product.currency)
    key = attributes_key(data.attributes)
    exists = await session.scalar(
        select(func.count()).select_from(Sku).where(Sku.product_id == product_id, Sku.attributes_key == key)
    )
    if exists:
        raise Conflict("a SKU with these attributes exists", details={"field": "attributes", "key": key})
    sku = _new_sku(product_id, data, clock())
    session.add(sku)
    await session.flush()
    return sku


async def update_sku(
    session: AsyncSession,
    actor: Principal,
    product_id: int,
    sku_id: int,
    *,
    price_minor: int | None,
    stock: int | None,
    code: str | None,
    clock: Clock,
) -> Sku:
    product = await get_product(session, product_id)
    await require_operator(session, product.shop_id, actor)
    sku = await session.scalar(
        select(Sku).where(Sku.id == sku_id, Sku.product_id == product_id).with_for_update()
    )
    if sku is None:
        raise NotFound("sku", sku_id)
    if price_minor is not None:
        Money(price_minor, product.currency)
        sku.price_minor = price_minor
    if stock is not None:
        sku.stock = stock
    if code is not None:
        sku.code = code
    sku.updated_at = clock()
    return sku


async def list_products(
    session: AsyncSession, shop_id: int, *, include_archived: bool, limit: int, offset: int
) -> tuple[list[Product], int]:
    await get_shop(session, shop_id)
    stmt = select(Product).where(Product.shop_id == shop_id)
    count = select(func.count()).select_from(Product).where(Product.shop_id == shop_id)
    if not include_archived:
        stmt = stmt.where(Product.status == ProductStatus.ACTIVE)
        count = count.where(Product.status == ProductStatus.ACTIVE)
    rows = await session.scalars(stmt.order_by(Product.id).limit(limit).offset(offset))
    return list(rows), int(await session.scalar(count) or 0)
