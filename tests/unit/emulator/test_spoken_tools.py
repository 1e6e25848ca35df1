"""Spoken requests for a session's own tools, through the streaming recognition path.

Each request is espeak-ng speech streamed as the emulator receives it (VAD -> 20 ms chunks
-> transcriber biased toward the script and the declared tools), and the brain decides on
the final transcript exactly as a session does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from liveavatar.emulator.brain import Brain, CallTool
from liveavatar.emulator.resumption import Conversation, Turn
from liveavatar.emulator.script import DEFAULT_SCRIPT
from liveavatar.emulator.stt import RecognizerPool
from liveavatar.emulator.wire import FunctionDeclaration
from tests.support.speech import silence, synthesize_pcm16
from tests.unit.emulator.test_stt import ACCEPTANCE_PHRASES, SCRIPT, Heard, stream

WEATHER = FunctionDeclaration(
    name="get_weather",
    description="Get the current weather for a city",
    parameters={
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}},
        "required": ["city"],
    },
)
TIMER = FunctionDeclaration(
    name="set_timer",
    description="Start a countdown timer",
    parameters={
        "type": "OBJECT",
        "properties": {"minutes": {"type": "INTEGER", "description": "How many minutes"}},
        "required": ["minutes"],
    },
)
ORDER = FunctionDeclaration(
    name="lookup_order",
    description="Look up a customer's latest order",
    parameters={
        "type": "OBJECT",
        "properties": {
            "customer_name": {"type": "STRING", "description": "The customer's first name"}
        },
        "required": ["customer_name"],
    },
)
TOOLS = [WEATHER, TIMER, ORDER]

# (what is said, the argument the call must carry), ten per tool, phrased as people ask.
REQUESTS: dict[str, tuple[str, list[tuple[str, Any]]]] = {
    "get_weather": (
        "city",
        [
            ("what is the weather like in paris", "paris"),
            ("what's the weather in london", "london"),
            ("how is the weather in tokyo today", "tokyo"),
            ("tell me the weather for berlin", "berlin"),
            ("what is the weather in new york", "new york"),
            ("can you check the weather in madrid", "madrid"),
            ("weather in sydney please", "sydney"),
            ("what's the current weather in chicago", "chicago"),
            ("i'd like to know the weather in rome", "rome"),
            ("get the weather for san francisco", "san francisco"),
        ],
    ),
    "set_timer": (
        "minutes",
        [
            ("set a timer for five minutes", 5),
            ("start a timer for ten minutes", 10),
            ("set a timer for twenty five minutes", 25),
            ("can you set a timer for forty minutes", 40),
            ("set a fifteen minute timer", 15),
            ("please start a countdown timer for eight minutes", 8),
            ("set the timer for twelve minutes", 12),
            ("start a two minute timer", 2),
            ("timer for three minutes please", 3),
            ("i need a timer for thirty minutes", 30),
        ],
    ),
    "lookup_order": (
        "customer_name",
        [
            ("look up the order for maria", "maria"),
            ("look up the latest order for david", "david"),
            ("find the order for sarah", "sarah"),
            ("can you look up james's order", "james"),
            ("look up an order for a customer named emily", "emily"),
            ("check the order for michael", "michael"),
            ("look up the order of customer anna", "anna"),
            ("show me the latest order for robert", "robert"),
            ("find linda's order", "linda"),
            ("please look up the order for thomas", "thomas"),
        ],
    ),
}
# Klatt voices: espeak's default formant voices ("en-us", "en-us+m3") are far from what
# pocketsphinx's acoustic model was trained on; even script phrases get 5/10 in them.
VOICES = [("en-us+klatt4", 160), ("en-us+klatt", 175)]
# Ordinary speech, some of it near the tools' words, that must not call anything.
EVERYDAY = [
    "the quick brown fox jumps over the lazy dog",
    "i went to the store yesterday",
    "my favorite color is blue",
    "please call my mother tonight",
    "it is a beautiful day outside",
    "how many people live in tokyo",
    "the train to london leaves at five",
    "tell me a joke",
    "what time is it",
    "good morning",
]


@pytest.fixture(scope="module")
def pool() -> Iterator[RecognizerPool]:
    recognizers = RecognizerPool(max_decoders=1)
    recognizers.warm_up()
    yield recognizers
    recognizers.close()


def hear(pool: RecognizerPool, text: str, voice: str, speed: int) -> Heard:
    brain = Brain(DEFAULT_SCRIPT)
    transcriber = pool.transcriber(brain.phrases(TOOLS))
    try:
        speech = synthesize_pcm16(text, voice=voice, speed=speed)
        (heard,) = stream(transcriber, silence(1000) + speech + silence(1000))
    finally:
        transcriber.close()
    return heard


def decide(text: str) -> Any:
    conversation = Conversation("m", "", [Turn("user", text)])
    return Brain(DEFAULT_SCRIPT).decide(text, conversation, TOOLS, None)


@pytest.mark.slow
@pytest.mark.parametrize(("voice", "speed"), VOICES, ids=[v for v, _ in VOICES])
@pytest.mark.parametrize("tool", list(REQUESTS))
def test_spoken_requests_call_the_declared_tool_with_the_argument_heard(
    pool: RecognizerPool, tool: str, voice: str, speed: int
) -> None:
    param, requests = REQUESTS[tool]
    report, right, consistent = {}, 0, 0
    for text, value in requests:
        heard = hear(pool, text, voice, speed)
        decision = decide(heard.final)
        call = decision.call if isinstance(decision, CallTool) else None
        report[text] = (heard.partial, heard.final, call)
        right += call is not None and call.name == tool and call.args.get(param) == value
        # The words sent as they became stable usually add up to the final text; when the
        # decoder's last pass changes its mind they cannot be taken back.
        consistent += heard.concatenated == heard.final
    assert right >= 9, report
    assert consistent >= 8, report


@pytest.mark.slow
def test_everyday_speech_calls_no_tool(pool: RecognizerPool) -> None:
    heard = {text: hear(pool, text, "en-us+klatt4", 160).final for text in EVERYDAY}
    called = {t: h for t, h in heard.items() if isinstance(decide(h), CallTool)}
    assert not called, heard


@pytest.mark.slow
def test_script_phrases_are_still_heard_exactly_with_tools_declared(pool: RecognizerPool) -> None:
    # The backend's own tools too: a session always declares them.
    tools = [
        *TOOLS,
        FunctionDeclaration(name="get_current_time", description="Get the current date and time"),
        FunctionDeclaration(
            name="lookup_knowledge",
            description="Search the product knowledge base for facts",
            parameters={"type": "object", "properties": {"query": {"type": "string"}}},
        ),
    ]
    phrases = [*SCRIPT, *Brain(DEFAULT_SCRIPT).phrases(tools)[len(DEFAULT_SCRIPT.phrases()) :]]
    results = {}
    for text in ACCEPTANCE_PHRASES:
        transcriber = pool.transcriber(phrases)
        try:
            pcm = silence(1000) + synthesize_pcm16(text) + silence(1000)
            (results[text],) = stream(transcriber, pcm)
        finally:
            transcriber.close()
    exact = [t for t, h in results.items() if h.final == t and h.concatenated == t]
    assert len(exact) >= 9, {t: h.final for t, h in results.items()}
