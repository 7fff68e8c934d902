"""The conditions the platform sets for selling live, shown with the application form."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Condition:
    code: str
    text: str


CONDITIONS_VERSION = "2026-11"

LIVE_CONDITIONS: tuple[Condition, ...] = (
    Condition("business_license", "The shop holds a valid business license; give its registration number."),
    Condition("contact", "A reachable contact person and phone number for the platform's reviewers."),
    Condition(
        "product_compliance", "Only goods the shop may legally sell; no counterfeit or restricted goods."
    ),
    Condition("truthful_claims", "Streamers make no false or exaggerated claims about products or prices."),
    Condition(
        "after_sales", "The shop answers after-sales requests and honours the platform's refund rules."
    ),
    Condition("stream_conduct", "Streams follow the platform's conduct rules; staff may force-end a room."),
)
