"""Danmaku review transition table (the review queue of masked danmaku)."""

from commerce.core.transitions import StateMachine
from live.moderation.models import ReviewStatus

REVIEW = StateMachine[ReviewStatus](
    "chat_review",
    {
        ReviewStatus.PENDING: frozenset({ReviewStatus.APPROVED, ReviewStatus.REMOVED}),
        ReviewStatus.APPROVED: frozenset({ReviewStatus.REMOVED}),
    },
)
