"""The media routes in an ASGI app: signed local files and `/api/videos`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from liveavatar.media import LocalMediaStore, MediaObject, MediaUnavailable
from liveavatar.media.base import Method
from liveavatar.server import media_routes
from liveavatar.server.media_routes import router

from .test_local import CLIP, SECRET, Clock, tamper

BASE = "http://media.test"


def make_app(store: object | None, avatar_media: Callable[[], Any] | None = None) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    if store is not None:
        app.state.media = store
    if avatar_media is not None:
        app.state.avatar_media = avatar_media
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media", secret=SECRET, base_url=BASE, clock=clock)


@pytest.fixture
async def http(store: LocalMediaStore) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(store))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query="&".join(f"{k}={v}" for k, v in q.items())).geturl()


async def test_signed_get_serves_the_file(store: LocalMediaStore, http: httpx.AsyncClient) -> None:
    await store.put("idle/a.mp4", CLIP, "video/mp4")
    response = await http.get(await store.signed_url("idle/a.mp4"))
    assert response.status_code == 200
    assert response.content == CLIP
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"

    head = await http.head(await store.signed_url("idle/a.mp4"))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(CLIP))


async def test_range_requests_allow_seeking(
    store: LocalMediaStore, http: httpx.AsyncClient
) -> None:
    await store.put("talking/t.webm", CLIP, "video/webm")
    url = await store.signed_url("talking/t.webm")
    response = await http.get(url, headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.content == CLIP[100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(CLIP)}"
    assert response.headers["content-type"] == "video/webm"
    tail = await http.get(url, headers={"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, CLIP[-10:])
    past = await http.get(url, headers={"Range": f"bytes={len(CLIP) + 5}-"})
    assert past.status_code == 416


async def test_bad_signatures_are_403_even_for_missing_files(
    store: LocalMediaStore, http: httpx.AsyncClient, clock: Clock
) -> None:
    await store.put("idle/a.mp4", CLIP, "video/mp4")
    url = await store.signed_url("idle/a.mp4", ttl_s=30)
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    exp = parse_qs(urlsplit(url).query)["exp"][0]
    for bad in (
        with_query(url, sig=tamper(sig)),
        with_query(url, sig="%C3%A9" * 64),
        with_query(url, exp=str(int(exp) + 3600)),
        f"{BASE}/media/idle/a.mp4",
        f"{BASE}/media/idle/a.mp4?exp={exp}",
        url.replace("/idle/a.mp4", "/idle/missing.mp4"),
    ):
        response = await http.get(bad)
        assert response.status_code == 403, bad
        assert "signature" in response.json()["detail"]
    assert (await http.get(url)).status_code == 200
    clock.now += 30
    assert (await http.get(url)).status_code == 403  # expired


async def test_missing_file_with_valid_signature_is_404(
    store: LocalMediaStore, http: httpx.AsyncClient
) -> None:
    response = await http.get(await store.signed_url("idle/gone.mp4"))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/media/%2e%2e/outside.txt",
        "/media/idle/%2e%2e/%2e%2e/outside.txt",
        "/media/idle%5C..%5Coutside.txt",
        "/media/%2Fetc%2Fpasswd",
        "/media/.hidden",
    ],
)
async def test_traversal_names_are_rejected(
    store: LocalMediaStore, http: httpx.AsyncClient, tmp_path: Path, path: str
) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    await store.put("idle/a.mp4", CLIP, "video/mp4")
    sig = parse_qs(urlsplit(await store.signed_url("idle/a.mp4")).query)
    response = await http.get(f"{path}?exp={sig['exp'][0]}&sig={sig['sig'][0]}")
    assert response.status_code == 400
    assert b"secret" not in response.content


async def test_signed_put_uploads(
    store: LocalMediaStore, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await store.signed_url("expressive/nod.mp4", method="PUT")
    response = await http.put(url, content=CLIP, headers={"Content-Type": "video/mp4"})
    assert response.status_code == 201
    assert response.json() == {"name": "expressive/nod.mp4", "size": len(CLIP)}
    assert (await http.get(await store.signed_url("expressive/nod.mp4"))).content == CLIP

    get_url = await store.signed_url("expressive/other.mp4")
    assert (await http.put(get_url, content=b"x")).status_code == 403  # a GET URL cannot upload

    monkeypatch.setattr(media_routes, "MAX_UPLOAD_BYTES", 100)
    big = await store.signed_url("expressive/big.mp4", method="PUT")
    assert (await http.put(big, content=b"x" * 101)).status_code == 413

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * 10

    assert (await http.put(big, content=streamed())).status_code == 413
    assert not await store.exists("expressive/big.mp4")


async def test_api_videos_lists_the_store_by_category(
    store: LocalMediaStore, http: httpx.AsyncClient
) -> None:
    empty = await http.get("/api/videos")
    assert empty.json() == {"idle": [], "talking": [], "expressive": []}
    for name in ("idle/b.webm", "idle/a.mp4", "idle/poster.png", "talking/t.mp4", "other/x.mp4"):
        await store.put(name, CLIP, "video/mp4")
    response = await http.get("/api/videos")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"idle", "talking", "expressive"}
    assert [urlsplit(u).path for u in body["idle"]] == ["/media/idle/a.mp4", "/media/idle/b.webm"]
    assert [urlsplit(u).path for u in body["talking"]] == ["/media/talking/t.mp4"]
    assert body["expressive"] == []
    for url in body["idle"] + body["talking"]:
        got = await http.get(url)
        assert (got.status_code, got.content) == (200, CLIP)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_api_videos_uses_the_personas_media(
    store: LocalMediaStore, asynchronous: bool
) -> None:
    chosen = {"idle": ["persona/idle.mp4"], "talking": ["persona/talk.mp4", "../bad.mp4"]}

    def sync_provider() -> dict[str, list[str]]:
        return chosen

    async def async_provider() -> dict[str, list[str]]:
        return chosen

    app = make_app(store, async_provider if asynchronous else sync_provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        body = (await http.get("/api/videos")).json()
    assert [urlsplit(u).path for u in body["idle"]] == ["/media/persona/idle.mp4"]
    assert [urlsplit(u).path for u in body["talking"]] == ["/media/persona/talk.mp4"]
    assert body["expressive"] == []


class RemoteStore:
    """A store that is not the local folder (URLs elsewhere), optionally failing."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def signed_url(
        self, name: str, *, ttl_s: int | None = None, method: Method = "GET"
    ) -> str:
        if self.fail:
            raise MediaUnavailable("bucket unreachable")
        return f"https://storage.test/bucket/{name}?X-Goog-Signature=00"

    async def list(self, prefix: str = "", *, limit: int = 1000) -> list[MediaObject]:
        if self.fail:
            raise MediaUnavailable("bucket unreachable")
        return []

    async def put(self, name: str, data: bytes, content_type: str) -> None: ...

    async def delete(self, name: str) -> None: ...

    async def exists(self, name: str) -> bool:
        return False


async def test_media_route_is_local_only_and_failures_are_503() -> None:
    async def client(store: object | None, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=make_app(store, **kw)), base_url=BASE
        )

    async with await client(RemoteStore()) as http:
        assert (await http.get("/media/idle/a.mp4?exp=1&sig=00")).status_code == 404
    async with await client(RemoteStore(fail=True)) as http:
        response = await http.get("/api/videos")
        assert response.status_code == 503
        assert response.json() == {"detail": "avatar media is unavailable"}
    async with await client(
        RemoteStore(fail=True), avatar_media=lambda: {"idle": ["a.mp4"]}
    ) as http:
        assert (await http.get("/api/videos")).status_code == 503
    async with await client(None) as http:
        assert (await http.get("/api/videos")).status_code == 503
