"""The emulator's search fixture and grounding metadata, its usage reports by modality,
its thoughts, and what a resumed conversation keeps of the context's token count."""

from __future__ import annotations

import pytest

from liveavatar.emulator import outbound
from liveavatar.emulator.brain import CallTool, Speak
from liveavatar.emulator.prelude import prelude
from liveavatar.emulator.resumption import Conversation, ResumptionStore, Turn
from liveavatar.emulator.search import FIXTURE, Entry, Fixture, Page, SearchIndex
from liveavatar.emulator.toolmatch import PlannedCall
from liveavatar.emulator.usage import Reply, report, text_tokens, thought
from liveavatar.live.events import Grounding, Source
from liveavatar.live.raw import translate_json


def test_the_packaged_fixture_answers_its_questions_and_nothing_else() -> None:
    index = SearchIndex.load()
    assert FIXTURE.name == "grounding.json"
    found = index.answer("Hey, how tall is the Eiffel Tower?")
    assert found is not None and found.text.startswith("The Eiffel Tower is about 330 metres")
    assert index.answer("who wrote pride and prejudice") is not None
    assert index.answer("tell me a joke") is None
    assert index.answer("") is None


def test_the_longest_matching_pattern_wins() -> None:
    page = Page(title="P", uri="https://p.example/")
    index = SearchIndex(
        Fixture(
            entries=[
                Entry(patterns=["capital"], answer="short", queries=["q"], sources=[page]),
                Entry(
                    patterns=["capital of australia"], answer="long", queries=["q"], sources=[page]
                ),
            ]
        )
    )
    found = index.answer("what is the capital of australia")
    assert found is not None and found.text == "long"


def test_grounding_metadata_has_the_service_shape_and_reads_as_sources() -> None:
    found = SearchIndex.load().answer("how tall is the eiffel tower")
    assert found is not None
    meta = found.metadata
    assert meta["webSearchQueries"] == ["eiffel tower height"]
    assert "<a class=" in meta["searchEntryPoint"]["renderedContent"]
    (support,) = meta["groundingSupports"]
    assert support["segment"]["text"] == found.text
    assert support["segment"]["endIndex"] == len(found.text.encode())
    assert support["groundingChunkIndices"] == [0, 1]
    # What a client makes of it (both Live clients agree: test_parity.py).
    (event,) = translate_json(outbound.grounding(meta), vertex=False)
    assert event == Grounding(
        (
            Source(
                "Eiffel Tower - Wikipedia",
                "https://en.wikipedia.org/wiki/Eiffel_Tower",
                "wikipedia.org",
            ),
            Source(
                "The Eiffel Tower in figures",
                "https://www.toureiffel.paris/en/the-monument/key-figures",
                "toureiffel.paris",
            ),
        ),
        ("eiffel tower height",),
    )
    assert found.tool_use_tokens > 0


def test_search_queries_in_the_entry_point_are_escaped() -> None:
    page = Page(title="P", uri="https://p.example/")
    entry = Entry(patterns=["x"], answer="a", queries=['<b>"x" & y</b>'], sources=[page])
    index = SearchIndex(Fixture(entries=[entry]))
    found = index.answer("x")
    assert found is not None
    html = found.metadata["searchEntryPoint"]["renderedContent"]
    assert "<b>" not in html and "&lt;b&gt;" in html and "q=%3Cb%3E" in html


def conversation() -> Conversation:
    return Conversation(
        "gemini-3.8-live",
        "You are Ava, a friendly avatar.",  # 6 words: 8 text tokens
        [
            Turn("user", "what time is it", 1.5),  # spoken: 48 audio tokens
            Turn("model", "It is noon.", 1.0),  # spoken reply: 32 audio tokens
            Turn("user", "tell me a joke please"),  # typed: 5 words, 6 text tokens
        ],
        frames=2,
    )


def test_the_prompt_recounts_the_context_by_modality() -> None:
    usage = report("gemini", conversation(), Reply(audio_s=2.0), unheard_audio_s=0.5)
    assert usage["promptTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": 8 + 6},
        {"modality": "AUDIO", "tokenCount": 48 + 32 + 16},
        {"modality": "IMAGE", "tokenCount": 2 * 258},
    ]
    assert usage["promptTokenCount"] == 14 + 96 + 516
    assert usage["responseTokensDetails"] == [{"modality": "AUDIO", "tokenCount": 64}]
    assert usage["responseTokenCount"] == 64
    assert usage["totalTokenCount"] == 14 + 96 + 516 + 64
    assert "thoughtsTokenCount" not in usage and "toolUsePromptTokenCount" not in usage


def test_thoughts_search_and_text_replies_are_counted_apart() -> None:
    reply = Reply(text="Canberra is the capital.", thoughts=thought("capital"), tool_use_tokens=90)
    usage = report("vertex", Conversation("m"), reply)
    assert usage["candidatesTokensDetails"] == [{"modality": "TEXT", "tokenCount": 5}]
    assert "responseTokenCount" not in usage and usage["candidatesTokenCount"] == 5
    assert usage["thoughtsTokenCount"] == text_tokens(reply.thoughts) > 0
    assert usage["toolUsePromptTokenCount"] == 90
    assert usage["toolUsePromptTokensDetails"] == [{"modality": "TEXT", "tokenCount": 90}]
    assert usage["totalTokenCount"] == 5 + usage["thoughtsTokenCount"] + 90
    assert usage["promptTokensDetails"] == []  # nothing in the context yet


def test_a_resumed_conversation_keeps_what_its_context_counts() -> None:
    store = ResumptionStore()
    handle = store.issue(conversation())
    restored = store.restore(handle)
    assert restored is not None
    assert report("gemini", restored, Reply()) == report("gemini", conversation(), Reply())


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []

    async def __call__(self, message: dict[str, object]) -> None:
        self.messages.append(message)


async def test_the_prelude_thinks_first_then_grounds() -> None:
    found = SearchIndex.load().answer("what is the speed of light")
    assert found is not None
    sent = Sent()
    conv = conversation()
    decision, reply = await prelude(sent, found, conv, thinks=True)
    assert decision == Speak(found.text)
    assert [next(iter(m["serverContent"])) for m in sent.messages] == [  # type: ignore[call-overload]
        "modelTurn",
        "groundingMetadata",
    ]
    assert sent.messages[0] == outbound.thought(thought("tell me a joke please"))
    assert reply.thoughts and reply.tool_use_tokens == found.tool_use_tokens
    # Nothing before an ordinary reply of a model that does not think.
    quiet = Sent()
    call = CallTool(PlannedCall("f", {}, True), None)
    assert await prelude(quiet, call, conv, thinks=False) == (call, Reply())
    assert quiet.messages == []


@pytest.mark.parametrize("heard", ["", "what is the speed of light"])
def test_a_thought_never_repeats_a_reply(heard: str) -> None:
    text = thought(heard)
    assert text.startswith("Thinking it over") and "." in text
