"""The dashboard's own queries against the Firestore emulator: the same seeded fixture as
the SQLite page tests (`seed_store` writes through the `Store` protocol), the dashboard
run with `STORE_BACKEND=firestore`, and what it shows and writes checked against the
conftest's table: Overview totals, Conversations search, detail, export and deletion,
and the Users page's edits.

The Firestore emulator is the store tests' (tests/integration/store/conftest.py), reset
for every test.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from streamlit.testing.v1 import AppTest

from liveavatar.store import DB_FILENAME
from liveavatar.store.firestore import FirestoreStore
from tests.integration.dashboard.conftest import UTC, new_app, open_page, seed_store, sign_in
from tests.integration.dashboard.pages_support import (
    capture_downloads,
    download,
    ogg_recording,
    part_of,
    write_media,
)
from tests.integration.store._firestore_indexes import enforce_indexes
from tests.integration.store.conftest import (  # noqa: F401 (a fixture, used by name)
    PROJECT,
    FirestoreEmulator,
    firestore_emulator,
)

T = TypeVar("T")


@dataclass(frozen=True)
class FirestoreSeeded:
    """The seeded Firestore database the dashboard reads, and a way to read it back."""

    today: dt.date
    data_dir: Path

    @property
    def media_dir(self) -> Path:
        return self.data_dir.parent / "media"

    def read(self, call: Callable[[FirestoreStore], Awaitable[T]]) -> T:
        """Run `call` against the emulator's database from the test's side."""

        async def run() -> T:
            store = FirestoreStore(project=PROJECT)
            try:
                return await call(store)
            finally:
                await store.close()

        return asyncio.run(run())


@pytest.fixture
def fs_seeded(
    dashboard_env: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[FirestoreSeeded]:
    """`dashboard_env` on the Firestore emulator, seeded as conftest's table says; every
    query the pages make the store issue must have its index in the deploy file (the
    pages run in this process, so the store tests' check covers them too)."""
    emulator: FirestoreEmulator = request.getfixturevalue("firestore_emulator")
    emulator.reset()
    monkeypatch.setenv("STORE_BACKEND", "firestore")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    monkeypatch.setenv("FIRESTORE_PROJECT", PROJECT)
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    seeded = FirestoreSeeded(today=dt.datetime.now(UTC).date(), data_dir=dashboard_env)
    unindexed = enforce_indexes(monkeypatch)
    seeded.read(lambda store: seed_store(store, seeded.today))
    yield seeded
    assert unindexed == [], "queries without their index in deploy/firestore.indexes.json"


def _page(url_path: str) -> AppTest:
    at = open_page(sign_in(new_app()), url_path)
    assert not at.exception, at.exception
    return at


def _listed(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["id"]) if at.dataframe else []


# ---- Overview --------------------------------------------------------------------------------


def test_overview_totals(fs_seeded: FirestoreSeeded) -> None:
    at = sign_in(new_app())
    assert not at.exception, at.exception
    m = {metric.label: metric.value for metric in at.metric}
    assert (m["Sessions"], m["Turns"], m["Conversation minutes"]) == ("4", "6", "11.0")
    assert (m["Errors"], m["Live reconnects / rotations"]) == ("1", "1 / 2")
    assert (m["Tokens"], m["Estimated cost (USD)"]) == ("2,020", "0.1100")
    per_user = at.dataframe[0].value
    assert list(per_user.index) == ["alice", "bob", "carol"]
    assert list(per_user["cost_usd"]) == pytest.approx([0.075, 0.03, 0.005])
    daily = at.dataframe[1].value
    d2 = daily.loc[(fs_seeded.today - dt.timedelta(days=2)).isoformat()]
    # Percentiles from the per-turn documents (nearest rank, as in the SQLite test).
    assert (d2["turn p50"], d2["turn p95"]) == (1100, 1500)
    assert (d2["first audio p50"], d2["first audio p95"]) == (500, 600)
    assert (d2["reconnects"], d2["error.live_unavailable"]) == (1, 1)
    # Read from Firestore alone: no SQLite file was ever created.
    assert not (fs_seeded.data_dir / DB_FILENAME).exists()


def test_overview_date_range(fs_seeded: FirestoreSeeded) -> None:
    at = sign_in(new_app())
    yesterday = fs_seeded.today - dt.timedelta(days=1)
    at.date_input(key="overview_dates").set_value((yesterday, fs_seeded.today)).run()
    m = {metric.label: metric.value for metric in at.metric}
    assert (m["Sessions"], m["Turns"], m["Conversation minutes"]) == ("2", "3", "8.0")
    assert m["Live reconnects / rotations"] == "0 / 2"


# ---- Conversations ---------------------------------------------------------------------------


def test_conversation_search(fs_seeded: FirestoreSeeded) -> None:
    at = _page("conversations")
    assert _listed(at) == ["conv-c1", "conv-a2", "conv-b1", "conv-a1"]
    at.text_input(key="conversations_user").input("alice").run()
    assert _listed(at) == ["conv-a2", "conv-a1"]
    at.text_input(key="conversations_user").input("").run()
    two_days_ago = fs_seeded.today - dt.timedelta(days=2)
    at.date_input(key="conversations_days").set_value((two_days_ago, two_days_ago)).run()
    assert _listed(at) == ["conv-b1", "conv-a1"]
    at.date_input(key="conversations_days").set_value(()).run()
    at.text_input(key="conversations_text").input("SUNDAY").run()
    assert _listed(at) == ["conv-a1"]


def test_answers_cached_for_another_store_are_not_shown(
    fs_seeded: FirestoreSeeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as env:
        env.setenv("STORE_BACKEND", "sqlite")  # the same page over an empty SQLite store
        assert _listed(_page("conversations")) == []
    # Same filter, same cache period, another context: its own store answers.
    assert _listed(_page("conversations")) == ["conv-c1", "conv-a2", "conv-b1", "conv-a1"]


def test_conversation_detail(fs_seeded: FirestoreSeeded) -> None:
    at = _page("conversations")
    at.selectbox(key="conversations_open").set_value("conv-b1").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.text] == ["Weather in Paris?", "It is sunny in Paris."]
    captions = " ".join(c.value for c in at.caption)
    assert "first audio 500 ms · latency 1500 ms" in captions
    assert "in text 40, in video 10, out audio 250, out text 25, thoughts 5, $0.0300" in captions
    calls = at.dataframe[1].value
    assert list(calls["tool"]) == ["get_weather"]
    assert json.loads(calls["args"][0]) == {"city": "Paris"}


def test_conversation_export(fs_seeded: FirestoreSeeded, monkeypatch: pytest.MonkeyPatch) -> None:
    files = capture_downloads(monkeypatch)
    at = _page("conversations")
    at.text_input(key="conversations_user").input("alice").run()
    at.button(key="export_prepare").click().run()
    assert not at.exception, at.exception
    conversations = json.loads(download(at, files, "export_json"))["conversations"]
    assert [c["id"] for c in conversations] == ["conv-a2", "conv-a1"]
    assert [len(c["turns"]) for c in conversations] == [2, 2]
    rows = list(csv.DictReader(io.StringIO(download(at, files, "export_csv").decode())))
    assert [(r["conversation_id"], r["turn_index"]) for r in rows] == [
        ("conv-a2", "0"),
        ("conv-a2", "1"),
        ("conv-a1", "0"),
        ("conv-a1", "1"),
    ]


def _recording_of(seeded: FirestoreSeeded, conversation_id: str) -> Path:
    summary = seeded.read(lambda s: s.get_conversation(conversation_id))
    assert summary is not None
    name = f"recordings/{conversation_id}/{part_of(summary.timestamp)}.ogg"
    return write_media(seeded.media_dir, name, ogg_recording())


def test_deleting_a_conversation(fs_seeded: FirestoreSeeded) -> None:
    recording = _recording_of(fs_seeded, "conv-a1")
    at = _page("conversations")
    at.selectbox(key="conversations_open").set_value("conv-a1").run()
    at.button(key="delete_conversation").click().run()
    at.button(key="confirm_delete_conversation").click().run()
    assert not at.exception, at.exception
    assert "Deleted 1 conversation(s) and 1 recording file(s)." in at.success[0].value
    assert "conv-a1" not in _listed(at)

    async def gone(store: FirestoreStore) -> tuple[object, int]:
        return await store.get_conversation("conv-a1"), len(await store.get_turns("conv-a1"))

    assert fs_seeded.read(gone) == (None, 0)
    assert not recording.exists()


def test_deleting_a_users_data(fs_seeded: FirestoreSeeded) -> None:
    recordings = [_recording_of(fs_seeded, "conv-a1"), _recording_of(fs_seeded, "conv-a2")]
    at = _page("conversations")
    at.text_input(key="delete_user_id").input("alice").run()
    at.button(key="delete_user").click().run()
    at.button(key="confirm_delete_user").click().run()
    assert not at.exception, at.exception
    assert "Deleted 2 conversation(s) and 2 recording file(s)." in at.success[0].value
    assert _listed(at) == ["conv-c1", "conv-b1"]
    assert fs_seeded.read(lambda s: s.get_user("alice")) is None
    assert not any(r.exists() for r in recordings)


# ---- Users -----------------------------------------------------------------------------------


def _user_rows(at: AppTest) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in at.dataframe[0].value.to_dict("records")}


def test_users_listed_and_searched(fs_seeded: FirestoreSeeded) -> None:
    at = _page("users")
    rows = _user_rows(at)
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    assert (rows["carol"]["used_today_min"], rows["carol"]["limit"]) == (5.0, "10 min (own)")
    at.text_input(key="users_search").input("EXAMPLE.ORG").run()
    assert list(_user_rows(at)) == ["carol"]


def test_user_edits_persist(fs_seeded: FirestoreSeeded) -> None:
    at = _page("users").selectbox(key="users_pick").set_value("carol").run()
    at.checkbox(key="users_global_carol").uncheck()
    at.number_input(key="users_limit_carol").set_value(45.0)
    at.button(key="users_save_carol").click().run()
    at.button(key="users_reset").click().run()
    at.button(key="users_block").click().run()
    assert not at.exception, at.exception

    async def stored(store: FirestoreStore) -> tuple[Any, float]:
        return await store.get_user("carol"), await store.get_usage("carol", fs_seeded.today)

    user, used = fs_seeded.read(stored)
    assert user is not None
    assert (user.quota_minutes_per_day, user.blocked, used) == (45.0, True, 0.0)
    assert _user_rows(at)["carol"]["blocked"]
    at.button(key="users_block").click().run()
    user, _ = fs_seeded.read(stored)
    assert user is not None and not user.blocked
