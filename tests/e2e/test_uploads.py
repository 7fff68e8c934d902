"""Picture uploads: the type read from the bytes, a size limit, who may upload, and the picture served
back at its URL under a name that is its content's hash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from commerce.core.identity import Role
from tests.support import Client, FakeClock, make_services

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(200)
STREAMER = ("s1", Role.STREAMER)


@pytest.fixture
async def uploads(db_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Client]:
    c = Client(make_services(db_url, clock, upload_dir=str(tmp_path / "up"), upload_max_bytes=4096))
    try:
        yield c
    finally:
        await c.aclose()


async def test_a_picture_is_stored_by_its_bytes_and_served_at_its_url(
    uploads: Client, tmp_path: Path
) -> None:
    c = uploads
    for data, ctype, ext in (
        (PNG, "image/png", "png"),
        (JPEG, "image/jpeg", "jpg"),
        (WEBP, "image/webp", "webp"),
    ):
        # the declared type does not matter: the bytes do
        r = await c.call(
            "POST", "/uploads/images", STREAMER, content=data, headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 201, r.text
        got = r.json()
        assert got["content_type"] == ctype and got["size"] == len(data) and got["name"].endswith("." + ext)
        path = httpx.URL(got["url"]).path
        assert path == f"/uploads/images/{got['name']}"
        served = await c.http.get(path)
        assert served.status_code == 200 and served.content == data
        assert served.headers["content-type"] == ctype
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in served.headers["cache-control"]
    assert len(list((tmp_path / "up").iterdir())) == 3
    again = await c.call("POST", "/uploads/images", ("op", Role.SHOP_OPERATOR), content=PNG)
    assert again.status_code == 201
    assert len(list((tmp_path / "up").iterdir())) == 3  # the same picture is one file


async def test_what_is_not_a_picture_too_large_or_not_allowed_is_refused(
    uploads: Client, tmp_path: Path
) -> None:
    c = uploads
    for data in (
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"GIF89a" + bytes(50),
        b"",
        b"RIFF\x00\x00\x00\x00AVI ",
    ):
        r = await c.call(
            "POST", "/uploads/images", STREAMER, content=data, headers={"Content-Type": "image/png"}
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_input"
        assert r.json()["error"]["details"]["accepted"] == ["image/jpeg", "image/png", "image/webp"]
    big = await c.call("POST", "/uploads/images", STREAMER, content=PNG + bytes(4096))
    assert big.status_code == 413 and big.json()["error"]["details"]["limit"] == 4096

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(30):
            yield PNG

    streamed = await c.call("POST", "/uploads/images", STREAMER, content=chunks())
    assert streamed.status_code == 413
    assert (await c.call("POST", "/uploads/images", ("v", Role.VIEWER), content=PNG)).status_code == 403
    assert (await c.call("POST", "/uploads/images", content=PNG)).status_code == 401
    assert not (tmp_path / "up").exists() or not list((tmp_path / "up").iterdir())  # nothing kept
    for name in ("nothing.png", "../../etc/passwd", "a" * 40 + ".png", "0" * 40 + ".svg"):
        r = await c.http.get(f"/uploads/images/{name}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", name


async def test_the_upload_is_documented(uploads: Client) -> None:
    doc = (await uploads.call("GET", "/openapi.json")).json()
    post = doc["paths"]["/uploads/images"]["post"]
    assert sorted(post["requestBody"]["content"]) == ["image/jpeg", "image/png", "image/webp"]
    assert post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/ImageOut")
    assert "get" in doc["paths"]["/uploads/images/{name}"]
