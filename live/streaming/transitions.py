"""Stream state transition table."""

from commerce.core.transitions import StateMachine
from live.streaming.models import StreamState as S

STREAM = StateMachine[S](
    "stream",
    {
        S.IDLE: frozenset({S.PUBLISHING, S.ENDED}),
        S.PUBLISHING: frozenset({S.INTERRUPTED, S.ENDED}),
        S.INTERRUPTED: frozenset({S.PUBLISHING, S.ENDED}),
    },
)
