"""Room lifecycle transition table."""

from commerce.core.transitions import StateMachine
from live.rooms.models import RoomState as S

ROOM = StateMachine[S](
    "room",
    {
        S.SCHEDULED: frozenset({S.LIVE, S.CANCELLED, S.FORCE_ENDED}),
        S.LIVE: frozenset({S.ENDED, S.FORCE_ENDED}),
    },
)

FINAL = frozenset(s for s in S if ROOM.is_final(s))
