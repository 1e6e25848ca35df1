"""The Cloud Storage media store against gcp-storage-emulator, with a local signing key.

The emulator serves signed URLs but does not check their signatures, so every URL here is
also verified against the service account's public key by `verify_v4_signed_url`.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import google.cloud.storage as storage  # type: ignore[import-untyped]
import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from google.auth.credentials import AnonymousCredentials

from liveavatar.media import MediaNotFound, MediaTooLarge, MediaUnavailable, make_media_store
from liveavatar.media.gcs import GcsMediaStore
from liveavatar.media.signing import LocalKeySigner
from liveavatar.server.media_routes import router
from tests.support.procs import free_port
from tests.unit.media.support import service_account_info, verify_v4_signed_url

from .conftest import Bucket, write_key_file

EMAIL = "media-signer@demo-test.iam.gserviceaccount.com"
CLIP = b"\x1aE\xdf\xa3" + bytes(range(256)) * 64  # an EBML (WebM) header, then filler


@pytest.fixture
def store(bucket: Bucket, sa_key: rsa.RSAPrivateKey) -> GcsMediaStore:
    signer = LocalKeySigner.from_service_account_info(service_account_info(sa_key, EMAIL))
    return GcsMediaStore(bucket.name, client=bucket.client, signer=signer)


async def test_put_list_exists_delete(store: GcsMediaStore) -> None:
    assert await store.list() == []
    await store.put("idle/b.webm", CLIP, "video/webm")
    await store.put("idle/a.mp4", b"mp4", "video/mp4")
    await store.put("talking/t.mp4", b"t", "video/mp4")
    assert await store.exists("idle/a.mp4")
    assert not await store.exists("idle/missing.mp4")

    idle = await store.list("idle/")
    assert [(o.name, o.size, o.content_type) for o in idle] == [
        ("idle/a.mp4", 3, "video/mp4"),
        ("idle/b.webm", len(CLIP), "video/webm"),
    ]
    assert idle[0].updated.tzinfo is not None
    assert [o.name for o in await store.list()] == ["idle/a.mp4", "idle/b.webm", "talking/t.mp4"]

    await store.delete("idle/a.mp4")
    await store.delete("idle/a.mp4")  # missing is fine
    assert not await store.exists("idle/a.mp4")
    assert [o.name for o in await store.list("idle/")] == ["idle/b.webm"]


async def test_signed_get_url_serves_the_bytes_and_carries_a_valid_signature(
    store: GcsMediaStore, bucket: Bucket, sa_key: rsa.RSAPrivateKey
) -> None:
    await store.put("idle/b.webm", CLIP, "video/webm")
    url = await store.signed_url("idle/b.webm", ttl_s=300)
    assert url.startswith(f"{bucket.emulator_url}/{bucket.name}/idle/b.webm?")

    query = verify_v4_signed_url(url, sa_key.public_key())
    assert query["X-Goog-Credential"].startswith(f"{EMAIL}/")
    assert query["X-Goog-Expires"] == "300"
    with pytest.raises(InvalidSignature):  # what the emulator would not catch
        longer = url.replace("X-Goog-Expires=300", "X-Goog-Expires=600")
        verify_v4_signed_url(longer, sa_key.public_key())

    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == CLIP
    assert response.headers["content-type"].startswith("video/webm")


async def test_signed_put_url_uploads(store: GcsMediaStore, sa_key: rsa.RSAPrivateKey) -> None:
    url = await store.signed_url("expressive/nod.mp4", method="PUT", ttl_s=60)
    verify_v4_signed_url(url, sa_key.public_key(), method="PUT")
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.put(url, content=CLIP, headers={"Content-Type": "video/mp4"})
    assert response.status_code == 200
    assert await store.exists("expressive/nod.mp4")
    [obj] = await store.list("expressive/")
    assert obj.size == len(CLIP)


async def test_api_videos_signs_the_bucket_clips(
    store: GcsMediaStore, sa_key: rsa.RSAPrivateKey
) -> None:
    for name in ("idle/a.mp4", "talking/t.webm", "talking/notes.txt"):
        await store.put(name, CLIP, "text/plain" if name.endswith(".txt") else "video/mp4")
    app = FastAPI()
    app.include_router(router)
    app.state.media = store
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://backend.test"
    ) as backend:
        body = (await backend.get("/api/videos")).json()
    assert [urlsplit(u).path.split("/", 2)[2] for u in body["idle"]] == ["idle/a.mp4"]
    assert [urlsplit(u).path.split("/", 2)[2] for u in body["talking"]] == ["talking/t.webm"]
    assert body["expressive"] == []
    async with httpx.AsyncClient(timeout=10) as http:
        for url in body["idle"] + body["talking"]:
            verify_v4_signed_url(url, sa_key.public_key())
            assert (await http.get(url)).content == CLIP


async def test_factory_builds_the_gcs_store_from_settings(
    bucket: Bucket, sa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    key_file = write_key_file(tmp_path / "sa.json", service_account_info(sa_key, EMAIL))
    settings = SimpleNamespace(
        media_backend="gcs",
        media_bucket=bucket.name,
        media_url_ttl_s=120,
        project_id="demo-test",
        google_application_credentials=key_file,
    )
    store = make_media_store(settings)
    assert isinstance(store, GcsMediaStore)
    await store.put("idle/a.mp4", CLIP, "video/mp4")
    url = await store.signed_url("idle/a.mp4")
    assert verify_v4_signed_url(url, sa_key.public_key())["X-Goog-Expires"] == "120"
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(url)).content == CLIP


async def test_an_unreachable_bucket_is_media_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = storage.Client(
        project="demo-test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": f"http://127.0.0.1:{free_port()}"},  # nobody there
    )
    store = GcsMediaStore("nowhere", client=client, signer=None)
    monkeypatch.setattr("liveavatar.media.gcs._RETRY", None)  # fail at once, no retry loop
    with pytest.raises(MediaUnavailable):
        await store.list("idle/")


async def test_append_composes_onto_the_object_and_get_reads_it(
    store: GcsMediaStore, bucket: Bucket
) -> None:
    name = "recordings/s-x/1.ogg"
    await store.append(name, b"OggS-first", "audio/ogg")
    await store.append(name, b"-second", "audio/ogg")
    await store.append(name, b"-third", "audio/ogg")
    assert await store.get(name, max_bytes=1000) == b"OggS-first-second-third"
    [obj] = await store.list("recordings/")
    assert (obj.name, obj.size, obj.content_type) == (name, 23, "audio/ogg")
    # The temporary pieces are gone (listed with the client: `list` hides them anyway).
    assert [b.name for b in bucket.client.list_blobs(bucket.name)] == [name]
    with pytest.raises(MediaTooLarge):
        await store.get(name, max_bytes=22)
    with pytest.raises(MediaNotFound):
        await store.get("recordings/s-x/2.ogg", max_bytes=10)
