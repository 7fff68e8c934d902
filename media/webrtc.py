"""The in-process WebRTC provider: WHIP ingest, WHEP playback, and a relay between them (aiortc).

This is the one provider that carries video through this server. A publisher POSTs an SDP offer to
``/media/whip/{stream}`` (RFC 9725) with ``Authorization: Bearer {push key}``; :meth:`WebRTCProvider.publish`
checks the key, answers, and from then on receives the publisher's tracks. A viewer POSTs a receive-only offer
to ``/media/whep/{stream}`` with a play token; :meth:`WebRTCProvider.play` answers with the publisher's tracks
fanned out through :class:`aiortc.contrib.media.MediaRelay`. The HTTP routes live elsewhere and call
:meth:`~WebRTCProvider.publish`, :meth:`~WebRTCProvider.play` and :meth:`~WebRTCProvider.end`; this module
knows no HTTP.

Keys: push keys and play tokens are both :class:`StreamKeys` signatures, the push key over ``{stream}`` and
the play token over ``play:{stream}``. Stream names cannot contain ``:``, so neither can stand in for the
other.

Events: the provider reports through the event sink it was built with (it gets no callbacks): ``STARTED``
(name ``publish``) when a publisher's offer is accepted, before its answer is returned (if the sink raises,
the publisher is refused and torn down, and no STOPPED follows); ``STOPPED`` (name ``unpublish``) exactly
once after each STARTED, when the publisher ends: DELETE (:meth:`end`), :meth:`force_stop`, its connection
failing or closing, no connection within ``connect_timeout``, or :meth:`close`. Ending a publisher ends its
viewers. Event ids and payloads carry a session's ``tag`` (a hash of its id), never the id itself, which is
the capability that ends the session.

Costs: aiortc decodes what it receives and encodes once per viewer, so each viewer costs an encoder; the
relay hands each viewer the newest frame (``buffered=False``), so a slow viewer drops frames instead of
queueing them. ``max_viewers`` bounds a stream's viewers.

ICE: ``ice_servers`` (none by default: aiortc's own default is a public STUN server, which an offline or
private deployment cannot reach) go to every peer connection. Host candidates are whatever aioice finds on
the machine's interfaces, which never includes 127.0.0.1; loopback-only setups (tests) have to add it
themselves (see tests/integration/test_webrtc.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aiortc import (
    InvalidAccessError,
    InvalidStateError,
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription

from commerce.core.errors import Conflict, InvalidInput, NotFound
from media.keys import StreamKeys
from media.provider import (
    STREAM_NAME_PATTERN,
    CallbackRequest,
    EventSink,
    InvalidCallback,
    MediaError,
    PullUrls,
    PushCredentials,
    Replay,
    StreamEvent,
    StreamEventKind,
    StreamKeyRefused,
)

log = logging.getLogger(__name__)

# a stream name may become part of a URL path; no ":" keeps push keys and play tokens apart
_STREAM_NAME = re.compile(STREAM_NAME_PATTERN)
_MEDIA_KINDS = frozenset({"audio", "video"})
# what aiortc raises for an offer it cannot take (its parser asserts on some malformed lines)
_BAD_SDP = (ValueError, AssertionError, IndexError, KeyError, TypeError, InvalidAccessError)


class Role(StrEnum):
    PUBLISHER = "publisher"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Session:
    """One accepted WHIP or WHEP session. ``id`` is unguessable and is what ends it (the HTTP layer puts it
    in the ``Location`` URL); ``tag`` names it in events and logs without giving that power away."""

    id: str
    stream: str
    role: Role
    answer_sdp: str
    created_at: datetime

    @property
    def tag(self) -> str:
        return _tag(self.id)


def _tag(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


class PublisherLive(Conflict):
    """The stream has a publisher already; it has to end (DELETE) before another can publish."""

    code = "publisher_live"

    def __init__(self, stream: str) -> None:
        super().__init__(f"stream {stream} has a publisher already", details={"stream": stream})


class PublisherGone(Conflict):
    """The stream was stopped while this publisher was being set up."""

    code = "publisher_gone"

    def __init__(self, stream: str) -> None:
        super().__init__(
            f"stream {stream} was stopped while the publisher connected", details={"stream": stream}
        )


class StreamNotLive(NotFound):
    """Nobody is publishing the stream, so there is nothing to play."""

    code = "stream_not_live"

    def __init__(self, stream: str) -> None:
        super().__init__("live stream", stream)


class TooManyViewers(Conflict):
    code = "too_many_viewers"

    def __init__(self, stream: str, limit: int) -> None:
        super().__init__(
            f"stream {stream} has its {limit} viewers already", details={"stream": stream, "limit": limit}
        )


class SessionNotFound(NotFound):
    code = "session_not_found"

    def __init__(self, session_id: str) -> None:
        super().__init__("WebRTC session", _tag(session_id))


@dataclass(eq=False)
class _Peer:
    """A session and what it holds: the peer connection, the tracks it received (publisher) or the relay
    proxies it sends (viewer), a publisher's viewers and background tasks."""

    id: str
    stream: str
    role: Role
    pc: RTCPeerConnection
    created_at: datetime
    session: Session | None = None  # set once the answer is made
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    viewers: set[_Peer] = field(default_factory=set)
    publisher: _Peer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    started: bool = False  # STARTED was (being) delivered: STOPPED is owed
    ended: bool = False


def _check_stream(stream: str) -> None:
    if not _STREAM_NAME.match(stream):
        raise InvalidInput(f"not a stream name: {stream[:140]!r}", details={"stream": stream[:140]})


def _parse_offer(sdp: str, role: Role) -> RTCSessionDescription:
    """The offer, after checking it parses and has audio or video (aiortc takes text with no media section
    as an empty offer, and asserts on some malformed lines)."""
    what = "WHIP" if role is Role.PUBLISHER else "WHEP"
    try:
        parsed = SessionDescription.parse(sdp)
    except _BAD_SDP as e:
        raise InvalidInput(f"the {what} offer is not valid SDP: {e}", details={"role": role.value}) from None
    if not any(m.kind in _MEDIA_KINDS for m in parsed.media):
        raise InvalidInput(f"the {what} offer has no audio or video section", details={"role": role.value})
    return RTCSessionDescription(sdp=sdp, type="offer")


class WebRTCProvider:
    name = "webrtc"
    admits_by_answer = True  # a refused publish gets no answer, so it never connects
    has_callbacks = False  # it reports streams through its sink

    def __init__(
        self,
        *,
        public_url: str,
        keys: StreamKeys,
        sink: EventSink | None,
        clock: Callable[[], datetime],
        ice_servers: Sequence[RTCIceServer] = (),
        max_viewers: int = 100,
        setup_timeout: float = 10.0,
        connect_timeout: float = 30.0,
    ) -> None:
        """``public_url``: our server's base URL (``http://127.0.0.1:8000``); ``sink`` receives STARTED and
        STOPPED; ``ice_servers``: STUN/TURN servers for every peer connection (none by default);
        ``setup_timeout``: the most an offer may take to answer (ICE gathering included);
        ``connect_timeout``: how long an accepted session may take to connect before it is ended."""
        self.public_url = public_url.rstrip("/")
        self.keys = keys
        self.sink = sink
        self.clock = clock
        self.ice_servers = list(ice_servers)
        self.max_viewers = max_viewers
        self.setup_timeout = setup_timeout
        self.connect_timeout = connect_timeout
        self._relay = MediaRelay()
        self._peers: dict[str, _Peer] = {}
        self._publishers: dict[str, _Peer] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False

    # --- credentials and URLs

    def push_credentials(self, stream: str, now: datetime, ttl: timedelta) -> PushCredentials:
        _check_stream(stream)
        expires_at = now + ttl
        url = f"{self.public_url}/media/whip/{stream}"
        return PushCredentials(
            protocol="whip",
            url=url,
            server=url,
            stream_key="",
            expires_at=expires_at,
            bearer_token=self.keys.sign(stream, expires_at),
        )

    def pull_urls(self, stream: str) -> PullUrls:
        return PullUrls(webrtc=f"{self.public_url}/media/whep/{stream}")

    def play_token(self, stream: str, expires_at: datetime) -> str:
        """A WHEP bearer token for ``stream``, valid until ``expires_at``. It cannot publish."""
        _check_stream(stream)
        return self.keys.sign(f"play:{stream}", expires_at)

    def verify_play_token(self, stream: str, token: str | None, now: datetime) -> datetime:
        """The token's expiry, or StreamKeyRefused (``missing``, ``invalid`` or ``expired``)."""
        _check_stream(stream)
        try:
            return self.keys.verify(f"play:{stream}", token, now)
        except StreamKeyRefused as e:
            raise StreamKeyRefused(e.reason, f"play token for stream {stream}: {e.reason}") from None

    # --- what callbacks would do: this provider has none

    def parse_callback(self, request: CallbackRequest, now: datetime) -> StreamEvent:
        raise InvalidCallback("the webrtc provider takes no callbacks: it reports streams itself")

    async def prepare_replay(self, event: StreamEvent, *, want_cover: bool) -> Replay | None:
        return None  # nothing is recorded

    # --- sessions

    async def publish(self, stream: str, offer_sdp: str, bearer: str | None) -> Session:
        """Accept a WHIP offer: StreamKeyRefused for a bad key, PublisherLive if the stream has a
        publisher, InvalidInput for an offer that is not SDP with audio or video. Emits STARTED."""
        self._check_open()
        _check_stream(stream)
        self.keys.verify(stream, bearer, self.clock())
        if stream in self._publishers:
            raise PublisherLive(stream)
        offer = _parse_offer(offer_sdp, Role.PUBLISHER)
        peer = self._new_peer(stream, Role.PUBLISHER)
        self._publishers[stream] = peer  # held from here on: a second offer meanwhile is refused

        @peer.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            peer.tracks.append(track)

        try:
            await self._answer(peer, offer)
            if not peer.tracks:
                raise InvalidInput("the WHIP offer sends no audio or video", details={"stream": stream})
            for track in peer.tracks:
                # the receiver queues every decoded frame until someone reads it: read always, and drop
                # what no viewer takes
                peer.tasks.append(asyncio.create_task(self._drain(track), name=f"webrtc-drain-{stream}"))
            peer.started = True
            await self._emit(StreamEventKind.STARTED, peer, "publish", {})
        except BaseException:
            peer.started = False
            await self._end(peer, "refused")
            raise
        if peer.ended:  # force_stop or close() while the sink took STARTED
            raise PublisherGone(stream)
        assert peer.session is not None
        log.info("webrtc publisher accepted", extra={"stream": stream, "session": peer.session.tag})
        return peer.session

    async def play(self, stream: str, offer_sdp: str, bearer: str | None) -> Session:
        """Accept a WHEP offer: StreamKeyRefused for a bad play token, StreamNotLive when nobody publishes,
        TooManyViewers, InvalidInput for an offer that is not SDP or receives none of the stream's media."""
        self._check_open()
        self.verify_play_token(stream, bearer, self.clock())
        publisher = self._publishers.get(stream)
        if publisher is None or publisher.session is None or publisher.ended:
            raise StreamNotLive(stream)
        if len(publisher.viewers) >= self.max_viewers:
            raise TooManyViewers(stream, self.max_viewers)
        offer = _parse_offer(offer_sdp, Role.VIEWER)
        peer = self._new_peer(stream, Role.VIEWER)
        peer.publisher = publisher
        publisher.viewers.add(peer)
        try:
            await self._answer(peer, offer, publisher.tracks)
            if not peer.tracks:
                kinds = sorted({t.kind for t in publisher.tracks})
                raise InvalidInput(
                    f"the WHEP offer receives none of the stream's media ({', '.join(kinds)})",
                    details={"stream": stream, "kinds": kinds},
                )
        except BaseException:
            await self._end(peer, "refused")
            raise
        if peer.ended or publisher.ended:
            await self._end(peer, "publisher_gone")
            raise StreamNotLive(stream)
        assert peer.session is not None
        return peer.session

    async def end(self, session_id: str, *, stream: str | None = None) -> None:
        """End a session (the WHIP/WHEP DELETE). Ending a publisher ends its viewers and emits STOPPED.
        SessionNotFound for an unknown id, or one of another stream when ``stream`` is given."""
        peer = self._peers.get(session_id)
        if peer is None or (stream is not None and peer.stream != stream):
            raise SessionNotFound(session_id)
        await self._end(peer, "deleted")

    async def force_stop(self, stream: str) -> None:
        """Close the stream's publisher and its viewers now and emit STOPPED (idempotent: nothing to do
        when nobody publishes)."""
        peer = self._publishers.get(stream)
        if peer is not None:
            await self._end(peer, "force_stop")

    def sessions(self, stream: str) -> list[Session]:
        """The stream's answered sessions, publisher first."""
        found = [p.session for p in self._peers.values() if p.stream == stream and p.session is not None]
        return sorted(found, key=lambda s: (s.role is not Role.PUBLISHER, s.created_at))

    def connection_state(self, session_id: str) -> str | None:
        """The session's peer connection state (``new``, ``connecting``, ``connected``...); None once it
        has ended."""
        peer = self._peers.get(session_id)
        return peer.pc.connectionState if peer is not None else None

    async def close(self) -> None:
        """End every session (publishers emit STOPPED, with reason ``shutdown``) and refuse new ones."""
        self._closed = True
        for peer in list(self._publishers.values()):
            try:
                await self._end(peer, "shutdown")
            except Exception:
                log.exception("webrtc: ending %s at shutdown failed", peer.stream)
        for peer in list(self._peers.values()):  # viewers set up while their publisher ended
            await self._end(peer, "shutdown")
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # --- internals

    def _check_open(self) -> None:
        if self._closed:
            raise MediaError("the webrtc provider is shut down")

    def _new_peer(self, stream: str, role: Role) -> _Peer:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice_servers)))
        peer = _Peer(secrets.token_urlsafe(24), stream, role, pc, self.clock())
        self._peers[peer.id] = peer

        @pc.on("connectionstatechange")
        def on_state() -> None:
            state = pc.connectionState
            if state in ("failed", "closed") and not peer.ended:
                self._spawn(self._end(peer, f"connection_{state}"), f"webrtc-end-{stream}")

        return peer

    async def _answer(
        self, peer: _Peer, offer: RTCSessionDescription, relay_from: Sequence[MediaStreamTrack] = ()
    ) -> None:
        """Take the offer, attach relayed tracks (viewers), answer (gathering ICE candidates) and set
        ``peer.session``. Offers aiortc refuses are InvalidInput; a peer ended meanwhile is PublisherGone
        or StreamNotLive."""
        pc = peer.pc
        try:
            async with asyncio.timeout(self.setup_timeout):
                await pc.setRemoteDescription(offer)
                offered = {t.kind for t in pc.getTransceivers()}
                for source in relay_from:
                    if source.kind in offered:
                        proxy = self._relay.subscribe(source, buffered=False)
                        peer.tracks.append(proxy)
                        pc.addTrack(proxy)  # takes the offer's transceiver of that kind
                        offered.discard(source.kind)
                await pc.setLocalDescription(await pc.createAnswer())
        except _BAD_SDP as e:
            raise InvalidInput(
                f"the offer cannot be answered: {e}", details={"stream": peer.stream}
            ) from None
        except InvalidStateError:
            if peer.ended:
                raise self._gone(peer) from None
            raise
        except TimeoutError:
            raise MediaError(
                f"answering the offer took over {self.setup_timeout} s", details={"stream": peer.stream}
            ) from None
        if peer.ended:
            raise self._gone(peer)
        local = pc.localDescription
        peer.session = Session(peer.id, peer.stream, peer.role, local.sdp, peer.created_at)
        peer.tasks.append(asyncio.create_task(self._watch_connect(peer), name=f"webrtc-watch-{peer.stream}"))

    @staticmethod
    def _gone(peer: _Peer) -> Exception:
        return PublisherGone(peer.stream) if peer.role is Role.PUBLISHER else StreamNotLive(peer.stream)

    async def _watch_connect(self, peer: _Peer) -> None:
        await asyncio.sleep(self.connect_timeout)
        if not peer.ended and peer.pc.connectionState != "connected":
            log.info("webrtc %s of %s did not connect in time", peer.role.value, peer.stream)
            self._spawn(self._end(peer, "connect_timeout"), f"webrtc-end-{peer.stream}")

    async def _drain(self, track: MediaStreamTrack) -> None:
        sink = self._relay.subscribe(track, buffered=False)
        try:
            while True:
                await sink.recv()
        except MediaStreamError:
            pass
        finally:
            sink.stop()

    async def _end(self, peer: _Peer, reason: str) -> None:
        """Tear a session down once (later calls return at once); a publisher's viewers first, then STOPPED
        if STARTED went out. Sink errors propagate to the caller, after the teardown is complete."""
        if peer.ended:
            return
        peer.ended = True
        self._peers.pop(peer.id, None)
        if self._publishers.get(peer.stream) is peer:
            del self._publishers[peer.stream]
        if peer.publisher is not None:
            peer.publisher.viewers.discard(peer)
        for viewer in list(peer.viewers):
            await self._end(viewer, "publisher_gone")
        current = asyncio.current_task()
        for task in peer.tasks:
            if task is not current:
                task.cancel()
        if peer.role is Role.VIEWER:
            for track in peer.tracks:
                track.stop()  # the relay proxies: unregister them from the relay
        await peer.pc.close()
        for task in peer.tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if peer.session is not None:
            log.info("webrtc %s ended", peer.role.value, extra={"stream": peer.stream, "reason": reason})
        if peer.role is Role.PUBLISHER and peer.started:
            await self._emit(StreamEventKind.STOPPED, peer, "unpublish", {"reason": reason})

    async def _emit(self, kind: StreamEventKind, peer: _Peer, name: str, extra: dict[str, Any]) -> None:
        if self.sink is None:
            return
        tag = _tag(peer.id)
        event = StreamEvent(
            kind=kind,
            stream=peer.stream,
            at=self.clock(),
            name=name,
            event_id=f"webrtc-{tag}-{name}",
            payload={"session": tag, "protocol": "whip", **extra},
        )
        await self.sink(event)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(self._logged(coro), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _logged(coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except Exception:
            log.exception("webrtc: ending a session failed")
