"""Every WebSocket close code the room channel uses, in one place (docs/PROTOCOL.md, *Close codes*).

| code | name | meaning | client should |
| --- | --- | --- | --- |
| 1009 | ``CLOSE_TOO_BIG`` | a message larger than ``WS_MAX_MESSAGE_BYTES`` | not resend it |
| 1012 | ``CLOSE_SERVICE_RESTART`` | the server is restarting | reconnect (to any process) with ``since`` |
| 1013 | ``CLOSE_TRY_AGAIN`` | overloaded, or the database/broker did not answer | retry after a short delay |
| 4000 | ``CLOSE_ROOM_ENDED`` | the room ended (after the final ``room.state`` event) | stop |
| 4001 | ``CLOSE_UNAUTHENTICATED`` | invalid or expired token at connect | get a new token |
| 4004 | ``CLOSE_NOT_FOUND`` | no such room | stop |
| 4008 | ``CLOSE_SLOW_CONSUMER`` | too slow to keep up with the room's state | reconnect with ``since`` |
| 4009 | ``CLOSE_RESYNC`` | the server missed state events it could not recover | reconnect (a snapshot) |
| 4029 | ``CLOSE_FLOOD`` | flooding: too many refused or excessive messages | slow down, reconnect later |

4000-4004 and 4029 are terminal for this room and token; 1012, 1013, 4008 and 4009 ask the client to
come back with ``since``. A handshake from a web page whose ``Origin`` is not allowed is refused before
the upgrade with HTTP 403 (``live.origins``), so it has no close code.
"""

from __future__ import annotations

CLOSE_TOO_BIG = 1009
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013
CLOSE_ROOM_ENDED = 4000
CLOSE_UNAUTHENTICATED = 4001
CLOSE_NOT_FOUND = 4004
CLOSE_SLOW_CONSUMER = 4008
CLOSE_RESYNC = 4009
CLOSE_FLOOD = 4029
