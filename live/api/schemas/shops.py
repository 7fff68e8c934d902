"""Shops: applying (the conditions), staff decisions, shops and their members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from commerce.shops.models import LiveStatus
from live.api.schemas.common import LINE, In, Out, PageQuery, UserId, line, para


class ConditionOut(Out):
    code: str
    text: str


class ConditionsOut(Out):
    version: str
    conditions: list[ConditionOut]
    form_fields: list[str]


class ShopApplication(In):
    name: Annotated[str, line(80, 2)]
    description: Annotated[str, para(2000)] = ""
    category: Annotated[str, line(64)]
    contact_name: Annotated[str, line(64)]
    contact_phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,19}$")]
    business_license_no: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{5,64}$")]
    accepted_conditions_version: Annotated[str, StringConstraints(max_length=16, pattern=LINE)]


class ShopDecision(In):
    """Rejecting and revoking need a reason (the document says so: anyOf)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"decision": {"enum": ["approve", "restore"]}}},
                {
                    "properties": {"decision": {"enum": ["reject", "revoke"]}, "reason": {"type": "string"}},
                    "required": ["reason"],
                },
            ]
        }
    )

    decision: Literal["approve", "reject", "revoke", "restore"]
    reason: Annotated[str, line(500)] | None = None


class ShopOut(Out):
    id: int
    name: str
    description: str
    category: str
    owner_id: str
    live_status: LiveStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    contact_name: str | None = Field(None, description="members and staff only")
    contact_phone: str | None = Field(None, description="members and staff only")
    business_license_no: str | None = Field(None, description="members and staff only")
    allowed_decisions: list[str] = Field(default_factory=list, description="staff decisions open now")


class ShopPage(Out):
    items: list[ShopOut]
    total: int
    limit: int
    offset: int


class ShopsQuery(PageQuery):
    status: LiveStatus | None = None


class MemberIn(In):
    user_id: UserId
    role: Literal["operator", "streamer"]


class MemberOut(Out):
    shop_id: int
    user_id: str
    role: str
    added_by: str
    added_at: datetime


class MemberList(Out):
    items: list[MemberOut]
