"""A small WHIP/WHEP client (RFC 9725 and its playback twin) on httpx and aiortc, for tests and tools.

``publish`` sends a track to a WHIP endpoint; ``play`` receives from a WHEP endpoint. Each POSTs the SDP offer
(``Content-Type: application/sdp``, ``Authorization: Bearer``), takes the ``201 Created`` answer and its
``Location``, and returns a handle whose ``close()`` DELETEs that session and closes the peer connection.
Any other answer is a :class:`WhipError` with its status and body. ``transport`` lets a test talk to an
in-process ASGI app (``httpx.ASGITransport``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin

import httpx
from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from av import VideoFrame

SDP = "application/sdp"


class WhipError(Exception):
    """The endpoint did not answer ``201 Created`` with an SDP answer and a ``Location``."""

    def __init__(self, status: int, body: Any, message: str) -> None:
        super().__init__(f"{message}: {status} {json.dumps(body) if not isinstance(body, str) else body}")
        self.status = status
        self.body = body  # the JSON body when there is one, else the text


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


class _Handle:
    def __init__(
        self, pc: RTCPeerConnection, client: httpx.AsyncClient, location: str, token: str | None
    ) -> None:
        self.pc = pc
        self.location = location  # the session's URL, absolute
        self._client = client
        self._token = token
        self._closed = False

    @property
    def connection_state(self) -> str:
        return self.pc.connectionState

    async def wait_connected(self) -> None:
        """Wait until the peer connection is connected (WhipError if it fails or closes first). It waits
        for as long as it takes: callers bound it with ``asyncio.timeout``."""
        while self.pc.connectionState != "connected":
            if self.pc.connectionState in ("failed", "closed"):
                raise WhipError(0, self.pc.connectionState, "the peer connection did not connect")
            await _state_change(self.pc)

    async def wait_closed(self) -> None:
        """Wait until the peer connection is closed or failed (the server ended the session). Callers
        bound it with ``asyncio.timeout``."""
        while self.pc.connectionState not in ("failed", "closed"):
            await _state_change(self.pc)

    async def close(self) -> None:
        """DELETE the session (a 404, the server having ended it already, is fine) and close the peer
        connection. WhipError for another non-2xx answer, after everything is closed."""
        if self._closed:
            return
        self._closed = True
        try:
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            response = await self._client.delete(self.location, headers=headers)
        finally:
            await self.pc.close()
            await self._client.aclose()
        if response.is_error and response.status_code != 404:
            raise WhipError(response.status_code, _body(response), f"DELETE {self.location} was refused")


async def _state_change(pc: RTCPeerConnection) -> None:
    changed = asyncio.Event()
    pc.once("connectionstatechange", changed.set)
    await changed.wait()


class WhipSession(_Handle):
    """A publishing session: ``pc`` sends the track given to :func:`publish`."""


class WhepSession(_Handle):
    """A playing session: ``track`` is the received video track, available once the answer is taken."""

    def __init__(
        self,
        pc: RTCPeerConnection,
        client: httpx.AsyncClient,
        location: str,
        token: str | None,
        track: MediaStreamTrack,
    ) -> None:
        super().__init__(pc, client, location, token)
        self.track = track

    async def frames(self, count: int) -> list[VideoFrame]:
        """The next ``count`` decoded video frames (aiortc's MediaStreamError if the track ends first).
        Callers bound it with ``asyncio.timeout``."""
        frames: list[VideoFrame] = []
        while len(frames) < count:
            frame = await self.track.recv()
            if isinstance(frame, VideoFrame):
                frames.append(frame)
        return frames


async def _exchange(
    pc: RTCPeerConnection, url: str, token: str | None, client: httpx.AsyncClient, what: str
) -> str:
    """POST the local offer and apply the answer; returns the session URL."""
    await pc.setLocalDescription(await pc.createOffer())  # gathers the ICE candidates
    headers = {"Content-Type": SDP}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post(url, content=pc.localDescription.sdp.encode(), headers=headers)
    if response.status_code != 201:
        raise WhipError(response.status_code, _body(response), f"{what} {url} was refused")
    location = response.headers.get("location")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not location or content_type != SDP:
        raise WhipError(
            response.status_code,
            {"content_type": content_type, "location": location},
            f"{what} {url} answered 201 without an SDP answer and a Location",
        )
    await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
    return urljoin(url, str(location))


def _peer(ice_servers: Sequence[RTCIceServer]) -> RTCPeerConnection:
    # no ICE servers unless given: aiortc's default is a public STUN server
    return RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))


async def publish(
    url: str,
    token: str | None,
    track: MediaStreamTrack,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    ice_servers: Sequence[RTCIceServer] = (),
    http_timeout: float = 10.0,
) -> WhipSession:
    """Publish ``track`` (send-only) to the WHIP endpoint ``url`` with bearer ``token``."""
    pc = _peer(ice_servers)
    client = httpx.AsyncClient(transport=transport, timeout=http_timeout)
    try:
        pc.addTransceiver(track, direction="sendonly")
        location = await _exchange(pc, url, token, client, "WHIP publish to")
    except BaseException:
        await pc.close()
        await client.aclose()
        raise
    return WhipSession(pc, client, location, token)


async def play(
    url: str,
    token: str | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    ice_servers: Sequence[RTCIceServer] = (),
    http_timeout: float = 10.0,
) -> WhepSession:
    """Play the WHEP endpoint ``url`` with bearer ``token``: one receive-only video transceiver."""
    pc = _peer(ice_servers)
    client = httpx.AsyncClient(transport=transport, timeout=http_timeout)
    received: list[MediaStreamTrack] = []
    pc.on("track", received.append)
    try:
        pc.addTransceiver("video", direction="recvonly")
        location = await _exchange(pc, url, token, client, "WHEP play of")
        if not received:
            raise WhipError(201, "", f"WHEP play of {url}: the answer sends no video")
    except BaseException:
        await pc.close()
        await client.aclose()
        raise
    return WhepSession(pc, client, location, token, received[0])
