"""`make_media_store`: which store the settings give, and the local signing secret."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from liveavatar.media import LocalMediaStore, http_base_url, make_media_store
from liveavatar.settings import Settings


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **values)  # type: ignore[call-arg]


async def test_default_is_the_local_folder_with_a_persisted_secret(tmp_path: Path) -> None:
    store = make_media_store(settings(tmp_path))
    assert isinstance(store, LocalMediaStore)
    assert store.root == Path("media")
    assert store.base_url == "http://localhost:8080"
    assert (tmp_path / "data" / "media-signing-key").is_file()

    url = await store.signed_url("idle/a.mp4")
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    restarted = make_media_store(settings(tmp_path))
    assert isinstance(restarted, LocalMediaStore)
    assert restarted.verify("idle/a.mp4", q["exp"], q["sig"], "GET")  # URLs survive restarts


async def test_configured_values_are_used(tmp_path: Path) -> None:
    config = SimpleNamespace(
        media_backend="local",
        media_dir=tmp_path / "clips",
        media_signing_secret=SecretStr("s" * 32),
        media_url_ttl_s=90,
        media_base_url="https://api.example.test/",
        data_dir=tmp_path / "unused",
    )
    store = make_media_store(config)
    assert isinstance(store, LocalMediaStore)
    assert store.root == tmp_path / "clips"
    assert store.default_ttl_s == 90
    assert (await store.signed_url("a.mp4")).startswith("https://api.example.test/media/a.mp4?")
    assert not (tmp_path / "unused").exists()  # a configured secret writes no key file


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SimpleNamespace(media_signing_secret=SecretStr("short")), "at least 16 bytes"),
        (SimpleNamespace(media_backend="gcs", media_bucket=None), "MEDIA_BUCKET"),
        (SimpleNamespace(media_backend="s3"), "unknown media_backend"),
    ],
)
def test_misconfiguration_is_a_clear_error(config: SimpleNamespace, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_media_store(config)


@pytest.mark.parametrize(
    ("backend_url", "expected"),
    [
        ("ws://localhost:8080", "http://localhost:8080"),
        ("wss://api.example.test/ws", "https://api.example.test"),
        ("https://api.example.test/", "https://api.example.test"),
    ],
)
def test_http_base_url(backend_url: str, expected: str) -> None:
    assert http_base_url(backend_url) == expected
