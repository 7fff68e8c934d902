"""The synthetic test pattern: the clock shows the injected time, and the picture moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from media.testpattern import Image, TestPatternTrack, clock_box, digit_boxes, render

NOON = datetime(2026, 11, 24, 12, 34, 56, tzinfo=UTC)
W, H = 320, 240


def _outside(img: Image, box: tuple[int, int, int, int]) -> bytes:
    """Every pixel outside ``box``, row after row."""
    top, bottom, left, right = box
    above = img.crop((0, top, 0, img.width))
    below = img.crop((bottom, img.height, 0, img.width))
    sides = img.crop((top, bottom, 0, left)) + img.crop((top, bottom, right, img.width))
    return above + below + sides


def _segments_lit(img: Image, box: tuple[int, int, int, int]) -> str:
    """Read a seven-segment digit back: which of a..g are white at their centres."""
    top, bottom, left, right = box
    mid_x, mid_y = (left + right) // 2, (top + bottom) // 2
    probes = {
        "a": (mid_x, top + 2),
        "b": (right - 2, (top + mid_y) // 2),
        "c": (right - 2, (mid_y + bottom) // 2),
        "d": (mid_x, bottom - 2),
        "e": (left + 2, (mid_y + bottom) // 2),
        "f": (left + 2, (top + mid_y) // 2),
        "g": (mid_x, mid_y),
    }
    return "".join(s for s, (x, y) in probes.items() if img.pixel(x, y) == (255, 255, 255))


def _read_clock(img: Image) -> str:
    digits = {
        "abcdef": "0",
        "bc": "1",
        "abdeg": "2",
        "abcdg": "3",
        "bcfg": "4",
        "acdfg": "5",
        "acdefg": "6",
        "abc": "7",
        "abcdefg": "8",
        "abcdfg": "9",
    }
    text = "".join(digits.get(_segments_lit(img, box), "?") for box in digit_boxes(img.width, img.height))
    return f"{text[0:2]}:{text[2:4]}:{text[4:6]}"


def test_the_clock_shows_the_time_it_is_given() -> None:
    for hms in ["12:34:56", "00:00:00", "23:59:59", "07:18:09"]:
        now = datetime.strptime(hms, "%H:%M:%S").replace(tzinfo=UTC)
        assert _read_clock(render(0, now, W, H)) == hms


def test_the_clock_region_changes_with_the_second_and_nothing_else_does() -> None:
    box = clock_box(W, H)
    seconds = digit_boxes(W, H)[5]
    a = render(10, NOON, W, H)
    b = render(10, NOON + timedelta(seconds=1), W, H)
    assert a.crop(box) != b.crop(box)
    assert a.crop(seconds) != b.crop(seconds)
    assert [a.crop(d) for d in digit_boxes(W, H)[:5]] == [b.crop(d) for d in digit_boxes(W, H)[:5]]
    assert _outside(a, box) == _outside(b, box)
    # within the same second the clock is the same picture
    assert render(10, NOON + timedelta(milliseconds=900), W, H).crop(box) == a.crop(box)


def test_frames_move_over_time_outside_the_clock() -> None:
    box = clock_box(W, H)
    frames = [render(i, NOON, W, H) for i in range(3)]
    assert len({_outside(f, box) for f in frames}) == 3
    assert len({f.crop(box) for f in frames}) == 1


def test_render_fits_other_sizes() -> None:
    for width, height in [(640, 480), (160, 120), (1280, 720)]:
        img = render(3, NOON, width, height)
        assert (img.width, img.height, len(img.data)) == (width, height, width * height * 3)
        assert _read_clock(img) == "12:34:56"
        frame = img.to_frame()
        assert (frame.width, frame.height, frame.format.name) == (width, height, "rgb24")


async def test_the_track_paces_frames_and_draws_its_clock() -> None:
    times = iter([NOON, NOON + timedelta(seconds=1), NOON + timedelta(seconds=2)])
    track = TestPatternTrack(fps=30, clock=lambda: next(times))
    try:
        async with asyncio.timeout(5):
            frames = [await track.recv() for _ in range(3)]
    finally:
        track.stop()
    assert [f.pts for f in frames] == [0, 3000, 6000]  # 90 kHz clock at 30 fps
    assert {(f.width, f.height) for f in frames} == {(W, H)}
    pictures = [Image(W, H, bytearray(bytes(f.planes[0]))) for f in frames]  # rgb24 rows are not padded
    assert [_read_clock(p) for p in pictures] == ["12:34:56", "12:34:57", "12:34:58"]
    assert track.frames_sent == 3


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        TestPatternTrack(width=321)
    with pytest.raises(ValueError):
        TestPatternTrack(fps=0)
