"""ffmpeg and ffprobe, run as asyncio subprocesses: probing, a synthetic test push, recordings to HLS VODs.

Every run has a timeout; a run that overstays it is killed. Failures raise :class:`MediaError` with the tail
of ffmpeg's own message.

The test push's clock: Debian's ffmpeg is built with libfreetype and fontconfig, so ``drawtext`` works
without a ``fontfile=`` argument as long as fontconfig finds a font (on Debian 12 ``fonts-dejavu-core`` comes
with ``fontconfig-config``, and ffmpeg picks DejaVu Sans). Without any font the filter fails at start-up
("Cannot find a valid font for the family Sans"). :func:`drawtext_works` tries it once per binary (a
one-frame render, ~0.1 s); when it does not work the push falls back to ``testsrc2``'s own small
``hh:mm:ss.mmm`` stream-time counter in the top-left corner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from media.provider import MediaError

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

_drawtext_cache: dict[str, bool] = {}


async def run(args: Sequence[str], *, time_limit: float) -> tuple[int, bytes, bytes]:
    """Run a program to its end: (status, stdout, stderr). Killed and MediaError after ``time_limit`` s;
    MediaError if the program is not there."""
    pipe = asyncio.subprocess.PIPE
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=pipe, stderr=pipe
        )
    except OSError as e:
        raise MediaError(f"cannot run {args[0]}: {e}") from e
    try:
        async with asyncio.timeout(time_limit):
            out, err = await proc.communicate()
    except TimeoutError:
        await _kill(proc)
        raise MediaError(f"{args[0]} did not finish within {time_limit} s") from None
    except BaseException:
        await _kill(proc)
        raise
    assert proc.returncode is not None
    return proc.returncode, out, err


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def _tail(err: bytes, limit: int = 800) -> str:
    return err.decode(errors="replace").strip()[-limit:]


async def probe(
    url_or_path: str | Path, *, ffprobe: str = FFPROBE, time_limit: float = 15.0
) -> dict[str, Any]:
    """``ffprobe -of json -show_streams -show_format``: a dict with ``streams`` and ``format``."""
    status, out, err = await run(
        [ffprobe, "-v", "error", "-of", "json", "-show_streams", "-show_format", str(url_or_path)],
        time_limit=time_limit,
    )
    if status != 0:
        raise MediaError(f"ffprobe could not read {url_or_path}: {_tail(err)}")
    try:
        info: dict[str, Any] = json.loads(out)
    except ValueError as e:
        raise MediaError(f"ffprobe gave no JSON for {url_or_path}") from e
    info.setdefault("streams", [])
    info.setdefault("format", {})
    return info


def duration_of(info: dict[str, Any]) -> float | None:
    """The format duration a probe found, in seconds (None if it gives none)."""
    try:
        value = float(info["format"]["duration"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if value > 0 else None


def has_video(info: dict[str, Any]) -> bool:
    return any(s.get("codec_type") == "video" for s in info.get("streams", []))


async def drawtext_works(ffmpeg: str = FFMPEG) -> bool:
    """Whether this ffmpeg can draw text with its default font (checked once per binary)."""
    if ffmpeg not in _drawtext_cache:
        try:
            status, _, _ = await run(
                [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=size=64x64:rate=1,drawtext=text=0",
                 "-frames:v", "1", "-f", "null", "-"],
                time_limit=15,
            )  # fmt: skip
        except MediaError:
            status = 1
        _drawtext_cache[ffmpeg] = status == 0
    return _drawtext_cache[ffmpeg]


async def synthetic_video(size: str = "320x240", fps: int = 15, *, ffmpeg: str = FFMPEG) -> str:
    """A lavfi graph for a test picture with a visible clock (wall time drawn on it, or ``testsrc2``'s own
    stream-time counter where drawtext has no font)."""
    source = f"testsrc2=size={size}:rate={fps}"
    if await drawtext_works(ffmpeg):
        # the wall clock, bottom left, so a viewer can read the end-to-end delay off the picture
        source += (
            r",drawtext=text='%{localtime\:%T}':x=8:y=h-th-8:fontsize=24"
            ":fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4"
        )
    return source


async def push_test_stream(
    url: str,
    seconds: float | None = None,
    *,
    ffmpeg: str = FFMPEG,
    size: str = "320x240",
    fps: int = 15,
    log: Path | None = None,
) -> asyncio.subprocess.Process:
    """Start pushing a synthetic stream (test picture with a clock, a sine tone; H.264 + AAC in FLV) to an
    RTMP URL in real time, for ``seconds`` or until stopped. One keyframe every 2 s (``-g`` = 2 x fps):
    HLS fragments are cut at keyframes only. ffmpeg's messages go to ``log`` (or nowhere). The caller owns
    the process: wait for it, or terminate it."""
    video = await synthetic_video(size, fps, ffmpeg=ffmpeg)
    args = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
            "-f", "lavfi", "-i", video,
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", str(2 * fps), "-c:a", "aac", "-b:a", "64k"]  # fmt: skip
    if seconds is not None:
        args += ["-t", f"{seconds:g}"]
    args += ["-f", "flv", url]
    sink = log.open("ab") if log is not None else None
    try:
        return await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=sink if sink is not None else asyncio.subprocess.DEVNULL,
        )
    except OSError as e:
        raise MediaError(f"cannot run {ffmpeg}: {e}") from e
    finally:
        if sink is not None:
            sink.close()


async def to_hls_vod(
    source: Path, out_dir: Path, *, hls_time: int = 4, ffmpeg: str = FFMPEG, time_limit: float = 300.0
) -> Path:
    """Remux a recording (no re-encoding) into an HLS VOD in ``out_dir``: ``index.m3u8`` and ``seg-NNN.ts``.
    The playlist's path."""
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    playlist = out_dir / "index.m3u8"
    status, _, err = await run(
        [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
         "-c", "copy", "-f", "hls", "-hls_time", str(hls_time), "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(out_dir / "seg-%03d.ts"), str(playlist)],
        time_limit=time_limit,
    )  # fmt: skip
    if status != 0 or not await asyncio.to_thread(playlist.is_file):
        raise MediaError(f"ffmpeg could not make an HLS VOD of {source}: {_tail(err)}")
    return playlist


async def snapshot(
    source: Path, dest: Path, *, at: float = 1.0, ffmpeg: str = FFMPEG, time_limit: float = 60.0
) -> bool:
    """Save one JPEG frame of ``source`` at ``at`` seconds, or its first frame when it is shorter than that.
    Whether a picture was written."""
    for seek in ([] if at <= 0 else ["-ss", f"{at:g}"], []):
        await asyncio.to_thread(dest.unlink, missing_ok=True)
        status, _, _ = await run(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *seek, "-i", str(source),
             "-frames:v", "1", "-q:v", "3", "-f", "image2", str(dest)],
            time_limit=time_limit,
        )  # fmt: skip
        if status == 0 and await asyncio.to_thread(_nonempty, dest):
            return True
    await asyncio.to_thread(dest.unlink, missing_ok=True)
    return False


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False
