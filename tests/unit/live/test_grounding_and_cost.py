"""A grounded answer's sources, thoughts and usage by modality, from the wire to what the
page is sent and what is recorded.

Wire messages go through the raw client's translator (the SDK path yields the same events:
test_parity.py) into the bridge's `LiveEvents` with a price table, as in a session.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from liveavatar.bridge.turns import sources_message
from liveavatar.live.events import Source, Usage
from liveavatar.live.pricing import ModelPrices, PriceTable
from liveavatar.protocol import MAX_SOURCE_TITLE_CHARS, MAX_SOURCES

from .test_usage_attribution import DONE, SPOKEN, TURN_END, Session

PRICES = PriceTable(
    {
        "gemini-3.8-live": ModelPrices(
            input_text=1, input_audio=10, input_video=100, output_text=1000, output_audio=10_000
        )
    }
)
GROUNDING = {
    "webSearchQueries": ["eiffel tower height"],
    "groundingChunks": [
        {
            "web": {
                "uri": "https://en.wikipedia.org/wiki/Eiffel_Tower",
                "title": "Eiffel Tower - Wikipedia",
                "domain": "wikipedia.org",
            }
        }
    ],
}
MORE_GROUNDING = {
    "webSearchQueries": ["eiffel tower height", "eiffel tower metres"],
    "groundingChunks": [
        {"web": {"uri": "https://en.wikipedia.org/wiki/Eiffel_Tower", "title": "again"}},
        {"web": {"uri": "https://www.toureiffel.paris/en", "title": "Official site"}},
    ],
}
USAGE = {
    "usageMetadata": {
        "promptTokenCount": 300,
        "responseTokenCount": 50,
        "thoughtsTokenCount": 40,
        "toolUsePromptTokenCount": 20,
        "totalTokenCount": 410,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 100},
            {"modality": "AUDIO", "tokenCount": 200},
        ],
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 50}],
    }
}
# 100 text + 200 audio in, 50 audio out, 40 thoughts (output text), 20 tool-use (input text)
COST = (100 * 1 + 200 * 10 + 50 * 10_000 + 40 * 1000 + 20 * 1) / 1e6


def session() -> Session:
    s = Session()
    s.events._turns.price = functools.partial(PRICES.cost, "gemini-3.8-live")
    return s


def sent(s: Session) -> list[dict[str, Any]]:
    return [json.loads(m) for m in s.outbox._control]


def sc(**fields: Any) -> dict[str, Any]:
    return {"serverContent": fields}


def test_sources_are_held_until_the_turn_ends_then_sent_and_recorded() -> None:
    s = session()
    s.wire(
        SPOKEN,
        sc(groundingMetadata=GROUNDING),  # alone, before the answer
        sc(outputTranscription={"text": "About 330 metres."}, groundingMetadata=MORE_GROUNDING),
    )
    assert not any(m["type"] == "sources" for m in sent(s))  # held
    s.wire(DONE, {**TURN_END, **USAGE})
    kinds = [(m["type"], m.get("role"), m.get("final")) for m in sent(s)]
    final_model = kinds.index(("transcript", "model", True))
    assert kinds[final_model + 1 :] == [
        ("sources", None, None),
        ("turn_complete", None, None),
        ("metrics", None, None),
    ]
    (message,) = [m for m in sent(s) if m["type"] == "sources"]
    assert message == {
        "type": "sources",
        "turn": 1,
        "sources": [
            {
                "title": "Eiffel Tower - Wikipedia",
                "uri": "https://en.wikipedia.org/wiki/Eiffel_Tower",
                "domain": "wikipedia.org",
            },
            {"title": "Official site", "uri": "https://www.toureiffel.paris/en", "domain": ""},
        ],
        "queries": ["eiffel tower height", "eiffel tower metres"],
    }
    (done,) = s.recorded
    assert [x.uri for x in done.sources] == [x["uri"] for x in message["sources"]]
    assert done.queries == ("eiffel tower height", "eiffel tower metres")
    # The next answer is not grounded: no sources are sent or recorded for it.
    s.wire(SPOKEN, sc(outputTranscription={"text": "Hi."}), {**TURN_END, **USAGE})
    assert [m["turn"] for m in sent(s) if m["type"] == "sources"] == [1]
    assert s.recorded[1].sources == () and s.recorded[1].queries == ()


def test_an_interrupted_grounded_answer_keeps_its_sources() -> None:
    s = session()
    s.wire(SPOKEN, sc(groundingMetadata=GROUNDING, outputTranscription={"text": "About"}))
    s.wire(sc(interrupted=True), TURN_END)
    assert [m["turn"] for m in sent(s) if m["type"] == "sources"] == [1]
    s.wire(SPOKEN)  # the next turn begins: the first is recorded without usage
    assert s.recorded[0].interrupted and len(s.recorded[0].sources) == 1


def test_thoughts_are_neither_spoken_nor_transcribed() -> None:
    s = session()
    thought = {"text": "The user wants the height; search for it.", "thought": True}
    s.wire(SPOKEN, sc(modelTurn={"parts": [thought]}), sc(outputTranscription={"text": "330 m."}))
    s.wire({**TURN_END, **USAGE})
    model = [m["text"] for m in sent(s) if m["type"] == "transcript" and m["role"] == "model"]
    assert model and all("search" not in text for text in model)
    assert s.outbox._audio_bytes == 0  # nothing spoken either
    assert s.recorded[0].model_text == "330 m."


def test_usage_by_modality_and_cost_reach_the_page_and_the_record() -> None:
    s = session()
    s.wire(SPOKEN, sc(outputTranscription={"text": "Hello."}), {**TURN_END, **USAGE})
    (metrics,) = [m for m in sent(s) if m["type"] == "metrics"]
    assert {k: v for k, v in metrics.items() if k.endswith("_tokens")} == {
        "prompt_tokens": 300,
        "response_tokens": 50,
        "total_tokens": 410,
        "input_text_tokens": 100,
        "input_audio_tokens": 200,
        "input_video_tokens": 0,
        "output_text_tokens": 0,
        "output_audio_tokens": 50,
        "thoughts_tokens": 40,
        "tool_use_prompt_tokens": 20,
    }
    assert metrics["cost_usd"] == COST
    assert s.recorded[0].cost_usd == COST
    assert s.recorded[0].usage == Usage(
        300, 50, 410, 100, 200, 0, 0, 50, thoughts_tokens=40, tool_use_prompt_tokens=20
    )
    sample = s.metrics.registry.get_sample_value
    assert sample("liveavatar_estimated_cost_usd_total") == COST
    assert sample("liveavatar_tokens_total", {"direction": "thoughts"}) == 40


def test_a_late_usage_report_is_priced_when_it_comes() -> None:
    s = session()
    s.wire(SPOKEN, sc(outputTranscription={"text": "Hello."}), TURN_END)
    first = [m for m in sent(s) if m["type"] == "metrics"]
    assert [m["cost_usd"] for m in first] == [0.0]
    s.wire(USAGE)
    again = [m for m in sent(s) if m["type"] == "metrics"]
    assert [m["cost_usd"] for m in again] == [0.0, COST]  # the later replaces the earlier
    assert s.recorded[0].cost_usd == COST


def test_the_sources_message_stays_within_the_protocol_bounds() -> None:
    long_uri = "https://example.org/" + "a" * 3000
    many = [Source(f"Page {n}", f"https://example.org/{n}") for n in range(15)]
    message = sources_message(
        3, [Source("x" * 1000, long_uri), Source("t" * 1000, "https://ok.example/")] + many, ["q"]
    )
    assert message.sources[0].uri == "https://ok.example/"  # the uncuttable URI left out
    assert len(message.sources[0].title) == MAX_SOURCE_TITLE_CHARS
    assert message.sources[0].title.endswith("…")
    assert len(message.sources) == MAX_SOURCES
