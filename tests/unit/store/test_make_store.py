"""`make_store` picks the backend from settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from liveavatar.settings import Settings
from liveavatar.store import DB_FILENAME, SQLiteStore, make_store


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env files from the checkout
    # Never build a client that looks for real credentials.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")


async def test_sqlite_is_the_default(tmp_path: Path) -> None:
    store = make_store(Settings(data_dir=tmp_path / "d"))
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "d" / DB_FILENAME
    await store.close()


async def test_firestore_when_asked() -> None:
    from liveavatar.store.firestore import FirestoreStore

    store = make_store(Settings(store_backend="firestore", firestore_project="demo-x"))
    assert isinstance(store, FirestoreStore)
    await store.close()


def test_an_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValidationError, match="store_backend"):
        Settings(store_backend="postgres")  # type: ignore[arg-type]
