"""The catalog: products and their SKUs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from commerce.catalog.models import ProductStatus
from live.api.schemas.common import LINE, Currency, In, Minor, Out, PageQuery, Url, line, para

AttrKeyPattern = LINE
AttrKey = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=AttrKeyPattern)]
AttrValue = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE)]


def _attribute_map(schema: dict[str, Any]) -> None:
    """pydantic writes a key pattern as patternProperties, which lets other keys through; say it as it is:
    every key matches the key schema, every value the value schema."""
    value_schema = next(iter(schema.pop("patternProperties").values()))
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": AttrKeyPattern}
    schema["additionalProperties"] = value_schema


class SkuIn(In):
    attributes: dict[AttrKey, AttrValue] = Field(
        default_factory=dict,
        max_length=5,
        description='e.g. {"colour": "red", "size": "M"}',
        json_schema_extra=_attribute_map,
    )
    price_minor: Minor
    stock: int = Field(ge=0, le=1_000_000_000)
    code: Annotated[str, StringConstraints(max_length=64, pattern=LINE)] = ""


class ProductIn(In):
    title: Annotated[str, line(120)]
    category: Annotated[str, line(64)]
    currency: Currency = "CNY"
    description: Annotated[str, para(5000)] = ""
    images: list[Url] = Field(default_factory=list, max_length=9)
    skus: list[SkuIn] = Field(min_length=1, max_length=100)


class ProductPatch(In):
    title: Annotated[str, line(120)] | None = None
    category: Annotated[str, line(64)] | None = None
    description: Annotated[str, para(5000)] | None = None
    images: list[Url] | None = Field(None, max_length=9)


class ProductStatusIn(In):
    status: ProductStatus


class SkuPatch(In):
    price_minor: Minor | None = None
    stock: int | None = Field(None, ge=0, le=1_000_000_000)
    code: Annotated[str, StringConstraints(max_length=64, pattern=LINE)] | None = None


class SkuOut(Out):
    id: int
    product_id: int
    code: str
    attributes: dict[str, str]
    price_minor: int
    stock: int


class ProductOut(Out):
    id: int
    shop_id: int
    title: str
    category: str
    description: str
    images: list[str]
    currency: str
    status: ProductStatus
    skus: list[SkuOut]
    created_at: datetime
    updated_at: datetime


class ProductPage(Out):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class ProductsQuery(PageQuery):
    include_archived: bool = False
