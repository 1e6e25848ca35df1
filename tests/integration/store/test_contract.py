"""The behaviour every `Store` backend must have; runs against SQLite and Firestore alike."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from liveavatar.live.models import UnsupportedSetting
from liveavatar.store import (
    DailyMetrics,
    NotFound,
    PersonaConfig,
    Source,
    Store,
    StoreUnavailable,
    TokenSums,
    TurnRecord,
    VadSettings,
    VersionConflict,
    purge_expired,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
DAY = "2024-05-01"


def turn(index: int, start: dt.datetime = T0, **kw: object) -> TurnRecord:
    """Turn `index` of a conversation: 10 s apart, 2 s long."""
    began = start + dt.timedelta(seconds=10 * index)
    fields: dict[str, object] = {
        "index": index,
        "user_text": f"question {index}",
        "model_text": f"answer {index}",
        "started_at": began,
        "ended_at": began + dt.timedelta(seconds=2),
        "time_to_first_audio_ms": 250.0,
        "turn_latency_ms": 500.0,
        "prompt_tokens": 10,
        "response_tokens": 20,
    }
    fields.update(kw)
    return TurnRecord.model_validate(fields)


async def test_conversation_is_persisted_turn_by_turn(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, persona_version=3)
    assert await store.append_turn("c1", turn(0))
    # Readable after each turn, before the conversation ends: a crash loses nothing finished.
    first = await store.get_conversation("c1")
    assert first is not None and first.ended_at is None
    assert [(m.role, m.text) for m in first.messages] == [
        ("user", "question 0"),
        ("model", "answer 0"),
    ]
    assert first.duration_s == 2.0

    interrupted = turn(1, interrupted=True, time_to_first_audio_ms=None, turn_latency_ms=300.0)
    assert await store.append_turn("c1", interrupted)
    assert await store.append_turn("c1", turn(2, model_text=""))  # a silent answer adds no line
    conv = await store.get_conversation("c1")
    assert conv is not None
    assert [(m.turn_index, m.role) for m in conv.messages] == [
        (0, "user"),
        (0, "model"),
        (1, "user"),
        (1, "model"),
        (2, "user"),
    ]
    assert conv.messages[3].interrupted and not conv.messages[1].interrupted
    assert conv.messages[0].at == T0
    assert conv.duration_s == 22.0
    m = conv.metrics
    assert (m.turns, m.interrupted_turns, m.prompt_tokens, m.response_tokens) == (3, 1, 30, 60)
    assert m.avg_latency_ms == pytest.approx((500 + 300 + 500) / 3)
    assert m.avg_time_to_first_audio_ms == 250.0  # the turn without audio is not averaged in
    assert conv.persona_version == 3 and conv.user_id == "u1" and conv.timestamp == T0

    assert await store.end_conversation("c1", T0 + dt.timedelta(seconds=30), 30.0, errors=1)
    assert not await store.end_conversation("c1", T0 + dt.timedelta(seconds=99), 99.0, errors=5)
    ended = await store.get_conversation("c1")
    assert ended is not None
    assert ended.ended_at == T0 + dt.timedelta(seconds=30)
    assert ended.duration_s == 30.0 and ended.metrics.errors == 1
    assert ended.summary() == (await store.list_conversations())[0]


async def test_a_turn_appended_twice_is_stored_once(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    await store.start_conversation("c1", "other", T0 + dt.timedelta(days=1), 9)  # no-op retry
    assert await store.append_turn("c1", turn(0))
    assert not await store.append_turn("c1", turn(0))
    # Concurrent retries of the next turn: exactly one wins.
    results = await asyncio.gather(*(store.append_turn("c1", turn(1)) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    conv = await store.get_conversation("c1")
    assert conv is not None
    assert conv.user_id == "u1" and conv.persona_version is None
    assert len(conv.messages) == 4
    assert conv.metrics.turns == 2 and conv.metrics.prompt_tokens == 20


async def test_a_turn_appended_twice_counts_once_in_its_day(store: Store) -> None:
    # A retry after an interrupted write (the session ending mid-append) must not count the
    # turn again: the day's totals move with the turn itself, in the same atomic write.
    await store.start_conversation("c1", "u1", T0, None)
    assert await store.append_turn("c1", turn(0))
    assert not await store.append_turn("c1", turn(0, turn_latency_ms=999.0, prompt_tokens=99))
    results = await asyncio.gather(*(store.append_turn("c1", turn(1)) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert await store.get_daily(DAY) == DailyMetrics(
        date=DAY,
        total_turns=2,
        latency_ms_sum=1000.0,
        latency_count=2,
        prompt_tokens=20,
        response_tokens=40,
    )


async def test_append_turn_alone_updates_the_daily_totals(store: Store) -> None:
    # No increment_daily call here: each turn counts on the UTC day its turn ended.
    late = dt.datetime(2024, 5, 1, 23, 59, 50, tzinfo=dt.UTC)
    await store.start_conversation("c1", "u1", late, None)
    assert await store.append_turn("c1", turn(0, start=late))  # ends 23:59:52 on May 1
    silent = turn(1, start=late, interrupted=True, time_to_first_audio_ms=None, model_text="")
    assert await store.append_turn("c1", silent)  # ends 00:00:02 on May 2
    # Ends 00:30 on May 3 in UTC+2, which is still May 2 in UTC.
    plus2 = dt.timezone(dt.timedelta(hours=2))
    local = turn(
        2,
        start=dt.datetime(2024, 5, 3, 0, 29, 38, tzinfo=plus2),
        turn_latency_ms=100.0,
        prompt_tokens=1,
        response_tokens=2,
    )
    assert await store.append_turn("c1", local)
    days = await store.list_daily(DAY, "2024-05-03")
    assert days == [
        DailyMetrics(
            date=DAY,
            total_turns=1,
            latency_ms_sum=500.0,
            latency_count=1,
            prompt_tokens=10,
            response_tokens=20,
        ),
        DailyMetrics(
            date="2024-05-02",
            total_turns=2,
            latency_ms_sum=600.0,
            latency_count=2,
            prompt_tokens=11,
            response_tokens=22,
        ),
        DailyMetrics(date="2024-05-03"),
    ]


async def test_what_was_heard_of_an_answer_is_added_to_its_stored_turn(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, persona_version=None)
    cut = turn(0, model_text="one two three four", interrupted=True)
    assert await store.append_turn("c1", cut)
    assert await store.append_turn("c1", turn(1, heard_text="answer 1", av_offset_ms=-4.5))
    assert await store.record_playback("c1", 0, "one two", 12.5)
    assert not await store.record_playback("c1", 7, "nothing", None)  # no such turn
    assert not await store.record_playback("nope", 0, "nothing", None)
    conv = await store.get_conversation("c1")
    assert conv is not None
    model = [m for m in conv.messages if m.role == "model"]
    assert [(m.text, m.heard_text, m.av_offset_ms) for m in model] == [
        ("one two three four", "one two", 12.5),
        ("answer 1", "answer 1", -4.5),
    ]
    user = [m for m in conv.messages if m.role == "user"]
    assert all(m.heard_text is None and m.av_offset_ms is None for m in user)
    turns = await store.get_turns("c1")
    assert [(t.heard_text, t.av_offset_ms) for t in turns] == [
        ("one two", 12.5),
        ("answer 1", -4.5),
    ]
    # A turn reported before it was stored, then never again: stays without a report.
    assert await store.append_turn("c1", turn(2))
    assert (await store.get_turns("c1"))[2].heard_text is None


async def test_end_conversation_twice_counts_one_ended_session(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    await store.start_conversation("c2", "u1", T0, None)
    assert await store.end_conversation("c1", T0 + dt.timedelta(seconds=30), 30.0, errors=2)
    assert not await store.end_conversation("c1", T0 + dt.timedelta(days=1), 99.0, errors=5)
    # Concurrent ends of one conversation (a retried shutdown): exactly one is counted.
    ends = await asyncio.gather(
        *(store.end_conversation("c2", T0 + dt.timedelta(seconds=10), 10.0) for _ in range(4))
    )
    assert sorted(ends) == [False, False, False, True]
    day = await store.get_daily(DAY)
    assert day == DailyMetrics(date=DAY, ended_sessions=2, duration_s_sum=40.0, error_count=2)
    assert day.avg_duration_s == 20.0
    assert await store.get_daily("2024-05-02") == DailyMetrics(date="2024-05-02")


async def test_each_session_of_a_resumed_conversation_adds_its_end(store: Store) -> None:
    # A page that reconnects resumes its conversation: each session's end is recorded.
    await store.start_conversation("c1", "u1", T0, None)
    assert await store.append_turn("c1", turn(0))
    first_end = T0 + dt.timedelta(seconds=30)
    assert await store.end_conversation("c1", first_end, 30.0, errors=1, part="1")

    # An hour later the conversation goes on: it may keep showing its previous end, and
    # its new turns do not stretch its duration over the pause.
    later = T0 + dt.timedelta(hours=1)
    assert await store.append_turn("c1", turn(1, start=later))
    running = await store.get_conversation("c1")
    assert running is not None
    assert running.ended_at == first_end and running.duration_s == 30.0

    last_end = later + dt.timedelta(seconds=20)
    assert await store.end_conversation("c1", last_end, 20.0, errors=2, part="2")
    # Retries change nothing, the first session's as well as the second's.
    assert not await store.end_conversation("c1", last_end, 20.0, errors=2, part="2")
    assert not await store.end_conversation("c1", T0 + dt.timedelta(days=1), 99.0, part="1")
    # A session whose end is recorded late (after a later one's) never moves the end back.
    assert await store.end_conversation("c1", first_end, 5.0, part="3")

    ended = await store.get_conversation("c1")
    assert ended is not None
    assert ended.ended_at == last_end
    assert ended.duration_s == 55.0 and ended.metrics.errors == 3
    assert ended.metrics.turns == 2
    assert ended.summary() == (await store.list_conversations())[0]
    day = await store.get_daily(DAY)
    assert (day.ended_sessions, day.duration_s_sum, day.error_count) == (3, 55.0, 3)


async def test_concurrent_ends_of_one_session_count_once(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    at = T0 + dt.timedelta(seconds=10)
    # A retried shutdown of one session, while the conversation's next session also ends.
    ends = await asyncio.gather(
        *(store.end_conversation("c1", at, 10.0, errors=1, part="a") for _ in range(4)),
        store.end_conversation("c1", at + dt.timedelta(seconds=5), 4.0, part="b"),
    )
    assert sorted(ends[:4]) == [False, False, False, True] and ends[4]
    conv = await store.get_conversation("c1")
    assert conv is not None
    assert conv.ended_at == at + dt.timedelta(seconds=5)
    assert conv.duration_s == 14.0 and conv.metrics.errors == 1
    day = await store.get_daily(DAY)
    assert day == DailyMetrics(date=DAY, ended_sessions=2, duration_s_sum=14.0, error_count=1)


async def test_unknown_conversation(store: Store) -> None:
    assert await store.get_conversation("nope") is None
    with pytest.raises(NotFound):
        await store.append_turn("nope", turn(0))
    with pytest.raises(NotFound):
        await store.end_conversation("nope", T0, 1.0)
    with pytest.raises(NotFound):
        await store.end_conversation("nope", T0, 1.0, part="7")
    assert await store.get_daily(DAY) == DailyMetrics(date=DAY)  # nor counted what failed
    # The failed writes left nothing behind: the id starts clean later.
    await store.start_conversation("nope", "u1", T0, None)
    assert await store.append_turn("nope", turn(0))
    assert await store.end_conversation("nope", T0, 1.0)
    assert await store.end_conversation("nope", T0, 1.0, part="7")


async def test_many_sessions_write_at_once(store: Store) -> None:
    async def session(n: int) -> None:
        cid = f"s{n:02d}"
        await store.start_conversation(cid, f"u{n % 3}", T0 + dt.timedelta(seconds=n), None)
        for i in range(4):
            assert await store.append_turn(cid, turn(i))

    await asyncio.gather(*(session(n) for n in range(20)))
    listed = await store.list_conversations(limit=100)
    assert len(listed) == 20
    assert all(c.metrics.turns == 4 for c in listed)


async def test_listing_pages_newest_first_without_gaps(store: Store) -> None:
    # Ties on the timestamp are ordered by id, so paging through them is deterministic.
    offsets = {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3, "f": 3, "g": 3}
    for cid, minutes in offsets.items():
        await store.start_conversation(cid, "u1", T0 + dt.timedelta(minutes=minutes), None)
    expected = ["g", "f", "e", "d", "c", "b", "a"]

    pages: list[list[str]] = []
    page = await store.list_conversations(limit=3)
    while page:
        pages.append([c.id for c in page])
        last = page[-1]
        page = await store.list_conversations(before=last.timestamp, before_id=last.id, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [cid for p in pages for cid in p] == expected

    # `before` alone: strictly earlier starts.
    older = await store.list_conversations(before=T0 + dt.timedelta(minutes=3))
    assert [c.id for c in older] == ["d", "c", "b", "a"]


async def test_listing_filters_by_user(store: Store) -> None:
    for n in range(7):
        user = "alice" if n % 2 == 0 else "bob"
        await store.start_conversation(f"c{n}", user, T0 + dt.timedelta(minutes=n), None)
    first = await store.list_conversations(user_id="alice", limit=3)
    assert [c.id for c in first] == ["c6", "c4", "c2"]
    last = first[-1]
    rest = await store.list_conversations(
        user_id="alice", before=last.timestamp, before_id=last.id, limit=3
    )
    assert [c.id for c in rest] == ["c0"]
    assert {c.user_id for c in await store.list_conversations(user_id="bob")} == {"bob"}
    assert await store.list_conversations(user_id="nobody") == []


async def test_daily_increments_from_concurrent_tasks_sum_exactly(store: Store) -> None:
    async def one(n: int) -> None:
        await store.increment_daily(DAY, sessions=1, turns=2, latency_ms=250.0, latency_count=2)
        await store.increment_daily(
            DAY,
            duration_s=30.0 if n % 2 else 90.0,
            ended_sessions=1,
            errors=n % 5 == 0,
            prompt_tokens=7,
            response_tokens=11,
        )

    await asyncio.gather(*(one(n) for n in range(50)))
    day = await store.get_daily(DAY)
    assert (day.total_sessions, day.total_turns, day.ended_sessions) == (50, 100, 50)
    assert (day.error_count, day.prompt_tokens, day.response_tokens) == (10, 350, 550)
    assert day.latency_ms_sum == 12_500.0 and day.latency_count == 100
    assert day.avg_latency_ms == 125.0
    assert day.avg_duration_s == 60.0


async def test_daily_ranges_are_zero_filled(store: Store) -> None:
    assert (await store.get_daily("2024-04-01")).total_sessions == 0
    await store.increment_daily(dt.date(2024, 5, 2), sessions=2)
    await store.increment_daily("2024-05-04", sessions=1, latency_ms=0.0)
    days = await store.list_daily("2024-05-01", dt.date(2024, 5, 5))
    assert [(d.date, d.total_sessions) for d in days] == [
        ("2024-05-01", 0),
        ("2024-05-02", 2),
        ("2024-05-03", 0),
        ("2024-05-04", 1),
        ("2024-05-05", 0),
    ]
    assert days[0].avg_latency_ms == 0.0 and days[0].avg_duration_s == 0.0
    assert await store.list_daily("2024-05-05", "2024-05-01") == []
    with pytest.raises(ValueError):
        await store.increment_daily("May 1st", sessions=1)


async def test_users_are_created_on_first_sign_in(store: Store) -> None:
    assert await store.get_user("u1") is None
    created = await store.ensure_user("u1", "ada@example.com")
    again = await store.ensure_user("u1", "changed@example.com")
    assert again == created
    assert created.email == "ada@example.com" and created.quota_minutes_per_day is None

    updated = await store.update_user("u1", quota_minutes_per_day=15.5, settings={"lang": "en"})
    assert updated.quota_minutes_per_day == 15.5 and updated.settings == {"lang": "en"}
    kept = await store.update_user("u1", settings={"theme": "dark"})
    assert kept.quota_minutes_per_day == 15.5 and kept.settings == {"theme": "dark"}
    cleared = await store.update_user("u1", quota_minutes_per_day=None)
    assert cleared.quota_minutes_per_day is None and cleared.settings == {"theme": "dark"}
    assert await store.get_user("u1") == cleared
    with pytest.raises(NotFound):
        await store.update_user("ghost", quota_minutes_per_day=1.0)


async def test_users_are_listed_in_pages_by_id(store: Store) -> None:
    await asyncio.gather(*(store.ensure_user(f"user{n}", f"{n}@example.com") for n in range(5)))
    first = await store.list_users(limit=2)
    second = await store.list_users(limit=2, after_id=first[-1].id)
    third = await store.list_users(limit=2, after_id=second[-1].id)
    assert [u.id for u in first + second + third] == [f"user{n}" for n in range(5)]


async def test_usage_increments_atomically(store: Store) -> None:
    assert await store.get_usage("u1", DAY) == 0.0
    totals = await asyncio.gather(*(store.add_usage("u1", DAY, 1.5) for _ in range(20)))
    assert max(totals) == 30.0 and min(totals) >= 1.5
    assert await store.get_usage("u1", DAY) == 30.0
    assert await store.get_usage("u1", "2024-05-02") == 0.0
    assert await store.get_usage("u2", DAY) == 0.0


# One grounded, extended-thinking turn's usage by modality and its estimated cost.
TOKENS = TokenSums(
    input_text_tokens=100,
    input_audio_tokens=200,
    input_video_tokens=58,
    output_text_tokens=3,
    output_audio_tokens=50,
    thoughts_tokens=90,
    tool_use_prompt_tokens=25,
    cost_usd=0.00125,
)
SOURCES = [
    Source(title="Eiffel Tower - Wikipedia", uri="https://en.wikipedia.org/wiki/Eiffel_Tower"),
    Source(title="Tour Eiffel", uri="https://www.toureiffel.paris/en", domain="toureiffel.paris"),
]


async def test_usage_by_modality_cost_and_sources_are_stored_with_the_turn(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    grounded = turn(
        0, **TOKENS.model_dump(), sources=SOURCES, search_queries=["eiffel tower height"]
    )
    assert await store.append_turn("c1", grounded)
    assert not await store.append_turn("c1", grounded)  # a retry adds nothing
    plain = turn(1, **TOKENS.model_dump())  # the same usage, no search
    assert await store.append_turn("c1", plain)
    conv = await store.get_conversation("c1")
    assert conv is not None
    # The model's line of the grounded answer carries its pages; nothing else does.
    assert [m.sources for m in conv.messages] == [[], SOURCES, [], []]
    doubled = {k: 2 * v for k, v in TOKENS.model_dump().items()}
    got = {k: getattr(conv.metrics, k) for k in doubled}
    assert got == pytest.approx(doubled)
    assert conv.summary() == (await store.list_conversations())[0]
    day = await store.get_daily(DAY)
    assert {k: getattr(day, k) for k in doubled} == pytest.approx(doubled)
    assert day.total_turns == 2 and day.prompt_tokens == 20


async def test_turns_without_usage_details_count_zero(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    assert await store.append_turn("c1", turn(0))
    conv = await store.get_conversation("c1")
    assert conv is not None and conv.messages[1].sources == []
    zero = TokenSums().model_dump()
    assert {k: getattr(conv.metrics, k) for k in zero} == zero
    day = await store.get_daily(DAY)
    assert {k: getattr(day, k) for k in zero} == zero


async def test_cost_per_user_and_day_adds_atomically(store: Store) -> None:
    assert await store.get_cost("u1", DAY) == 0.0
    totals = await asyncio.gather(*(store.add_cost("u1", DAY, 0.25) for _ in range(20)))
    assert max(totals) == 5.0 and min(totals) >= 0.25
    assert await store.get_cost("u1", DAY) == 5.0
    # Beside the day's talk time, neither touching the other.
    await store.add_usage("u1", DAY, 30.0)
    assert await store.get_usage("u1", DAY) == 30.0 and await store.get_cost("u1", DAY) == 5.0
    assert await store.get_cost("u1", "2024-05-02") == 0.0
    assert await store.get_cost("u2", DAY) == 0.0
    with pytest.raises(ValueError):
        await store.add_cost("u1", DAY, -1.0)


async def test_persona_versions_are_optimistic(store: Store) -> None:
    assert await store.get_persona() is None
    draft = PersonaConfig(
        name="Ada",
        model="gemini-3.8-live-extended-thinking",
        voice="Puck",
        system_instruction="Be brief.",
        tools=["get_time"],
        vad=VadSettings(start_sensitivity="LOW", silence_duration_ms=700),
        google_search=True,
        thinking_level="medium",
        media_resolution="LOW",
        compression_trigger_tokens=64_000,
        updated_by="admin@example.com",
    )
    v1 = await store.put_persona(draft, expected_version=0)
    assert v1.version == 1 and v1.updated_at is not None
    assert await store.get_persona() == v1

    v2 = await store.put_persona(v1.model_copy(update={"voice": "Kore"}), expected_version=1)
    assert v2.version == 2
    with pytest.raises(VersionConflict):  # a second editor who also started from v1
        await store.put_persona(v1.model_copy(update={"voice": "Aoede"}), expected_version=1)
    with pytest.raises(VersionConflict):
        await store.put_persona(v1, expected_version=7)
    forced = await store.put_persona(v1.model_copy(update={"name": "Bo"}), expected_version=None)
    assert forced.version == 3
    current = await store.get_persona()
    assert current is not None
    assert (current.version, current.name, current.voice) == (3, "Bo", "Puck")
    assert current.vad.silence_duration_ms == 700 and current.tools == ["get_time"]
    assert current.google_search
    assert (current.thinking_level, current.media_resolution) == ("medium", "LOW")
    assert current.context_compression and current.compression_trigger_tokens == 64_000


async def test_a_persona_its_model_does_not_accept_is_refused_when_saved(store: Store) -> None:
    saved = await store.put_persona(
        PersonaConfig(name="A", model="gemini-3.8-live", voice="Puck"), expected_version=0
    )
    refusals: dict[str, dict[str, Any]] = {
        "model gemini-3.8-live does not accept thinking_level": {"thinking_level": "high"},
        "model gemini-3.8-live does not accept affective_dialog": {"affective_dialog": True},
        "model gemini-3.8-live-extended-thinking requires thinking_level": {
            "model": "gemini-3.8-live-extended-thinking"
        },
        "model gemini-3.1-flash-live-preview does not accept proactive_audio": {
            "model": "gemini-3.1-flash-live-preview",
            "proactive_audio": True,
        },
        "model gemini-3.5-live-translate-preview does not accept tools": {
            "model": "gemini-3.5-live-translate-preview",
            "tools": ["get_current_time"],
        },
        "model gemini-0.1-nonexistent is not a known Live model": {
            "model": "gemini-0.1-nonexistent"
        },
    }
    for message, change in refusals.items():
        # `model_copy` skips validation, as any edit might: the save itself refuses.
        with pytest.raises(UnsupportedSetting, match=message):
            await store.put_persona(saved.model_copy(update=change), expected_version=1)
    assert await store.get_persona() == saved  # nothing was written


async def test_concurrent_persona_saves_from_one_version_conflict(store: Store) -> None:
    base = await store.put_persona(
        PersonaConfig(name="A", model="gemini-3.8-live", voice="v"), expected_version=0
    )
    outcomes = await asyncio.gather(
        *(
            store.put_persona(base.model_copy(update={"name": f"N{n}"}), expected_version=1)
            for n in range(4)
        ),
        return_exceptions=True,
    )
    saved = [o for o in outcomes if isinstance(o, PersonaConfig)]
    assert len(saved) == 1 and saved[0].version == 2
    assert all(isinstance(o, VersionConflict) for o in outcomes if o not in saved)
    assert await store.get_persona() == saved[0]


async def test_retention_deletes_only_older_conversations(store: Store) -> None:
    now = T0 + dt.timedelta(days=100)
    for cid, age_days in {"old1": 120, "old2": 91, "new1": 89, "new2": 1}.items():
        await store.start_conversation(cid, "u1", now - dt.timedelta(days=age_days), None)
        await store.append_turn(cid, turn(0, start=now - dt.timedelta(days=age_days)))
        await store.end_conversation(cid, now - dt.timedelta(days=age_days), 5.0)
    assert await purge_expired(store, 90, now) == 2
    assert await store.get_conversation("old1") is None
    assert {c.id for c in await store.list_conversations()} == {"new1", "new2"}
    kept = await store.get_conversation("new1")
    assert kept is not None and len(kept.messages) == 2
    assert await purge_expired(store, 90, now) == 0

    # The turns and messages went too: the same id starts from nothing.
    await store.start_conversation("old1", "u1", now, None)
    assert await store.append_turn("old1", turn(0, start=now))
    reborn = await store.get_conversation("old1")
    assert reborn is not None and len(reborn.messages) == 2 and reborn.metrics.turns == 1
    assert reborn.ended_at is None
    assert await store.end_conversation("old1", now, 1.0)


async def test_bad_input_is_refused_before_any_write(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.start_conversation("c1", "u1", dt.datetime(2024, 5, 1), None)  # naive
    with pytest.raises(ValueError):
        await store.start_conversation("a/b", "u1", T0, None)
    with pytest.raises(ValueError):
        await store.get_conversation("conversations/x")
    with pytest.raises(ValueError):
        await store.list_conversations(limit=0)
    with pytest.raises(ValueError):
        await store.increment_daily(DAY, sessions=-1)
    assert await store.list_conversations() == []
    await store.start_conversation("c1", "u1", T0, None)
    for part in ("a/b", "x" * 1500):
        with pytest.raises(ValueError):
            await store.end_conversation("c1", T0, 1.0, part=part)
    conv = await store.get_conversation("c1")
    assert conv is not None and conv.ended_at is None
    assert await store.get_daily(DAY) == DailyMetrics(date=DAY)


async def test_ping_and_close(store: Store) -> None:
    await store.ping()
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        await store.get_conversation("c1")
    await store.close()  # closing twice is harmless
