"""Helpers for the Conversations, Persona and Media page tests: downloads the page
offers, recordings and clips on disk, and reading the store back.

Downloads: under `AppTest` the bytes of an `st.download_button` go to Streamlit's in-memory
media storage, which the test runtime drops after each run, and the element only carries
a URL. `capture_downloads` records every file stored there by id, and `download` returns
the bytes behind one button's URL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import soundfile as sf  # type: ignore[import-untyped]
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from liveavatar.store import DB_FILENAME, SQLiteStore

T = TypeVar("T")


def capture_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """From now on, every file the app hands Streamlit, by file id."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self: MemoryMediaFileStorage, data: Any, *args: Any, **kw: Any) -> str:
        file_id = original(self, data, *args, **kw)
        if isinstance(data, bytes):
            files[file_id] = data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return files


def download(at: AppTest, files: dict[str, bytes], key: str) -> bytes:
    """The bytes behind the download button `key`."""
    for element in at.get("download_button"):
        if getattr(element, "key", None) == key or element.proto.id.endswith(f"-{key}"):
            file_id = element.proto.url.rsplit("/", 1)[-1].split(".", 1)[0]
            return files[file_id]
    raise AssertionError(f"no download button {key!r}")


def ogg_recording(seconds: float = 1.0) -> bytes:
    """A real stereo Ogg Opus file (left: user, right: model), `seconds` long."""
    rate = 48_000
    t = np.arange(int(rate * seconds)) / rate
    audio = np.stack([0.2 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], 1)
    out = io.BytesIO()
    sf.write(out, audio, rate, format="OGG", subtype="OPUS")
    return out.getvalue()


def part_of(start: dt.datetime) -> str:
    """A recording part's name: the session's start in microseconds since the epoch."""
    return str((start - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1))


def write_media(media_dir: Path, name: str, data: bytes) -> Path:
    path = media_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def with_store(data_dir: Path, call: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    """Run `call` against the dashboard's SQLite store, from the test's side."""

    async def run() -> T:
        store = SQLiteStore(data_dir / DB_FILENAME)
        try:
            return await call(store)
        finally:
            await store.close()

    return asyncio.run(run())
