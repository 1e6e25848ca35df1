"""The recorder writes every finished turn exactly once, even when the session ends mid-write."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from liveavatar.bridge import recorder as recorder_module
from liveavatar.bridge.recorder import SessionRecorder
from liveavatar.bridge.turns import FinishedTurn
from liveavatar.live.events import Source, Usage
from liveavatar.store import SQLiteStore, TurnRecord

CONVERSATION = "s-" + "r" * 22


class StuckStore(SQLiteStore):
    """SQLite whose first `append_turn` hangs, after writing (`write_first`) or before."""

    def __init__(self, path: Path, *, write_first: bool) -> None:
        super().__init__(path)
        self.write_first = write_first
        self.calls = 0
        self.stuck = asyncio.Event()

    async def append_turn(self, conversation_id: str, turn: TurnRecord) -> bool:
        self.calls += 1
        if self.calls > 1:
            return await super().append_turn(conversation_id, turn)
        if self.write_first:
            await super().append_turn(conversation_id, turn)
        self.stuck.set()
        await asyncio.Event().wait()  # the store stopped answering
        raise AssertionError("unreachable")


def finished(turn: int, text: str) -> FinishedTurn:
    return FinishedTurn(turn, text, f"answer to {text}", False, 120.0, 900.0, None)


@pytest.fixture(autouse=True)
def short_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    # The drain bound is seconds in production; a stuck write here need not take that long.
    monkeypatch.setattr(recorder_module, "DRAIN_TIMEOUT_S", 0.2)


@pytest.fixture(params=[False, True], ids=["stuck-before-write", "stuck-after-write"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StuckStore]:
    s = StuckStore(tmp_path / "db.sqlite", write_first=request.param)
    yield s
    await s.close()


async def test_the_turn_being_written_when_the_session_ends_is_kept_once(
    store: StuckStore,
) -> None:
    rec = SessionRecorder(store, conversation_id=CONVERSATION, user_id="u", persona_version=None)
    await rec.start()
    rec.turn(finished(1, "first"))
    rec.turn(finished(2, "second"))
    await store.stuck.wait()  # the writer holds turn 0 and the store hangs
    await rec.finish()

    conv = await store.get_conversation(CONVERSATION)
    assert conv is not None and conv.ended_at is not None
    assert conv.metrics.turns == 2
    assert [m.text for m in conv.messages if m.role == "user"] == ["first", "second"]
    daily = await store.get_daily(dt.datetime.now(dt.UTC).date())
    assert daily.total_turns == 2  # the repeated write of turn 0 was not counted again
    assert daily.ended_sessions == 1


async def test_finish_runs_once_and_later_turns_are_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite")
    rec = SessionRecorder(store, conversation_id=CONVERSATION, user_id="u", persona_version=None)
    await rec.start()
    rec.turn(finished(1, "only"))
    await rec.finish()
    await rec.finish()
    rec.turn(finished(2, "too late"))
    conv = await store.get_conversation(CONVERSATION)
    await store.close()
    assert conv is not None and conv.metrics.turns == 1
    daily_ended = conv.ended_at
    assert daily_ended is not None


async def test_a_turn_is_recorded_with_its_usage_cost_and_sources(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite")
    recorder = SessionRecorder(store, conversation_id=CONVERSATION, user_id="u1", persona_version=1)
    try:
        await recorder.start()
        usage = Usage(300, 50, 410, 100, 200, 0, 0, 50, thoughts_tokens=40)
        page = Source("Eiffel Tower", "https://en.wikipedia.org/wiki/Eiffel_Tower", "wikipedia")
        recorder.turn(
            FinishedTurn(
                1, "how tall", "330 m.", False, 120.0, 900.0, usage, 0.5, (page,), ("height",)
            )
        )
        await recorder.finish()
        conv = await store.get_conversation(CONVERSATION)
        assert conv is not None
        m = conv.metrics
        assert (m.prompt_tokens, m.input_text_tokens, m.input_audio_tokens) == (300, 100, 200)
        assert (m.output_audio_tokens, m.thoughts_tokens, m.cost_usd) == (50, 40, 0.5)
        assert [(s.title, s.uri, s.domain) for s in conv.messages[1].sources] == [
            ("Eiffel Tower", "https://en.wikipedia.org/wiki/Eiffel_Tower", "wikipedia")
        ]
    finally:
        await store.close()


@pytest.mark.parametrize("store_kind", ["sqlite", "stuck-after-write"])
async def test_two_connections_of_one_conversation_keep_both_turns(
    tmp_path: Path, store_kind: str
) -> None:
    # The page resumed on a new connection (reading 1 stored turn) while the old connection,
    # on another instance, was still finishing its own turn: both number their turn 1.
    store = (
        SQLiteStore(tmp_path / "db.sqlite")
        if store_kind == "sqlite"
        else StuckStore(tmp_path / "db.sqlite", write_first=True)
    )
    try:
        first = SessionRecorder(
            store, conversation_id=CONVERSATION, user_id="u", persona_version=None
        )
        await first.start()
        if isinstance(store, StuckStore):
            store.calls = 1  # only the new connection's first write sticks (below)
        first.turn(finished(1, "before"))
        await first.finish()
        old = SessionRecorder(
            store, conversation_id=CONVERSATION, user_id="u", persona_version=None, first_index=1
        )
        new = SessionRecorder(
            store, conversation_id=CONVERSATION, user_id="u", persona_version=None, first_index=1
        )
        await old.start()
        await new.start()
        old.turn(finished(2, "cut by the take-over"))
        await old.finish()
        if isinstance(store, StuckStore):
            store.calls = 0  # the new connection's first write lands, then the store hangs
        new.turn(finished(2, "after the take-over"))
        new.turn(finished(3, "and one more"))
        if isinstance(store, StuckStore):
            await store.stuck.wait()
        await new.finish()

        turns = await store.get_turns(CONVERSATION)
        assert [t.user_text for t in sorted(turns, key=lambda t: t.index)] == [
            "before",
            "cut by the take-over",
            "after the take-over",
            "and one more",
        ]
        assert sorted(t.index for t in turns) == [0, 1, 2, 3]
        daily = await store.get_daily(dt.datetime.now(dt.UTC).date())
        assert daily.total_turns == 4
    finally:
        await store.close()
