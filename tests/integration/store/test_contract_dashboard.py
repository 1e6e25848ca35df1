"""The dashboard's part of the `Store` contract, on SQLite and Firestore alike: search,
turns, deletion, users, usage days, latency percentiles, the A/V offset over a period,
counters and persona history."""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import pytest

from liveavatar.store import (
    AvOffset,
    DailyLatency,
    DailyMetrics,
    NotFound,
    PersonaConfig,
    Source,
    Store,
    TokenSums,
    ToolCallRecord,
    UserDay,
    VersionConflict,
    purge_expired,
)
from tests.integration.store.test_contract import DAY, T0, turn

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


async def _conversation(
    store: Store, cid: str, user: str, at: dt.datetime, *lines: tuple[str, str]
) -> None:
    await store.start_conversation(cid, user, at, None)
    for n, (said, answered) in enumerate(lines):
        assert await store.append_turn(cid, turn(n, start=at, user_text=said, model_text=answered))


async def _ids(store: Store, **filters: Any) -> list[str]:
    return [c.id for c in await store.search_conversations(**filters)]


async def test_search_filters_by_user_time_and_text(store: Store) -> None:
    await _conversation(store, "a1", "alice", T0, ("Where is the Eiffel Tower?", "In Paris."))
    await _conversation(store, "b1", "bob", T0 + H, ("hello", "Bonjour, PARIS calling"))
    await _conversation(store, "a2", "alice", T0 + 2 * H, ("weather", "Sunny."))
    await _conversation(store, "a3", "alice", T0 + D, ("paris again", "Oui."))
    await store.start_conversation("silent", "alice", T0 + 3 * H, None)  # no lines at all

    assert await _ids(store) == ["a3", "silent", "a2", "b1", "a1"]
    assert await _ids(store, user_id="alice") == ["a3", "silent", "a2", "a1"]
    # start inclusive, end exclusive
    assert await _ids(store, start=T0 + H, end=T0 + D) == ["silent", "a2", "b1"]
    assert await _ids(store, start=T0 + D) == ["a3"]
    assert await _ids(store, end=T0) == []
    # Text: any line, either side, case-insensitive; a line in the middle of a word too.
    assert await _ids(store, text="paris") == ["a3", "b1", "a1"]
    assert await _ids(store, text="EIFFEL tower") == ["a1"]
    assert await _ids(store, text="unny") == ["a2"]
    assert await _ids(store, text="nowhere") == []
    assert await _ids(store, text="paris", user_id="alice", end=T0 + D) == ["a1"]
    assert await _ids(store, text="paris", user_id="carol") == []
    assert await _ids(store, text="") == await _ids(store)
    with pytest.raises(ValueError):
        await store.search_conversations(text="x" * 201)
    with pytest.raises(ValueError):
        await store.search_conversations(before_id="a1")
    with pytest.raises(ValueError):
        await store.search_conversations(start=dt.datetime(2024, 5, 1))  # naive


async def test_search_text_is_literal(store: Store) -> None:
    await _conversation(store, "pct", "u1", T0, ("100% sure", "it's_done"))
    await _conversation(store, "plain", "u1", T0 + H, ("1000 sure", "its done"))
    await _conversation(store, "quote", "u1", T0 + 2 * H, ('say "hi"', "ÉTÉ à Paris"))
    assert await _ids(store, text="%") == ["pct"]
    assert await _ids(store, text="100%") == ["pct"]
    assert await _ids(store, text="_") == ["pct"]
    assert await _ids(store, text="it's") == ["pct"]
    assert await _ids(store, text="'") == ["pct"]
    assert await _ids(store, text='"hi"') == ["quote"]
    assert await _ids(store, text="été") == ["quote"]  # not only ASCII folds
    assert await _ids(store, text="' OR 1=1 --") == []
    assert await _ids(store, text="%' OR '1'='1") == []


async def test_search_pages_with_every_filter(store: Store) -> None:
    # Ties on the start time page by id, as list_conversations does.
    starts = {"c0": 0, "c1": 1, "c2": 1, "c3": 1, "c4": 2, "c5": 3, "c6": 3, "c7": 4}
    for cid, minutes in starts.items():
        line = ("needle here", "ok") if cid != "c4" else ("hay", "hay")
        user = "bob" if cid == "c6" else "alice"
        await _conversation(store, cid, user, T0 + dt.timedelta(minutes=minutes), line)
    search = functools.partial(
        store.search_conversations,
        user_id="alice",
        text="NEEDLE",
        start=T0 + dt.timedelta(minutes=1),
        end=T0 + dt.timedelta(minutes=4),
        limit=2,
    )
    pages: list[list[str]] = []
    page = await search()
    while page:
        pages.append([c.id for c in page])
        last = page[-1]
        page = await search(before=last.timestamp, before_id=last.id)
    assert pages == [["c5", "c3"], ["c2", "c1"]]
    # `before` alone: strictly earlier starts.
    older = await _ids(store, text="needle", before=T0 + dt.timedelta(minutes=3))
    assert older == ["c3", "c2", "c1", "c0"]


async def test_get_turns_returns_the_whole_turn(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    tokens = TokenSums(input_audio_tokens=200, output_audio_tokens=50, cost_usd=0.00125)
    calls = [
        ToolCallRecord.bounded("get_time", '{"tz": "UTC"}', "12:00", ok=True, duration_ms=12.5),
        ToolCallRecord.bounded("lookup", "{}", "x" * 5000, ok=False, duration_ms=3.0),
    ]
    source = Source(title="Paris", uri="https://paris.example/", domain="paris.example")
    first = turn(0, **tokens.model_dump(), tool_calls=calls, sources=[source])
    second = turn(
        1,
        model_text="",
        interrupted=True,
        time_to_first_audio_ms=None,
        search_queries=["eiffel tower height"],
    )
    assert await store.append_turn("c1", second)  # stored out of order: read by index
    assert await store.append_turn("c1", first)
    got = await store.get_turns("c1")
    assert got == [first, second]
    assert got[0].tool_calls[1].result == "x" * 2000 and not got[0].tool_calls[1].ok
    assert got[0].cost_usd == 0.00125 and got[0].input_audio_tokens == 200
    assert got[1].time_to_first_audio_ms is None and got[1].model_text == ""
    # Times come back to the microsecond: the recorder tells its own earlier write of a
    # turn from another connection's turn at the same index by them.
    precise = turn(2, start=T0 + dt.timedelta(microseconds=123457))
    assert await store.append_turn("c1", precise)
    assert (await store.get_turns("c1"))[2] == precise
    assert await store.get_turns("nope") == []
    await store.start_conversation("empty", "u1", T0, None)
    assert await store.get_turns("empty") == []


async def test_delete_conversation_keeps_the_day(store: Store) -> None:
    await _conversation(store, "gone", "u1", T0, ("secret", "reply"), ("more", "again"))
    await store.end_conversation("gone", T0 + H, 60.0, errors=1)
    await _conversation(store, "kept", "u1", T0 + H, ("other", "one"))
    day_before = await store.get_daily(DAY)
    assert await store.delete_conversation("gone")
    assert not await store.delete_conversation("gone")
    assert not await store.delete_conversation("never")
    assert await store.get_conversation("gone") is None
    assert await store.get_turns("gone") == []
    assert await _ids(store, text="secret") == []
    assert [c.id for c in await store.list_conversations()] == ["kept"]
    assert await store.get_daily(DAY) == day_before  # aggregates without personal content
    # Turns, lines and session ends went too: the same id starts clean.
    await store.start_conversation("gone", "u2", T0, None)
    assert await store.append_turn("gone", turn(0))
    assert await store.end_conversation("gone", T0 + H, 5.0)
    again = await store.get_conversation("gone")
    assert again is not None and again.metrics.turns == 1 and len(again.messages) == 2


async def test_delete_user_data_takes_everything_of_one_user(store: Store) -> None:
    for user in ("alice", "bob"):
        await store.ensure_user(user, f"{user}@example.com")
        await store.add_usage(user, DAY, 30.0)
        await store.add_cost(user, DAY, 0.5)
        await store.add_usage(user, "2024-05-02", 10.0)
    await _conversation(store, "a1", "alice", T0, ("hi", "hello"))
    await _conversation(store, "a2", "alice", T0 + D, ("hi", "hello"))
    await _conversation(store, "b1", "bob", T0, ("hi", "hello"))
    day_before = await store.get_daily(DAY)

    assert sorted(await store.delete_user_data("alice")) == ["a1", "a2"]
    assert await store.get_user("alice") is None
    assert await store.list_conversations(user_id="alice") == []
    assert await store.get_turns("a1") == []
    assert await store.get_usage("alice", DAY) == 0.0 and await store.get_cost("alice", DAY) == 0
    assert await store.list_user_days(DAY, "2024-05-02", user_id="alice") == []
    # Bob is untouched, and so are the day's totals.
    assert await store.get_user("bob") is not None
    assert [c.id for c in await store.list_conversations()] == ["b1"]
    assert len(await store.get_turns("b1")) == 1
    assert await store.get_usage("bob", DAY) == 30.0 and await store.get_cost("bob", DAY) == 0.5
    assert len(await store.list_user_days(DAY, "2024-05-02")) == 2
    assert await store.get_daily(DAY) == day_before
    assert await store.delete_user_data("alice") == []
    assert await store.delete_user_data("nobody") == []


async def test_find_users_by_id_or_email(store: Store) -> None:
    people = {
        "u3": "Ada.Lovelace@example.com",
        "u1": "grace@navy.mil",
        "adam": "first@eden.org",
        "u2": "linus@kernel.org",
        "x_y": "percent%@example.com",
    }
    for uid, email in people.items():
        await store.ensure_user(uid, email)
    assert [u.id for u in await store.find_users("ADA")] == ["adam", "u3"]
    assert [u.id for u in await store.find_users("example.COM")] == ["u3", "x_y"]
    assert [u.id for u in await store.find_users("u")] == ["u1", "u2", "u3"]
    assert [u.id for u in await store.find_users("u", limit=2)] == ["u1", "u2"]
    assert [u.id for u in await store.find_users("")] == sorted(people)
    assert [u.id for u in await store.find_users(limit=1)] == ["adam"]
    assert [u.id for u in await store.find_users("%")] == ["x_y"]
    assert [u.id for u in await store.find_users("_")] == ["x_y"]
    assert await store.find_users("nobody") == []


async def test_blocking_a_user_round_trips(store: Store) -> None:
    created = await store.ensure_user("u1", "ada@example.com")
    assert not created.blocked
    await store.update_user("u1", quota_minutes_per_day=5.0)
    blocked = await store.update_user("u1", blocked=True)
    assert blocked.blocked and blocked.quota_minutes_per_day == 5.0
    assert (await store.get_user("u1")) == blocked
    assert [u.blocked for u in await store.find_users("ada")] == [True]
    assert [u.blocked for u in await store.list_users()] == [True]
    assert (await store.ensure_user("u1", "ada@example.com")).blocked  # kept as it is
    unblocked = await store.update_user("u1", blocked=False)
    assert not unblocked.blocked and unblocked.quota_minutes_per_day == 5.0
    with pytest.raises(NotFound):
        await store.update_user("ghost", blocked=True)


async def test_reset_usage_clears_one_day_only(store: Store) -> None:
    await store.add_usage("u1", DAY, 120.0)
    await store.add_cost("u1", DAY, 0.75)
    await store.add_usage("u1", "2024-05-02", 30.0)
    await store.add_usage("u2", DAY, 60.0)
    await store.reset_usage("u1", DAY)
    assert await store.get_usage("u1", DAY) == 0.0 and await store.get_cost("u1", DAY) == 0.0
    assert await store.get_usage("u1", "2024-05-02") == 30.0
    assert await store.get_usage("u2", DAY) == 60.0
    # Usage counts up again from zero; nothing recorded is no error.
    assert await store.add_usage("u1", DAY, 5.0) == 5.0
    await store.reset_usage("u1", "2024-06-01")
    await store.reset_usage("nobody", DAY)
    assert await store.get_usage("nobody", DAY) == 0.0


async def test_user_days_in_a_range(store: Store) -> None:
    await store.add_usage("bob", DAY, 60.0)
    await store.add_usage("alice", DAY, 30.0)
    await store.add_cost("alice", DAY, 0.25)
    await store.add_cost("carol", "2024-05-02", 1.5)  # cost only
    await store.add_usage("alice", "2024-05-03", 15.0)  # time only
    await store.add_usage("alice", "2024-05-04", 99.0)  # outside the range
    await store.add_usage("alice", "2024-04-30", 99.0)
    await store.add_usage("dave", "2024-05-02", 10.0)
    await store.reset_usage("dave", "2024-05-02")  # nothing left that day
    expected = [
        UserDay(user_id="alice", date=DAY, seconds=30.0, cost_usd=0.25),
        UserDay(user_id="bob", date=DAY, seconds=60.0),
        UserDay(user_id="carol", date="2024-05-02", cost_usd=1.5),
        UserDay(user_id="alice", date="2024-05-03", seconds=15.0),
    ]
    assert await store.list_user_days(DAY, "2024-05-03") == expected
    alice = await store.list_user_days(dt.date(2024, 5, 1), "2024-05-03", user_id="alice")
    assert alice == [expected[0], expected[3]]
    assert await store.list_user_days("2024-05-03", DAY) == []
    assert await store.list_user_days("2024-06-01", "2024-06-30") == []


async def test_daily_latency_percentiles_are_exact(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    # 20 turns on May 1: latencies 10, 20, ... 200; time to first audio on the even ones.
    for n in range(20):
        ttfa = float(5 * (n + 1)) if n % 2 == 0 else None
        t = turn(n, time_to_first_audio_ms=ttfa, turn_latency_ms=float(10 * (n + 1)))
        assert await store.append_turn("c1", t)
    # May 3: one turn, begun on May 2, ending 00:00:01 UTC; no audio.
    late = dt.datetime(2024, 5, 2, 23, 59, 49, tzinfo=dt.UTC)
    await store.start_conversation("c2", "u2", late, None)
    assert await store.append_turn(
        "c2", turn(1, start=late, time_to_first_audio_ms=None, turn_latency_ms=7.0)
    )
    days = await store.list_daily(DAY, "2024-05-03")
    assert [d.total_turns for d in days] == [20, 0, 1]
    got = await store.daily_latency(DAY, dt.date(2024, 5, 4))
    # Nearest rank: p50 of 20 is the 10th value, p95 the 19th; of 10 ttfa: 5th and 10th.
    assert got == [
        DailyLatency(
            date=DAY,
            turns=20,
            ttfa_p50_ms=45.0,
            ttfa_p95_ms=95.0,
            latency_p50_ms=100.0,
            latency_p95_ms=190.0,
        ),
        DailyLatency(date="2024-05-02"),
        DailyLatency(date="2024-05-03", turns=1, latency_p50_ms=7.0, latency_p95_ms=7.0),
        DailyLatency(date="2024-05-04"),
    ]
    assert await store.daily_latency("2024-05-02", "2024-05-02") == [got[1]]
    assert await store.daily_latency("2024-05-03", "2024-05-01") == []
    # A deleted conversation's turns no longer count.
    assert await store.delete_conversation("c2")
    assert (await store.daily_latency("2024-05-03", "2024-05-03"))[0].turns == 0
    # Nor do those purged by retention.
    assert await purge_expired(store, 1, T0 + 2 * D) == 1
    assert (await store.daily_latency(DAY, DAY))[0] == DailyLatency(date=DAY)


async def test_av_offset_over_a_period_is_exact(store: Store) -> None:
    await store.start_conversation("c1", "u1", T0, None)
    # May 1: 20 answers reported with offsets -40, -35, ... +55; two more never reported.
    for n in range(22):
        assert await store.append_turn("c1", turn(n))
    for n in range(20):
        assert await store.record_playback("c1", n, f"answer {n}", float(5 * n - 40))
    # May 2: one answer at +80, reported before its turn was stored (so stored with it);
    # one whose report had no offset (the native avatar's).
    day2 = T0 + D
    await store.start_conversation("c2", "u2", day2, None)
    assert await store.append_turn("c2", turn(0, start=day2, av_offset_ms=80.0))
    assert await store.append_turn("c2", turn(1, start=day2))
    assert await store.record_playback("c2", 1, "answer 1", None)
    # Nearest rank over 20: the 10th and the 19th value; over 21 (+80 added): 11th, 20th.
    assert await store.av_offset(DAY, DAY) == AvOffset(answers=20, p50_ms=5.0, p95_ms=50.0)
    assert await store.av_offset(DAY, dt.date(2024, 5, 3)) == AvOffset(
        answers=21, p50_ms=10.0, p95_ms=55.0
    )
    assert await store.av_offset("2024-05-02", "2024-05-02") == AvOffset(
        answers=1, p50_ms=80.0, p95_ms=80.0
    )
    # A later report replaces the earlier one.
    assert await store.record_playback("c2", 0, "answer 0", -10.0)
    assert (await store.av_offset("2024-05-02", "2024-05-02")).p50_ms == -10.0
    assert await store.av_offset("2024-05-03", "2024-05-03") == AvOffset()
    assert await store.av_offset("2024-05-03", "2024-05-01") == AvOffset()
    # A deleted conversation's answers no longer count.
    assert await store.delete_conversation("c2")
    assert await store.av_offset("2024-05-02", "2024-05-02") == AvOffset()


async def test_daily_counters_add_up_by_name(store: Store) -> None:
    await store.increment_daily(DAY, sessions=1, counters={"live.reconnect": 1})
    await store.increment_daily(
        DAY, counters={"live.reconnect": 2, "error.live_unavailable": 1, "live.rotation": 0}
    )
    await store.increment_daily("2024-05-02", counters={"error.rate-limited": 3})
    for _ in range(5):
        await store.increment_daily(DAY, counters={"live.rotation": 1})
    day = await store.get_daily(DAY)
    assert day.counters == {"live.reconnect": 3, "error.live_unavailable": 1, "live.rotation": 5}
    assert day.total_sessions == 1
    days = await store.list_daily("2024-04-30", "2024-05-02")
    assert [d.counters for d in days] == [
        {},
        day.counters,
        {"error.rate-limited": 3},
    ]
    assert days[2] == DailyMetrics(date="2024-05-02", counters={"error.rate-limited": 3})
    for bad in ("", "has space", "a/b", ".dot-first", "x" * 65, "ünï"):
        with pytest.raises(ValueError):
            await store.increment_daily(DAY, sessions=1, counters={bad: 1})
    with pytest.raises(ValueError):
        await store.increment_daily(DAY, counters={"live.reconnect": -1})
    assert await store.get_daily(DAY) == day  # the refused calls wrote nothing


async def test_persona_history_and_rollback(store: Store) -> None:
    assert await store.list_persona_versions() == []
    assert await store.get_persona_version(1) is None
    v1 = await store.put_persona(
        PersonaConfig(
            name="Ada",
            model="gemini-3.8-live",
            voice="Puck",
            greeting="Hello! Ask me anything.",
            push_to_talk=True,
            avatar_mode="clips",
            recording=True,
            recording_retention_days=30,
        ),
        expected_version=0,
    )
    v2 = await store.put_persona(
        v1.model_copy(update={"voice": "Kore", "greeting": "", "recording": False}),
        expected_version=1,
    )
    v3 = await store.put_persona(v2.model_copy(update={"name": "Bo"}), expected_version=2)
    assert [p.version for p in await store.list_persona_versions()] == [3, 2, 1]
    assert await store.list_persona_versions(limit=2) == [v3, v2]
    old = await store.get_persona_version(1)
    assert old == v1
    assert (old.greeting, old.push_to_talk, old.avatar_mode) == (
        "Hello! Ask me anything.",
        True,
        "clips",
    )
    assert (old.recording, old.recording_retention_days) == (True, 30)
    assert await store.get_persona_version(4) is None

    # Rollback: version 1's content saved again, from the current version.
    with pytest.raises(VersionConflict):
        await store.put_persona(old, expected_version=2)
    rolled = await store.put_persona(old, expected_version=3)
    assert rolled.version == 4
    current = await store.get_persona()
    assert current == rolled
    content = {"version", "updated_at"}
    assert current.model_dump(exclude=content) == v1.model_dump(exclude=content)
    assert [p.version for p in await store.list_persona_versions()] == [4, 3, 2, 1]
    assert await store.get_persona_version(1) == v1


async def test_an_offset_no_page_may_report_is_kept_as_not_measured(store: Store) -> None:
    # The protocol refuses these; a store called with one anyway keeps none of it, so the
    # period's percentiles and the conversation view never show NaN, infinity or 1e300.
    await store.start_conversation("c1", "u1", T0, None)
    hostile = (math.nan, math.inf, -1e300, 1_000.5)
    for n, offset in enumerate(hostile):
        assert await store.append_turn("c1", turn(n))
        assert await store.record_playback("c1", n, f"answer {n}", offset)
    assert await store.append_turn("c1", turn(len(hostile)))
    assert await store.record_playback("c1", len(hostile), "answer", -1_000.0)  # the bound
    assert await store.av_offset(DAY, DAY) == AvOffset(answers=1, p50_ms=-1000.0, p95_ms=-1000.0)
    turns = await store.get_turns("c1")
    assert [t.av_offset_ms for t in turns] == [None] * len(hostile) + [-1000.0]
    assert [t.heard_text for t in turns][:2] == ["answer 0", "answer 1"]
