"""Catalog: a shop's products and SKUs."""

from __future__ import annotations

from commerce.catalog import actions
from commerce.catalog.actions import ProductInput, SkuInput
from live.api.presenters import product_out, sku_out
from live.api.routing import Api, Ctx
from live.api.schemas import (
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ProductsQuery,
    ProductStatusIn,
    SkuIn,
    SkuOut,
    SkuPatch,
)

api = Api()
TAGS = ["catalog"]


def _sku(body: SkuIn) -> SkuInput:
    return SkuInput(
        attributes=dict(body.attributes), price_minor=body.price_minor, stock=body.stock, code=body.code
    )


@api.op(
    "POST",
    "/shops/{shop_id:int}/products",
    summary="Create a product with its SKUs",
    tags=TAGS,
    body=ProductIn,
    response=ProductOut,
    status=201,
)
async def create_product(ctx: Ctx) -> ProductOut:
    body: ProductIn = ctx.body
    data = ProductInput(
        title=body.title,
        category=body.category,
        currency=body.currency,
        description=body.description,
        images=list(body.images),
        skus=[_sku(x) for x in body.skus],
    )
    async with ctx.services.db.transaction() as s:
        product = await actions.create_product(s, ctx.user, ctx.path["shop_id"], data, ctx.services.clock)
        skus = (await actions.skus_of(s, [product.id]))[product.id]
    return product_out(product, skus)


@api.op(
    "GET",
    "/shops/{shop_id:int}/products",
    summary="A shop's products",
    tags=TAGS,
    query=ProductsQuery,
    response=ProductPage,
    auth="public",
)
async def list_products(ctx: Ctx) -> ProductPage:
    q: ProductsQuery = ctx.query
    async with ctx.services.db.read() as s:
        products, total = await actions.list_products(
            s, ctx.path["shop_id"], include_archived=q.include_archived, limit=q.limit, offset=q.offset
        )
        skus = await actions.skus_of(s, [p.id for p in products])
    return ProductPage(
        items=[product_out(p, skus[p.id]) for p in products], total=total, limit=q.limit, offset=q.offset
    )


@api.op(
    "GET",
    "/products/{product_id:int}",
    summary="A product with its SKUs",
    tags=TAGS,
    response=ProductOut,
    auth="public",
)
async def get_product(ctx: Ctx) -> ProductOut:
    async with ctx.services.db.read() as s:
        product = await actions.get_product(s, ctx.path["product_id"])
        skus = (await actions.skus_of(s, [product.id]))[product.id]
    return product_out(product, skus)


@api.op(
    "PATCH",
    "/products/{product_id:int}",
    summary="Edit a product's title, category, text or images",
    tags=TAGS,
    body=ProductPatch,
    response=ProductOut,
)
async def update_product(ctx: Ctx) -> ProductOut:
    body: ProductPatch = ctx.body
    async with ctx.services.db.transaction() as s:
        product = await actions.update_product(
            s,
            ctx.user,
            ctx.path["product_id"],
            title=body.title,
            category=body.category,
            description=body.description,
            images=body.images,
            clock=ctx.services.clock,
        )
        skus = (await actions.skus_of(s, [product.id]))[product.id]
    return product_out(product, skus)


@api.op(
    "POST",
    "/products/{product_id:int}/status",
    summary="Archive or restore a product",
    tags=TAGS,
    body=ProductStatusIn,
    response=ProductOut,
)
async def set_product_status(ctx: Ctx) -> ProductOut:
    body: ProductStatusIn = ctx.body
    async with ctx.services.db.transaction() as s:
        product = await actions.set_product_status(
            s, ctx.user, ctx.path["product_id"], body.status, ctx.services.clock
        )
        skus = (await actions.skus_of(s, [product.id]))[product.id]
    return product_out(product, skus)


@api.op(
    "POST",
    "/products/{product_id:int}/skus",
    summary="Add a SKU",
    tags=TAGS,
    body=SkuIn,
    response=SkuOut,
    status=201,
)
async def add_sku(ctx: Ctx) -> SkuOut:
    async with ctx.services.db.transaction() as s:
        sku = await actions.add_sku(s, ctx.user, ctx.path["product_id"], _sku(ctx.body), ctx.services.clock)
    return sku_out(sku)


@api.op(
    "PATCH",
    "/products/{product_id:int}/skus/{sku_id:int}",
    summary="Change a SKU's price, stock or code",
    tags=TAGS,
    body=SkuPatch,
    response=SkuOut,
)
async def update_sku(ctx: Ctx) -> SkuOut:
    body: SkuPatch = ctx.body
    async with ctx.services.db.transaction() as s:
        sku = await actions.update_sku(
            s,
            ctx.user,
            ctx.path["product_id"],
            ctx.path["sku_id"],
            price_minor=body.price_minor,
            stock=body.stock,
            code=body.code,
            clock=ctx.services.clock,
        )
    return sku_out(sku)
