"""The local media store: files, HMAC-signed URLs and the persisted signing secret."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from liveavatar.media import (
    InvalidMediaName,
    LocalMediaStore,
    MediaError,
    MediaNotFound,
    MediaStore,
    MediaTooLarge,
)
from liveavatar.media.local import load_or_create_secret

SECRET = b"0123456789abcdef0123456789abcdef"
CLIP = bytes(range(256)) * 16


class Clock:
    """A settable clock (Unix seconds)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> LocalMediaStore:
    return LocalMediaStore(
        tmp_path / "media", secret=SECRET, base_url="http://media.test/", clock=clock
    )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def tamper(sig: str) -> str:
    return sig[:-1] + ("1" if sig[-1] == "0" else "0")


def test_is_a_media_store(store: LocalMediaStore) -> None:
    assert isinstance(store, MediaStore)


async def test_put_list_exists_delete(store: LocalMediaStore) -> None:
    assert await store.list() == []  # a missing root is an empty store
    await store.put("idle/b.mp4", CLIP, "video/mp4")
    await store.put("idle/a.webm", b"webm", "video/webm")
    await store.put("talking/t.mp4", b"t", "video/mp4")
    assert await store.exists("idle/a.webm")
    assert not await store.exists("idle/zzz.mp4")

    idle = await store.list("idle/")
    assert [(o.name, o.size, o.content_type) for o in idle] == [
        ("idle/a.webm", 4, "video/webm"),
        ("idle/b.mp4", len(CLIP), "video/mp4"),
    ]
    assert idle[0].updated.tzinfo is not None
    assert [o.name for o in await store.list()] == ["idle/a.webm", "idle/b.mp4", "talking/t.mp4"]
    assert [o.name for o in await store.list("idle/b")] == ["idle/b.mp4"]
    assert len(await store.list(limit=2)) == 2

    await store.delete("idle/a.webm")
    await store.delete("idle/a.webm")  # idempotent
    assert not await store.exists("idle/a.webm")
    assert (store.root / "idle" / "b.mp4").read_bytes() == CLIP


async def test_listing_skips_hidden_and_unservable_files(store: LocalMediaStore) -> None:
    await store.put("idle/ok.mp4", b"x", "video/mp4")
    (store.root / "idle" / ".upload-abc").write_bytes(b"partial")
    (store.root / "idle" / "has space.mp4").write_bytes(b"x")
    (store.root / ".git").mkdir()
    (store.root / ".git" / "config").write_bytes(b"x")
    assert [o.name for o in await store.list()] == ["idle/ok.mp4"]


async def test_signed_url_shape_and_verification(store: LocalMediaStore, clock: Clock) -> None:
    url = await store.signed_url("idle/a.mp4", ttl_s=60)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://media.test/media/idle/a.mp4"
    q = query(url)
    assert int(q["exp"]) == int(clock.now) + 60
    assert store.verify("idle/a.mp4", q["exp"], q["sig"], "GET")
    assert store.verify("idle/a.mp4", q["exp"], q["sig"].upper(), "GET")

    assert not store.verify("idle/b.mp4", q["exp"], q["sig"], "GET")  # other name
    assert not store.verify("idle/a.mp4", q["exp"], q["sig"], "PUT")  # other method
    assert not store.verify("idle/a.mp4", str(int(q["exp"]) + 1), q["sig"], "GET")
    assert not store.verify("idle/a.mp4", "+" + q["exp"], q["sig"], "GET")
    assert not store.verify("idle/a.mp4", q["exp"], tamper(q["sig"]), "GET")
    assert not store.verify("idle/a.mp4", None, q["sig"], "GET")
    assert not store.verify("idle/a.mp4", q["exp"], None, "GET")
    assert not store.verify("idle/a.mp4", "soon", q["sig"], "GET")
    assert not store.verify("idle/a.mp4", q["exp"], "abc", "GET")
    assert not store.verify("idle/a.mp4", q["exp"], "é" * 64, "GET")
    assert not store.verify("idle/a.mp4", "١" + q["exp"][1:], q["sig"], "GET")

    clock.now += 59
    assert store.verify("idle/a.mp4", q["exp"], q["sig"], "GET")
    clock.now += 1
    assert not store.verify("idle/a.mp4", q["exp"], q["sig"], "GET")  # expired


async def test_put_urls_are_distinct_from_get_urls(store: LocalMediaStore) -> None:
    q = query(await store.signed_url("up/new.mp4", method="PUT"))
    assert store.verify("up/new.mp4", q["exp"], q["sig"], "PUT")
    assert not store.verify("up/new.mp4", q["exp"], q["sig"], "GET")


async def test_default_ttl_and_bounds(tmp_path: Path, clock: Clock) -> None:
    store = LocalMediaStore(
        tmp_path, secret=SECRET, base_url="http://x", clock=clock, default_ttl_s=120
    )
    assert int(query(await store.signed_url("a.mp4"))["exp"]) == int(clock.now) + 120
    with pytest.raises(ValueError):
        await store.signed_url("a.mp4", ttl_s=0)
    with pytest.raises(ValueError):
        LocalMediaStore(tmp_path, secret=b"short", base_url="http://x")


async def test_traversal_names_are_refused_everywhere(store: LocalMediaStore) -> None:
    for bad in ("../outside.mp4", "/etc/passwd", "idle\\..\\x", "idle/../../x"):
        with pytest.raises(InvalidMediaName):
            await store.signed_url(bad)
        with pytest.raises(InvalidMediaName):
            await store.put(bad, b"x", "video/mp4")
        with pytest.raises(InvalidMediaName):
            await store.exists(bad)
        with pytest.raises(InvalidMediaName):
            await store.delete(bad)
    with pytest.raises(InvalidMediaName):
        await store.list("../")
    assert not (store.root.parent / "outside.mp4").exists()


async def test_symlink_out_of_the_root_is_not_served(
    store: LocalMediaStore, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("nope")
    (store.root).mkdir(parents=True)
    (store.root / "link.txt").symlink_to(secret_file)
    with pytest.raises(MediaError):
        await store.file_path("link.txt")
    assert await store.list() == []


async def test_put_stream_is_atomic_and_bounded(store: LocalMediaStore) -> None:
    async def chunks(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * 10

    assert await store.put_stream("up/a.bin", chunks(3), max_bytes=30) == 30
    assert (store.root / "up" / "a.bin").read_bytes() == b"x" * 30
    with pytest.raises(MediaError, match="larger"):
        await store.put_stream("up/b.bin", chunks(4), max_bytes=30)
    assert sorted(p.name for p in (store.root / "up").iterdir()) == ["a.bin"]


def test_secret_is_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "media-signing-key"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first  # survives a restart
    assert [p.name for p in path.parent.iterdir()] == ["media-signing-key"]  # no temp left


def test_malformed_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "media-signing-key"
    path.write_text("not hex")
    with pytest.raises(MediaError, match="malformed"):
        load_or_create_secret(path)


async def test_append_creates_then_extends_and_get_reads_back(store: LocalMediaStore) -> None:
    await store.append("recordings/c1/1.ogg", b"Ogg", "audio/ogg")
    await store.append("recordings/c1/1.ogg", b"S-more", "audio/ogg")
    assert await store.get("recordings/c1/1.ogg", max_bytes=9) == b"OggS-more"
    [obj] = await store.list("recordings/")
    assert (obj.size, obj.content_type) == (9, "audio/ogg")


async def test_get_refuses_missing_and_oversized_objects(store: LocalMediaStore) -> None:
    with pytest.raises(MediaNotFound):
        await store.get("recordings/none.ogg", max_bytes=10)
    await store.put("big.txt", b"x" * 11, "text/plain")
    with pytest.raises(MediaTooLarge):
        await store.get("big.txt", max_bytes=10)
    with pytest.raises(InvalidMediaName):
        await store.get("../big.txt", max_bytes=10)
    with pytest.raises(InvalidMediaName):
        await store.append("../x.ogg", b"x", "audio/ogg")
