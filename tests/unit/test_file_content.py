"""What a file is by its bytes (never its name or declared type) and whether it may be kept: each
accepted kind, each refusal, and the picture check of room covers that reads the same module."""

from __future__ import annotations

import pytest

from commerce.core.errors import FileRefused
from commerce.files import FileLimits, check, describe, keep, sniff
from commerce.files.memory import MemoryFileStore
from live.uploads import sniff_image

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100)
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(100)
GIF = b"GIF89a\x01\x00\x01\x00" + bytes(100)
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(100)
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(100)
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(100)
MKV = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska" + bytes(100)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj" + bytes(100)
TEXT = "聊天记录: 卖家说今天发货\nchat log line 2\n".encode()

ACCEPTED = [
    (PNG, "image", "image/png"),
    (JPEG, "image", "image/jpeg"),
    (WEBP, "image", "image/webp"),
    (GIF, "image", "image/gif"),
    (MP4, "video", "video/mp4"),
    (MOV, "video", "video/quicktime"),
    (WEBM, "video", "video/webm"),
    (MKV, "video", "video/x-matroska"),
    (PDF, "document", "application/pdf"),
    (TEXT, "document", "text/plain; charset=utf-8"),
]


@pytest.mark.parametrize(("data", "kind", "content_type"), ACCEPTED)
def test_each_accepted_kind_is_known_by_its_bytes(data: bytes, kind: str, content_type: str) -> None:
    found = check(data, FileLimits())
    assert (found.kind, found.content_type) == (kind, content_type)
    assert sniff(data) == found


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (b"", "empty"),
        (b"PK\x03\x04" + bytes(60), "application/zip"),
        (b"MZ\x90\x00" + bytes(60), "application/x-msdownload"),
        (b"\x7fELF\x02\x01\x01" + bytes(60), "application/x-executable"),
        (b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(60), "video/x-msvideo"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(60), "audio/wav"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(60), "image/heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + bytes(60), "image/avif"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + bytes(60), "audio/mp4"),
        (b"ID3\x04\x00" + bytes(60), "audio/mpeg"),
        (b"text with a NUL\x00 inside", "application/octet-stream"),
        ("caf\xe9 in Latin-1".encode("latin-1"), "text/plain (not UTF-8)"),
        (bytes(range(256)), "application/octet-stream"),
    ],
)
def test_anything_else_is_refused_naming_what_its_bytes_are(data: bytes, detected: str) -> None:
    assert sniff(data) is None
    assert describe(data) == detected
    with pytest.raises(FileRefused) as refused:
        check(data, FileLimits())
    exc = refused.value
    assert exc.code == exc.reason == "unsupported_type"
    assert exc.details["detected"] == detected
    assert "application/pdf" in exc.details["accepted"]


def test_a_renamed_file_is_judged_by_its_bytes() -> None:
    # an executable called "unboxing.mp4", uploaded as video/mp4: neither the name nor the type counts
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)
    with pytest.raises(FileRefused) as refused:
        check(exe, FileLimits())
    assert refused.value.details["detected"] == "application/x-msdownload"
    # and a PDF called "photo.png" is a document, not an image
    assert check(PDF, FileLimits()).content_type == "application/pdf"
    assert sniff_image(PDF) is None


def test_each_kind_has_its_own_size_limit() -> None:
    limits = FileLimits(image=200, video=300, document=400)
    for data, kind, limit in ((PNG, "image", 200), (MP4, "video", 300), (PDF, "document", 400)):
        assert check(data + bytes(limit - len(data)), limits).kind == kind  # exactly at the limit
        with pytest.raises(FileRefused) as refused:
            check(data + bytes(limit - len(data) + 1), limits)
        exc = refused.value
        assert exc.code == "too_large"
        assert exc.details["limit"] == limit and exc.details["kind"] == kind
        assert exc.details["size"] == limit + 1
    assert limits.largest == 400


def test_the_default_limits() -> None:
    mib = 1024 * 1024
    assert FileLimits() == FileLimits(image=10 * mib, video=100 * mib, document=20 * mib)


def test_room_covers_still_take_png_jpeg_and_webp_only() -> None:
    assert [sniff_image(d) for d in (PNG, JPEG, WEBP)] == ["png", "jpg", "webp"]
    for other in (GIF, MP4, PDF, TEXT, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b""):
        assert sniff_image(other) is None


async def test_keep_stores_a_file_under_the_type_its_bytes_showed() -> None:
    store = MemoryFileStore()
    kept = await keep(store, WEBM, FileLimits())
    assert (kept.kind, kept.content_type, kept.size) == ("video", "video/webm", len(WEBM))
    got = await store.get(kept.key)
    assert got is not None and got.content_type == "video/webm" and got.data == WEBM
    with pytest.raises(FileRefused):
        await keep(store, b"MZ" + bytes(10), FileLimits())


def test_the_file_settings_and_the_link_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from live.settings import DEV_FILE_LINK_SECRET, Settings

    for name in ("JWT_SECRET", "FILE_LINK_SECRET", "FILE_STORE_URL", "FILE_LINK_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    plain = Settings()
    assert plain.file_store_url == "file:./var/files"
    assert plain.file_limits == FileLimits()
    assert plain.file_link_ttl_seconds == 900
    assert plain.file_links_secret == DEV_FILE_LINK_SECRET
    with_jwt = Settings(jwt_secret="x" * 40)
    derived = with_jwt.file_links_secret
    assert derived not in (DEV_FILE_LINK_SECRET, "x" * 40) and len(derived) == 64
    assert Settings(jwt_secret="x" * 40, file_link_secret="own").file_links_secret == "own"
    with pytest.raises(ValueError, match="file_store_url"):
        Settings(file_store_url="s3://bucket/evidence")
    small = Settings(file_max_image_bytes=2048, file_max_video_bytes=4096, file_max_document_bytes=3072)
    assert small.file_limits == FileLimits(image=2048, video=4096, document=3072)


def test_the_edge_answers_too_large_with_413_and_a_wrong_type_with_422() -> None:
    from live.api.errors import status_for

    for data, limits, status in ((PNG, FileLimits(image=10), 413), (b"MZ\x90\x00", FileLimits(), 422)):
        with pytest.raises(FileRefused) as refused:
            check(data, limits)
        assert status_for(refused.value) == status
