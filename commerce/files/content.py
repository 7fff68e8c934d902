"""What a file is, judged by its bytes alone (never its name or the type it was declared with), and
whether it may be kept: the one place that reads magic bytes.

Accepted: images (PNG, JPEG, WebP, GIF), videos (MP4 and QuickTime by their ``ftyp`` box, WebM and
Matroska by their EBML header), documents (PDF; plain UTF-8 text without NUL bytes). Each kind has
its own size limit (``FileLimits``). ``check`` refuses anything else with ``unsupported_type``, naming
what the bytes look like, and a file over its kind's limit with ``too_large``, naming the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from commerce.core.errors import FileRefused

Kind = Literal["image", "video", "document"]
MiB = 1024 * 1024

# ftyp brands that are not video: still images (HEIF, AVIF) and audio
_NOT_VIDEO_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
}
# recognised only to name them in a refusal
_REFUSED = (
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-msdownload"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "application/ogg"),
    (b"fLaC", "audio/flac"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"Rar!", "application/x-rar-compressed"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
)
_RIFF = {b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}


@dataclass(frozen=True)
class Detected:
    kind: Kind
    content_type: str


@dataclass(frozen=True)
class FileLimits:
    """The largest file of each kind, in bytes."""

    image: int = 10 * MiB
    video: int = 100 * MiB
    document: int = 20 * MiB

    def of(self, kind: Kind) -> int:
        return {"image": self.image, "video": self.video, "document": self.document}[kind]

    @property
    def largest(self) -> int:
        """What an edge may read before it knows the kind."""
        return max(self.image, self.video, self.document)


ACCEPTED = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-matroska",
    "application/pdf",
    "text/plain; charset=utf-8",
)


def sniff(data: bytes) -> Detected | None:
    """The accepted kind and type of ``data`` by its bytes; None for anything not accepted."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Detected("image", "image/png")
    if head.startswith(b"\xff\xd8\xff"):
        return Detected("image", "image/jpeg")
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Detected("image", "image/webp")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Detected("image", "image/gif")
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _NOT_VIDEO_BRANDS:
            return None
        return Detected("video", "video/quicktime" if brand == b"qt  " else "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # the EBML header's DocType names the flavour; WebM is Matroska with fewer codecs
        return Detected("video", "video/webm" if b"webm" in head else "video/x-matroska")
    if head.startswith(b"%PDF-"):
        return Detected("document", "application/pdf")
    if data and b"\x00" not in data and _utf8(data):
        return Detected("document", "text/plain; charset=utf-8")
    return None


def describe(data: bytes) -> str:
    """What ``data`` looks like, for a refusal: its type when recognised, else
    ``application/octet-stream``."""
    found = sniff(data)
    if found is not None:
        return found.content_type
    if not data:
        return "empty"
    head = data[:64]
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _NOT_VIDEO_BRANDS.get(head[8:12], "video/mp4")
    if len(head) >= 12 and head[:4] == b"RIFF":
        return _RIFF.get(head[8:12], "application/octet-stream")
    for magic, content_type in _REFUSED:
        if head.startswith(magic):
            return content_type
    if b"\x00" not in data and _control_free(data[:4096]):
        return "text/plain (not UTF-8)"
    return "application/octet-stream"


def check(data: bytes, limits: FileLimits) -> Detected:
    """The file's kind and type if it may be kept; else FileRefused (``unsupported_type`` or
    ``too_large``)."""
    found = sniff(data)
    if found is None:
        detected = describe(data)
        raise FileRefused(
            "unsupported_type",
            f"the file's bytes are {detected}, which is not accepted (judged by its content, not its name)",
            details={"detected": detected, "accepted": list(ACCEPTED)},
        )
    limit = limits.of(found.kind)
    if len(data) > limit:
        raise FileRefused(
            "too_large",
            f"a {found.kind} may have at most {limit} bytes; this one has {len(data)}",
            details={
                "kind": found.kind,
                "content_type": found.content_type,
                "limit": limit,
                "size": len(data),
            },
        )
    return found


def _control_free(data: bytes) -> bool:
    """Text in some 8-bit encoding: no control characters but tab, line breaks and form feed."""
    return not any(b < 0x09 or 0x0E <= b < 0x20 for b in data)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
