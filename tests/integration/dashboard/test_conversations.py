"""The Conversations page against the seeded SQLite store (see conftest's table)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from liveavatar.store import SQLiteStore
from tests.integration.dashboard.conftest import Seeded, new_app, open_page, sign_in
from tests.integration.dashboard.pages_support import (
    capture_downloads,
    download,
    ogg_recording,
    part_of,
    with_store,
    write_media,
)


def _page(seeded: Seeded) -> AppTest:
    at = open_page(sign_in(new_app()), "conversations")
    assert not at.exception
    return at


def _listed(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["id"]) if at.dataframe else []


def _media_dir(seeded: Seeded) -> Path:
    return seeded.data_dir.parent / "media"


def test_what_was_not_heard_of_a_cut_answer_is_struck_through(seeded: Seeded) -> None:
    at = _page(seeded)
    at.selectbox(key="conversations_open").set_value("conv-a2").run()
    assert not at.exception
    markdown = " ".join(m.value for m in at.markdown)
    assert r"A second joke, ~~cut short~~" in markdown
    assert [t.value for t in at.text] == [
        "Tell me a joke",
        "Why did the robot cross the road?",
        "Another one",
    ]
    captions = " ".join(c.value for c in at.caption)
    assert "A/V offset +12 ms" in captions and "A/V offset -6 ms" in captions
    assert "median +3 ms over 2 answers, from -6 to +12 ms" in captions


def test_search_by_user_days_and_text(seeded: Seeded) -> None:
    at = _page(seeded)
    assert _listed(at) == ["conv-c1", "conv-a2", "conv-b1", "conv-a1"]
    at.text_input(key="conversations_user").input("alice").run()
    assert _listed(at) == ["conv-a2", "conv-a1"]
    at.text_input(key="conversations_user").input("").run()
    two_days_ago = seeded.today - dt.timedelta(days=2)
    at.date_input(key="conversations_days").set_value((two_days_ago, two_days_ago)).run()
    assert _listed(at) == ["conv-b1", "conv-a1"]
    at.date_input(key="conversations_days").set_value(()).run()
    at.text_input(key="conversations_text").input("SUNDAY").run()
    assert _listed(at) == ["conv-a1"]
    at.text_input(key="conversations_user").input("bob").run()
    assert _listed(at) == []
    assert any("No conversation matches" in i.value for i in at.info)


def test_a_conversation_shows_its_turns_timings_tool_calls_and_tokens(seeded: Seeded) -> None:
    at = _page(seeded)
    at.selectbox(key="conversations_open").set_value("conv-b1").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert texts == ["Weather in Paris?", "It is sunny in Paris."]
    captions = " ".join(c.value for c in at.caption)
    assert "first audio 500 ms · latency 1500 ms" in captions
    assert "in text 40, in video 10, out audio 250, out text 25, thoughts 5, $0.0300" in captions
    calls = at.dataframe[1].value
    assert list(calls["tool"]) == ["get_weather"]
    assert json.loads(calls["args"][0]) == {"city": "Paris"}
    assert (calls["result"][0], bool(calls["ok"][0]), calls["duration ms"][0]) == (
        "sunny",
        True,
        120.0,
    )
    assert "Not recorded" in captions


def test_exports_hold_exactly_the_filtered_conversations(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = capture_downloads(monkeypatch)
    at = _page(seeded)
    at.text_input(key="conversations_user").input("alice").run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    document = json.loads(download(at, files, "export_json"))
    conversations = document["conversations"]
    assert [c["id"] for c in conversations] == ["conv-a2", "conv-a1"]
    assert [len(c["turns"]) for c in conversations] == [2, 2]
    assert conversations[1]["turns"][1]["user_text"] == "And on Sunday?"
    rows = list(csv.DictReader(io.StringIO(download(at, files, "export_csv").decode())))
    assert [(r["conversation_id"], r["turn_index"]) for r in rows] == [
        ("conv-a2", "0"),
        ("conv-a2", "1"),
        ("conv-a1", "0"),
        ("conv-a1", "1"),
    ]
    assert {r["user_id"] for r in rows} == {"alice"}
    # A changed filter withdraws the prepared export rather than offering a stale one.
    at.text_input(key="conversations_text").input("joke").run()
    assert not at.get("download_button")


def test_export_of_one_conversation(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    files = capture_downloads(monkeypatch)
    at = _page(seeded)
    at.selectbox(key="conversations_open").set_value("conv-b1").run()
    document = json.loads(download(at, files, "export_one_json"))
    (only,) = document["conversations"]
    assert only["id"] == "conv-b1"
    assert only["turns"][0]["tool_calls"][0]["name"] == "get_weather"


def _recording_of(seeded: Seeded, conversation_id: str) -> Path:
    summary = with_store(seeded.data_dir, lambda s: s.get_conversation(conversation_id))
    assert summary is not None
    name = f"recordings/{conversation_id}/{part_of(summary.timestamp)}.ogg"
    return write_media(_media_dir(seeded), name, ogg_recording())


def test_a_recording_plays_beside_its_transcript(seeded: Seeded) -> None:
    _recording_of(seeded, "conv-a1")
    at = _page(seeded)
    at.selectbox(key="conversations_open").set_value("conv-a1").run()
    assert not at.exception
    (frame,) = at.get("iframe")
    html = frame.proto.srcdoc
    assert '"data:audio/ogg;base64,' in html
    cues = json.loads(html.split("const cues = ", 1)[1].split(";\n", 1)[0])
    # Turns start 10 s and 20 s into the conversation (conftest); audio after the ttfa.
    assert [(c["offset_s"], c["role"]) for c in cues] == [
        (10.0, "user"),
        (10.4, "model"),
        (20.0, "user"),
        (20.6, "model"),
    ]
    assert cues[1]["text"] == "We open at nine."


def test_deleting_a_conversation_removes_turns_and_recordings(seeded: Seeded) -> None:
    recording = _recording_of(seeded, "conv-a1")
    at = _page(seeded)
    at.selectbox(key="conversations_open").set_value("conv-a1").run()
    at.button(key="delete_conversation").click().run()
    assert "cannot be undone" in at.warning[0].value
    assert recording.exists()  # nothing happens before the confirmation
    at.button(key="confirm_delete_conversation").click().run()
    assert not at.exception
    assert "Deleted 1 conversation(s) and 1 recording file(s)." in at.success[0].value
    assert "conv-a1" not in _listed(at)

    async def gone(store: SQLiteStore) -> tuple[object, int]:
        return await store.get_conversation("conv-a1"), len(await store.get_turns("conv-a1"))

    assert with_store(seeded.data_dir, gone) == (None, 0)
    assert not recording.exists()


def test_cancelling_keeps_the_conversation(seeded: Seeded) -> None:
    at = _page(seeded)
    at.selectbox(key="conversations_open").set_value("conv-c1").run()
    at.button(key="delete_conversation").click().run()
    at.button(key="cancel_delete_conversation").click().run()
    assert not at.warning
    assert with_store(seeded.data_dir, lambda s: s.get_conversation("conv-c1")) is not None


def test_deleting_a_users_data(seeded: Seeded) -> None:
    recordings = [_recording_of(seeded, "conv-a1"), _recording_of(seeded, "conv-a2")]
    at = _page(seeded)
    at.text_input(key="delete_user_id").input("alice").run()
    at.button(key="delete_user").click().run()
    at.button(key="confirm_delete_user").click().run()
    assert not at.exception
    assert "Deleted 2 conversation(s) and 2 recording file(s)." in at.success[0].value
    assert _listed(at) == ["conv-c1", "conv-b1"]
    assert with_store(seeded.data_dir, lambda s: s.get_user("alice")) is None
    assert not any(r.exists() for r in recordings)
