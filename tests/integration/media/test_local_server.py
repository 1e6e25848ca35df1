"""The local media folder behind a real uvicorn: signed URLs over a real socket, wired the
way the backend's lifespan does it (store built off the event loop, then `app.state`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from liveavatar.media import LocalMediaStore, make_media_store
from liveavatar.server.media_routes import router
from tests.support.uvicorn_server import bound_socket, serving

CLIP = b"\x1aE\xdf\xa3" + bytes(range(256)) * 64


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[tuple[str, LocalMediaStore]]:
    """A FastAPI app with the media router under uvicorn on a free loopback port."""
    sock = bound_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = SimpleNamespace(
        media_dir=tmp_path / "media", data_dir=tmp_path / "data", backend_url=base
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.media = await asyncio.to_thread(make_media_store, settings)
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", log_config=None, lifespan="on"))
    with sock:
        async with serving(server, sock, name="media-backend"):
            store = app.state.media
            assert isinstance(store, LocalMediaStore)
            yield base, store


async def test_signed_urls_over_a_real_socket(
    backend: tuple[str, LocalMediaStore], tmp_path: Path
) -> None:
    base, store = backend
    await store.put("idle/breathing.webm", CLIP, "video/webm")
    await store.put("talking/loop.mp4", CLIP[:100], "video/mp4")

    async with httpx.AsyncClient(timeout=10) as http:
        videos = await http.get(f"{base}/api/videos")
        assert videos.status_code == 200
        body = videos.json()
        assert body["expressive"] == []
        [idle] = body["idle"]
        [talking] = body["talking"]
        assert idle.startswith(f"{base}/media/idle/breathing.webm?exp=")

        response = await http.get(idle)
        assert response.status_code == 200
        assert response.content == CLIP
        assert response.headers["content-type"] == "video/webm"

        seek = await http.get(idle, headers={"Range": "bytes=4-11"})
        assert (seek.status_code, seek.content) == (206, CLIP[4:12])
        assert (await http.get(talking)).content == CLIP[:100]

        tampered = idle[:-1] + ("1" if idle[-1] == "0" else "0")
        assert (await http.get(tampered)).status_code == 403
        unsigned = f"{base}{urlsplit(idle).path}"
        assert (await http.get(unsigned)).status_code == 403
        traversal = await http.get(f"{base}/media/%2e%2e/data/media-signing-key?exp=1&sig=0")
        assert traversal.status_code == 400

        store.clock = lambda: time.time() + 7200  # two hours later: the URLs have expired
        assert (await http.get(idle)).status_code == 403

    # The signing key was generated once, privately, under the data dir.
    key_file = tmp_path / "data" / "media-signing-key"
    assert key_file.stat().st_mode & 0o077 == 0
