"""Kept files over HTTP: a link issued for a user serves the file with its type; an expired link (by
the injected clock), a tampered one, one whose user was changed, and an unsigned one are refused with
403 naming the problem; a file no longer kept is a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from commerce.files import FileLimits, keep
from tests.support import Client, DatabaseTemplate, FakeClock, make_services

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(200)
PDF = b"%PDF-1.7\n" + bytes(200)
TEXT = "聊天记录\n".encode()


@pytest.fixture
async def files(sqlite_template: DatabaseTemplate, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Client]:
    db_url = sqlite_template.fresh(tmp_path)  # the route reads no database: the embedded default is enough
    c = Client(make_services(db_url, clock, file_store_url=f"file://{tmp_path / 'files'}"))
    try:
        yield c
    finally:
        await c.aclose()


async def _kept(c: Client, data: bytes) -> str:
    return (await keep(c.services.files, data, FileLimits())).key


def _link(c: Client, key: str, user: str) -> str:
    return c.services.file_links.issue(key, user, c.services.clock())


def _with(link: str, **changes: str) -> str:
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode({k: v for k, v in query.items() if v})}"


async def test_a_link_serves_the_file_with_its_type(files: Client) -> None:
    c = files
    for data, ctype, inline in (
        (PNG, "image/png", True),
        (MP4, "video/mp4", True),
        (PDF, "application/pdf", False),
        (TEXT, "text/plain; charset=utf-8", False),
    ):
        key = await _kept(c, data)
        link = _link(c, key, "buyer-1")
        assert link.startswith(f"/files/{key}?") and "uid=buyer-1" in link
        r = await c.http.get(link)  # no token: the link is the permission
        assert r.status_code == 200, r.text
        assert r.content == data
        assert r.headers["content-type"] == ctype
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "private, no-store"
        assert r.headers["content-length"] == str(len(data))
        if inline:
            assert "content-disposition" not in r.headers
        else:
            assert r.headers["content-disposition"].startswith("attachment")


async def test_a_large_video_is_served_whole(files: Client) -> None:
    c = files
    video = MP4 + bytes(range(256)) * 2000  # half a megabyte: several chunks
    r = await c.http.get(_link(c, await _kept(c, video), "buyer-1"))
    assert r.status_code == 200 and r.content == video
    assert r.headers["content-length"] == str(len(video))


async def test_an_expired_link_is_refused(files: Client, clock: FakeClock) -> None:
    c = files
    link = _link(c, await _kept(c, PNG), "buyer-1")
    clock.advance(seconds=c.services.settings.file_link_ttl_seconds - 1)
    assert (await c.http.get(link)).status_code == 200
    clock.advance(seconds=1)
    r = await c.http.get(link)
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "link_expired" and error["details"]["reason"] == "link_expired"
    assert "expired_at" in error["details"]


async def test_a_tampered_link_is_refused(files: Client) -> None:
    c = files
    key = await _kept(c, PDF)
    other = await _kept(c, PNG)
    link = _link(c, key, "buyer-1")
    sig = parse_qs(urlsplit(link).query)["sig"][0]
    exp = parse_qs(urlsplit(link).query)["exp"][0]
    for bad in (
        _with(link, sig=("0" if sig[0] != "0" else "1") + sig[1:]),  # one character of the signature
        _with(link, exp=str(int(exp) + 3600)),  # a later expiry
        _with(link, exp="soon"),
        _with(link, exp="²"),  # a digit to str.isdigit, not to int()
        _with(link, sig="not-hex"),
        _with(link, sig=sig.upper()),
        _with(link.replace(key, other)),  # the same signature on another file
    ):
        r = await c.http.get(bad)
        assert r.status_code == 403, bad
        assert r.json()["error"]["code"] == "link_invalid", bad


async def test_a_link_made_over_to_another_user_is_refused(files: Client) -> None:
    c = files
    key = await _kept(c, PNG)
    mine = _link(c, key, "buyer-1")
    r = await c.http.get(_with(mine, uid="buyer-2"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "link_invalid"
    # buyer-2's own link signs buyer-2; its signature does not carry over to buyer-1's parameters
    theirs = _link(c, key, "buyer-2")
    theirs_sig = parse_qs(urlsplit(theirs).query)["sig"][0]
    r = await c.http.get(_with(mine, sig=theirs_sig))
    assert r.status_code == 403 and r.json()["error"]["code"] == "link_invalid"
    assert (await c.http.get(theirs)).status_code == 200


async def test_an_unsigned_link_is_refused_naming_what_is_missing(files: Client) -> None:
    c = files
    key = await _kept(c, PNG)
    link = _link(c, key, "buyer-1")
    r = await c.http.get(f"/files/{key}")
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "link_missing" and error["details"]["missing"] == ["uid", "exp", "sig"]
    r = await c.http.get(_with(link, sig=""))
    assert r.status_code == 403 and r.json()["error"]["details"]["missing"] == ["sig"]
    # a bearer token does not stand in for the signature
    r = await c.call("GET", f"/files/{key}", ("buyer-1",))
    assert r.status_code == 403 and r.json()["error"]["code"] == "link_missing"


async def test_a_file_no_longer_kept_is_not_found(files: Client) -> None:
    c = files
    key = await _kept(c, PDF)
    link = _link(c, key, "buyer-1")
    assert await c.services.files.delete(key)
    r = await c.http.get(link)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # a key the store never made, with a valid signature for it: still 404, and nothing outside is read
    for odd in ("0" * 32, "..%2F..%2Fetc", "etc%2Fpasswd", "A" * 32):
        r = await c.http.get(_link(c, odd, "buyer-1"))
        assert r.status_code == 404, odd


async def test_the_file_route_is_documented(files: Client) -> None:
    doc = (await files.call("GET", "/openapi.json")).json()
    get = doc["paths"]["/files/{key}"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"key", "exp", "uid", "sig"}
    assert set(get["responses"]) == {"200", "403", "404"}
    assert "application/pdf" in get["responses"]["200"]["content"]
