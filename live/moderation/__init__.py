"""Danmaku moderation: the sensitive-word list, the review queue, and mutes per room."""
