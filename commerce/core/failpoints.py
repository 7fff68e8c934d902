"""Named crash points for tests that kill a server at an exact place (right after a commit, before any
reaction to it has run). Disarmed, ``reached`` does nothing; only the composition root arms one, and
only when the operator enabled test crashes explicitly (see ``TEST_CRASH_AFTER`` in the README)."""

from __future__ import annotations

from collections.abc import Callable

# the points the code passes; arming any other name is refused
LAST_UNIT_COMMITTED = "last_unit_commit"  # an order batch that took the last unit of a sale committed
ROOM_END_COMMITTED = "room_end_commit"  # a room's end (by its shop or staff) committed
KNOWN = frozenset({LAST_UNIT_COMMITTED, ROOM_END_COMMITTED})

_armed: dict[str, Callable[[], None]] = {}


def arm(name: str, action: Callable[[], None]) -> None:
    if name not in KNOWN:
        raise ValueError(f"unknown crash point {name!r}; known: {', '.join(sorted(KNOWN))}")
    _armed[name] = action


def disarm_all() -> None:
    _armed.clear()


def reached(name: str) -> None:
    """Called by the code at ``name``: runs the armed action (a test's SIGKILL), if any, right here."""
    action = _armed.get(name)
    if action is not None:
        action()
