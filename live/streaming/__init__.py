"""Streams of rooms: push credentials, provider callbacks, going live by stream, the grace period,
cutting a stream off, replays, and each stream's history."""
