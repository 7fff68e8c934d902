"""The same contract tests run against every file store: in-process memory and a local directory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commerce.files import FileStore, create_file_store
from commerce.files.base import CHUNK
from commerce.files.local import LocalFileStore
from commerce.files.memory import MemoryFileStore

STORES = ["memory", "local"]
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    url = "memory://" if request.param == "memory" else f"file://{tmp_path / 'files'}"
    yield create_file_store(url)


async def test_a_file_comes_back_whole_with_its_content_type(store: FileStore) -> None:
    key = await store.put(PDF, "application/pdf")
    got = await store.get(key)
    assert got is not None
    assert (got.key, got.content_type, got.data, got.size) == (key, "application/pdf", PDF, len(PDF))
    assert await store.exists(key)


async def test_every_file_gets_its_own_key_even_for_the_same_bytes(store: FileStore) -> None:
    keys = await asyncio.gather(*(store.put(b"same", "text/plain; charset=utf-8") for _ in range(20)))
    assert len(set(keys)) == 20
    assert await store.delete(keys[0])
    assert not await store.exists(keys[0])
    got = await store.get(keys[1])  # deleting one copy leaves the others
    assert got is not None and got.data == b"same" and got.content_type == "text/plain; charset=utf-8"


async def test_empty_and_binary_files_keep_every_byte(store: FileStore) -> None:
    for data in (b"", b"\n", b"\x00\n\x00\r\n", bytes(range(256))):
        got = await store.get(await store.put(data, "application/octet-stream"))
        assert got is not None and got.data == data


async def test_a_file_reads_back_in_chunks(store: FileStore) -> None:
    big = bytes(range(256)) * 1000  # several chunks, the last one short
    for data, ctype in ((big, "video/mp4"), (b"", "text/plain"), (PDF, "application/pdf")):
        key = await store.put(data, ctype)
        reader = await store.open(key)
        assert reader is not None
        assert (reader.key, reader.content_type, reader.size) == (key, ctype, len(data))
        chunks = [chunk async for chunk in reader.chunks()]
        assert b"".join(chunks) == data
        assert all(0 < len(chunk) <= CHUNK for chunk in chunks)
    assert await store.open("../" + key) is None
    assert await store.open("0" * 32) is None


async def test_delete_says_whether_there_was_a_file(store: FileStore) -> None:
    key = await store.put(b"x", "text/plain")
    assert await store.delete(key)
    assert not await store.delete(key)
    assert await store.get(key) is None
    assert not await store.exists(key)


async def test_a_key_it_did_not_make_is_never_there(store: FileStore) -> None:
    await store.put(b"x", "text/plain")
    for key in ("", "0" * 32, "../etc/passwd", "/etc/passwd", "..", "A" * 32, "0" * 31 + "/", "0" * 33):
        assert await store.get(key) is None, key
        assert not await store.exists(key), key
        assert not await store.delete(key), key


async def test_a_content_type_must_be_one(store: FileStore) -> None:
    for bad in ("", "pdf", "text/plain\nX-Evil: 1", "a/b\r", "x" * 300 + "/y"):
        with pytest.raises(ValueError):
            await store.put(b"x", bad)


# what only the local directory promises


async def test_the_directory_keeps_files_across_instances_and_writes_nothing_half(tmp_path: Path) -> None:
    first = create_file_store(f"file://{tmp_path}/files")
    key = await first.put(PDF, "application/pdf")
    again = LocalFileStore(tmp_path / "files")
    got = await again.get(key)
    assert got is not None and got.data == PDF
    leftovers = [p for p in (tmp_path / "files").rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []
    assert all(
        p.resolve().is_relative_to((tmp_path / "files").resolve()) for p in (tmp_path / "files").rglob("*")
    )


async def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalFileStore(tmp_path / "files")

    def broken_replace(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("commerce.files.local.os.replace", broken_replace)
    with pytest.raises(OSError):
        await store.put(b"abc", "text/plain")
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []


# choosing by URL


def test_the_url_chooses_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(create_file_store("memory://"), MemoryFileStore)
    absolute = create_file_store(f"file://{tmp_path}/a")
    assert isinstance(absolute, LocalFileStore) and absolute.directory == tmp_path / "a"
    monkeypatch.chdir(tmp_path)
    relative = create_file_store("file:./var/files")
    assert isinstance(relative, LocalFileStore) and relative.directory == Path("./var/files")
    escaped = create_file_store("file:///srv/x%20y")
    assert isinstance(escaped, LocalFileStore) and escaped.directory == Path("/srv/x y")


@pytest.mark.parametrize(
    "url", ["s3://bucket/evidence", "ftp://h/x", "/var/files", "file://otherhost/x", "file:"]
)
def test_an_unknown_or_unusable_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        create_file_store(url)
    assert "file" in str(refused.value)
