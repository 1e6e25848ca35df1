"""Through the real backend and emulator: a search-grounded answer's sources reach the
page and the store; usage by modality and its estimated cost reach the page, the turn,
the conversation, the day and the user's day; a cost quota ends a session with 4430; the
extended-thinking model's thoughts are neither spoken nor transcribed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from liveavatar.auth import AnonymousVerifier
from liveavatar.emulator.server import EmulatorServer
from liveavatar.live.events import Usage
from liveavatar.live.pricing import PriceTable
from liveavatar.store import Conversation, PersonaConfig
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.support.browser import BrowserLog, browser, count, stream_speech

from .test_session_endings import _sessions_ended

EIFFEL = "The Eiffel Tower is about 330 metres tall, antennas included."
EIFFEL_PAGES = [
    {
        "title": "Eiffel Tower - Wikipedia",
        "uri": "https://en.wikipedia.org/wiki/Eiffel_Tower",
        "domain": "wikipedia.org",
    },
    {
        "title": "The Eiffel Tower in figures",
        "uri": "https://www.toureiffel.paris/en/the-monument/key-figures",
        "domain": "toureiffel.paris",
    },
]
MODALITIES = (
    "input_text_tokens",
    "input_audio_tokens",
    "input_video_tokens",
    "output_text_tokens",
    "output_audio_tokens",
    "thoughts_tokens",
    "tool_use_prompt_tokens",
)


async def with_persona(backend: Backend, **persona: Any) -> None:
    """Save the persona the next session uses (the settings' cache is 0 s)."""
    fields: dict[str, Any] = {
        "name": "Ava",
        "model": "gemini-3.8-live",
        "voice": "Puck",
        "system_instruction": "You are Ava, a friendly and concise talking avatar.",
        "tools": [],
        **persona,
    }
    await backend.state.store.put_persona(PersonaConfig(**fields), expected_version=None)


async def ask(backend: Backend, *questions: str) -> tuple[BrowserLog, str]:
    """Type each question in turn, each answered before the next; the session's id once
    the session has ended on the backend (its turns stored)."""
    async with browser(backend.ws_url) as (ws, log):
        for n, question in enumerate(questions, 1):
            await ws.send(json.dumps({"type": "text", "text": question}))
            await log.wait_for(lambda log, n=n: count("metrics")(log) >= n)  # type: ignore[misc]
        session_id = log.messages("ready")[0]["session_id"]
    await _sessions_ended(backend.state)
    return log, str(session_id)


async def stored(backend: Backend, session_id: str) -> Conversation:
    conv = await backend.state.store.get_conversation(session_id)
    assert conv is not None
    return conv


@pytest.mark.parametrize("client", ["raw", "picows", "sdk"])
async def test_a_grounded_answer_shows_and_stores_its_sources(
    emulator: EmulatorServer, start_backend: StartBackend, client: str
) -> None:
    backend = await start_backend(backend_settings(emulator, persona_cache_s=0, live_client=client))
    await with_persona(backend, google_search=True)
    log, session_id = await ask(backend, "how tall is the eiffel tower", "tell me a joke")
    assert log.final("model")[0] == EIFFEL
    # One `sources` message, for the grounded turn only: after its answer's final
    # transcript, before its turn_complete.
    (sources,) = log.messages("sources")
    assert sources == {
        "type": "sources",
        "turn": 1,
        "sources": EIFFEL_PAGES,
        "queries": ["eiffel tower height"],
    }
    kinds = [(m["type"], m.get("role"), m.get("final"), m.get("turn")) for m in log.messages()]
    at = kinds.index(("sources", None, None, 1))
    assert kinds[at - 1] == ("transcript", "model", True, 1)
    assert kinds[at + 1] == ("turn_complete", None, None, 1)
    # The search results the model read are counted as tool-use prompt.
    first, second = log.messages("metrics")
    assert first["tool_use_prompt_tokens"] > 0 and second["tool_use_prompt_tokens"] == 0
    conv = await stored(backend, session_id)
    model_lines = [m for m in conv.messages if m.role == "model"]
    assert [s.model_dump() for s in model_lines[0].sources] == EIFFEL_PAGES
    assert model_lines[1].sources == []


async def test_without_the_persona_flag_answers_are_not_grounded(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, persona_cache_s=0))
    await with_persona(backend, google_search=False)
    log, _ = await ask(backend, "how tall is the eiffel tower")
    assert log.messages("sources") == []
    assert log.final("model") != [EIFFEL]


def tokens(metrics: dict[str, Any]) -> Usage:
    return Usage(
        metrics["prompt_tokens"],
        metrics["response_tokens"],
        metrics["total_tokens"],
        **{k: metrics[k] for k in MODALITIES},
    )


async def test_usage_by_modality_and_cost_reach_the_page_and_the_store(
    backend: Backend,
) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await stream_speech(ws, "what is your name")
        await log.wait_for(lambda log: count("metrics")(log) >= 1)
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(lambda log: count("metrics")(log) >= 2)
        session_id = log.messages("ready")[0]["session_id"]
    await _sessions_ended(backend.state)
    spoken, typed = (tokens(m) for m in log.messages("metrics"))
    # Spoken in, spoken out.
    assert spoken.input_audio_tokens > 0 and spoken.output_audio_tokens > 0
    assert spoken.input_text_tokens > 0  # the system instruction
    assert spoken.output_text_tokens == spoken.thoughts_tokens == 0
    # The typed turn's prompt re-counts the context: the spoken question and answer as
    # audio, its own words as text.
    assert typed.input_audio_tokens >= spoken.input_audio_tokens + spoken.output_audio_tokens
    assert typed.input_text_tokens > spoken.input_text_tokens
    for usage in (spoken, typed):
        assert usage.prompt_tokens == (
            usage.input_text_tokens + usage.input_audio_tokens + usage.input_video_tokens
        )
    # The estimated cost at the default prices, on the page and in the store.
    prices = PriceTable()
    costs = [m["cost_usd"] for m in log.messages("metrics")]
    assert costs == [
        pytest.approx(prices.cost("gemini-3.8-live", u)) for u in (spoken, typed)
    ] and all(c > 0 for c in costs)
    conv = await stored(backend, session_id)
    for name in MODALITIES:
        assert getattr(conv.metrics, name) == getattr(spoken, name) + getattr(typed, name), name
    assert conv.metrics.cost_usd == pytest.approx(sum(costs))
    day = await backend.state.store.get_daily(conv.timestamp.date())
    assert day.input_audio_tokens == conv.metrics.input_audio_tokens
    assert day.cost_usd == pytest.approx(sum(costs))
    uid = (await AnonymousVerifier().verify(None, client_ip="127.0.0.1")).uid
    today = dt.datetime.now(dt.UTC).date()
    assert await backend.state.store.get_cost(uid, today) == pytest.approx(sum(costs))


async def test_a_cost_quota_ends_the_session_with_4430(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    # A budget far below one turn's cost: the first answer is heard to its end, then the
    # session is cut, and the next one is refused at hello.
    backend = await start_backend(backend_settings(emulator, quota_cost_per_day=0.000001))
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(lambda log: log.close_code is not None)
    assert "scarecrow" in log.final("model")[0]
    assert count("turn_complete")(log) == 1
    error = log.messages("error")[-1]
    assert (error["code"], error["fatal"]) == ("quota_exceeded", True)
    assert "budget" in error["message"]
    assert log.close_code == 4430
    await _sessions_ended(backend.state)
    async with browser(backend.ws_url) as (_ws, again):
        await again.wait_for(lambda log: log.close_code is not None)
    assert again.messages("error")[0]["code"] == "quota_exceeded"
    assert again.close_code == 4430


async def test_the_extended_thinking_models_thoughts_are_counted_never_spoken(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, persona_cache_s=0))
    await with_persona(
        backend,
        model="gemini-3.8-live-extended-thinking",
        thinking_level="low",
        google_search=True,
    )
    log, session_id = await ask(backend, "what is the speed of light")
    assert log.final("model") == ["Light travels at 299,792,458 metres per second in a vacuum."]
    transcripts = " ".join(m["text"] for m in log.messages("transcript"))
    assert "Thinking it over" not in transcripts
    (metrics,) = log.messages("metrics")
    assert metrics["thoughts_tokens"] > 0
    assert log.messages("sources")[0]["queries"] == ["speed of light in vacuum"]
    conv = await stored(backend, session_id)
    assert conv.metrics.thoughts_tokens == metrics["thoughts_tokens"]
    assert "Thinking it over" not in " ".join(m.text for m in conv.messages)
