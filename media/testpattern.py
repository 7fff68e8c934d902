"""A synthetic video source for WebRTC test streams: colour bars, a bar sweeping across them, and a clock.

The clock (``HH:MM:SS`` of the injected clock, UTC by default) is drawn with hand-made seven-segment digits,
so a viewer can see at a glance that the picture is live and how far behind it runs; no font is needed.
Drawing is plain byte-slice work on an RGB buffer (no numpy: neither aiortc nor av requires it, and a
320x240 frame takes well under a millisecond this way). :func:`render` is the pure drawing function (tests
call it with a chosen time); :class:`TestPatternTrack` paces it as an aiortc video track.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiortc import VideoStreamTrack
from aiortc.mediastreams import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE, MediaStreamError
from av import VideoFrame

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # top, bottom, left, right (bottom and right exclusive)

# SMPTE-like bars at 75 %: white, yellow, cyan, green, magenta, red, blue
_BARS: tuple[RGB, ...] = (
    (191, 191, 191),
    (191, 191, 0),
    (0, 191, 191),
    (0, 191, 0),
    (191, 0, 191),
    (191, 0, 0),
    (0, 0, 191),
)

# segments: a top, b upper right, c lower right, d bottom, e lower left, f upper left, g middle
_SEGMENTS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abged",
    "3": "abgcd",
    "4": "fgbc",
    "5": "afgcd",
    "6": "afgedc",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
}

# character cell geometry at scale 1, in pixels
_DIGIT_W = 12
_DIGIT_H = 22
_STROKE = 3
_GAP = 3  # between characters
_COLON_W = 3
_MARGIN = 4  # black border around the clock text
_WHITE: RGB = (255, 255, 255)
_BLACK: RGB = (0, 0, 0)


class Image:
    """An RGB picture: ``data`` holds ``height`` rows of ``width * 3`` bytes, top row first."""

    def __init__(self, width: int, height: int, data: bytearray) -> None:
        if len(data) != width * height * 3:
            raise ValueError(f"{len(data)} bytes is not a {width}x{height} RGB picture")
        self.width = width
        self.height = height
        self.data = data

    def fill(self, box: Box, color: RGB) -> None:
        top, bottom, left, right = _clip(box, self.width, self.height)
        if left >= right:
            return
        run = bytes(color) * (right - left)
        stride = self.width * 3
        for y in range(top, bottom):
            start = y * stride + left * 3
            self.data[start : start + len(run)] = run

    def pixel(self, x: int, y: int) -> RGB:
        i = (y * self.width + x) * 3
        r, g, b = self.data[i : i + 3]
        return r, g, b

    def crop(self, box: Box) -> bytes:
        """The bytes of ``box``, row after row."""
        top, bottom, left, right = _clip(box, self.width, self.height)
        stride = self.width * 3
        return b"".join(
            bytes(self.data[y * stride + left * 3 : y * stride + right * 3]) for y in range(top, bottom)
        )

    def to_frame(self) -> VideoFrame:
        frame = VideoFrame(self.width, self.height, "rgb24")
        plane = frame.planes[0]
        row = self.width * 3
        if plane.line_size == row:
            plane.update(bytes(self.data))
        else:  # av pads each row of the plane to its alignment
            pad = bytes(plane.line_size - row)
            plane.update(
                b"".join(bytes(self.data[y * row : (y + 1) * row]) + pad for y in range(self.height))
            )
        return frame


def _clip(box: Box, width: int, height: int) -> Box:
    top, bottom, left, right = box
    return max(0, top), min(height, bottom), max(0, left), min(width, right)


def _text_width(scale: int) -> int:
    return (6 * _DIGIT_W + 2 * _COLON_W + 7 * _GAP) * scale


def _scale_for(width: int) -> int:
    """The largest whole scale at which ``HH:MM:SS`` fills at most two thirds of the frame width."""
    return max(1, (2 * width // 3) // _text_width(1))


def clock_box(width: int, height: int) -> Box:
    """Where the clock is drawn: ``(top, bottom, left, right)``, bottom and right exclusive."""
    scale = _scale_for(width)
    w = _text_width(scale) + 2 * _MARGIN * scale
    h = (_DIGIT_H + 2 * _MARGIN) * scale
    top = max(0, height // 2 - h // 2)
    left = max(0, (width - w) // 2)
    return top, min(height, top + h), left, min(width, left + w)


def digit_boxes(width: int, height: int) -> list[Box]:
    """The six digit cells of the clock (H, H, M, M, S, S) as ``(top, bottom, left, right)``."""
    scale = _scale_for(width)
    top, _, left, _ = clock_box(width, height)
    y = top + _MARGIN * scale
    x = left + _MARGIN * scale
    boxes = []
    for i in range(8):
        if i in (2, 5):  # the colons
            x += (_COLON_W + _GAP) * scale
            continue
        boxes.append((y, y + _DIGIT_H * scale, x, x + _DIGIT_W * scale))
        x += (_DIGIT_W + _GAP) * scale
    return boxes


def _draw_digit(img: Image, char: str, top: int, left: int, scale: int) -> None:
    s, w, h = _STROKE * scale, _DIGIT_W * scale, _DIGIT_H * scale
    mid = top + (h - s) // 2
    rects: dict[str, Box] = {
        "a": (top, top + s, left, left + w),
        "b": (top, mid + s, left + w - s, left + w),
        "c": (mid, top + h, left + w - s, left + w),
        "d": (top + h - s, top + h, left, left + w),
        "e": (mid, top + h, left, left + s),
        "f": (top, mid + s, left, left + s),
        "g": (mid, mid + s, left, left + w),
    }
    for segment in _SEGMENTS[char]:
        img.fill(rects[segment], _WHITE)


def _draw_colon(img: Image, top: int, left: int, scale: int) -> None:
    s, h = _COLON_W * scale, _DIGIT_H * scale
    for y in (top + h // 3 - s // 2, top + 2 * h // 3 - s // 2):
        img.fill((y, y + s, left, left + s), _WHITE)


def draw_clock(img: Image, text: str) -> None:
    """Draw ``HH:MM:SS`` (digits and colons only) on black in the clock box of ``img``."""
    if len(text) != 8 or any(c not in _SEGMENTS and c != ":" for c in text):
        raise ValueError(f"not a HH:MM:SS clock text: {text!r}")
    scale = _scale_for(img.width)
    top, bottom, left, right = clock_box(img.width, img.height)
    img.fill((top, bottom, left, right), _BLACK)
    y = top + _MARGIN * scale
    x = left + _MARGIN * scale
    for char in text:
        if char == ":":
            _draw_colon(img, y, x, scale)
            x += (_COLON_W + _GAP) * scale
        else:
            _draw_digit(img, char, y, x, scale)
            x += (_DIGIT_W + _GAP) * scale


def _bars_row(width: int) -> bytes:
    return b"".join(bytes(_BARS[x * len(_BARS) // width]) for x in range(width))


def render(index: int, now: datetime, width: int = 320, height: int = 240) -> Image:
    """Frame number ``index`` of the pattern at wall time ``now``.

    The bars stay put; a white bar sweeps left to right, one step per frame (so consecutive frames differ
    outside the clock too); the clock shows ``now`` as ``HH:MM:SS``."""
    img = Image(width, height, bytearray(_bars_row(width) * height))
    sweep_w = max(2, width // 40)
    x = (index * sweep_w) % width
    img.fill((0, height, x, x + sweep_w), _WHITE)
    draw_clock(img, now.strftime("%H:%M:%S"))
    return img


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TestPatternTrack(VideoStreamTrack):
    """A live video track of :func:`render` frames, ``width`` x ``height`` at ``fps`` frames a second.

    ``clock`` gives the time the clock shows (UTC wall time by default). Pacing is real time: each
    :meth:`recv` waits for its frame's moment, as a camera would."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        *,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__()
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise ValueError(f"unsupported test pattern size {width}x{height} (even, at least 16x16)")
        if not 1 <= fps <= 120:
            raise ValueError(f"unsupported frame rate {fps}")
        self.width = width
        self.height = height
        self.fps = fps
        self.clock = clock
        self.frames_sent = 0

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """The next frame's presentation time (90 kHz clock), after waiting until it is due: the base
        class's pacing at ``fps`` instead of its fixed 30 frames a second."""
        if self.readyState != "live":
            raise MediaStreamError
        if hasattr(self, "_timestamp"):
            self._timestamp += VIDEO_CLOCK_RATE // self.fps
            wait = self._start + self._timestamp / VIDEO_CLOCK_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        else:
            self._start = time.time()
            self._timestamp = 0
        return self._timestamp, VIDEO_TIME_BASE

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        index = pts * self.fps // VIDEO_CLOCK_RATE
        frame = render(index, self.clock(), self.width, self.height).to_frame()
        frame.pts = pts
        frame.time_base = time_base
        self.frames_sent += 1
        return frame
