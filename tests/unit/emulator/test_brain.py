"""The deterministic brain: script rules, persona, tool matching and arguments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from liveavatar.bridge.greeting import greeting_request
from liveavatar.emulator.brain import Brain, CallTool, Speak, persona_name, quoted_request
from liveavatar.emulator.resumption import Conversation, Turn
from liveavatar.emulator.script import DEFAULT_SCRIPT, Rule, Script
from liveavatar.emulator.toolmatch import describe_result, fill_args, match_function
from liveavatar.emulator.wire import FunctionDeclaration

NOON = dt.datetime(2026, 11, 26, 15, 5, tzinfo=dt.UTC)


def brain(script: Script = DEFAULT_SCRIPT) -> Brain:
    return Brain(script, clock=lambda: NOON)


def say(
    utterance: str, instruction: str = "", functions: list[FunctionDeclaration] | None = None
) -> Any:
    conv = Conversation("m", instruction, [Turn("user", utterance)])
    return brain().decide(utterance, conv, functions or [], None)


@pytest.mark.parametrize(
    ("utterance", "reply"),
    [
        ("what time is it", "It is 3:05 PM."),
        ("what is the date", "Today is Thursday, November 26, 2026."),
        ("hello there", "Hello! I am Gemini. How can I help you today?"),
        (
            "tell me a joke",
            "Why did the scarecrow win an award? Because he was outstanding in his field.",
        ),
        ("the quick brown fox", "You said: the quick brown fox."),
        ("what do you see", "I do not see anything. No video is shared."),
    ],
)
def test_script_replies(utterance: str, reply: str) -> None:
    assert say(utterance) == Speak(reply)


@pytest.mark.parametrize(
    ("instruction", "name"),
    [
        ("You are Ava, a friendly avatar.", "Ava"),
        ("Your name is Max. Be brief.", "Max"),
        ("You are a helpful assistant named Iris.", "Iris"),
        ("You are a helpful assistant.", "Gemini"),
        ("", "Gemini"),
    ],
)
def test_persona_name(instruction: str, name: str) -> None:
    assert persona_name(instruction) == name


def test_user_script_replaces_the_default() -> None:
    script = Script(
        rules=[Rule(patterns=["open sesame"], reply="The door opens, {name}.")], fallback="Pardon?"
    )
    b = brain(script)
    conv = Conversation("m", "You are Ali.")
    assert b.decide("open sesame please", conv, [], None) == Speak("The door opens, Ali.")
    assert b.decide("hello", conv, [], None) == Speak("Pardon?")


WEATHER = FunctionDeclaration(
    name="get_current_weather",
    description="Get the current weather in a given city",
    parameters={
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING"},
            "days": {"type": "INTEGER"},
            "units": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)
MOOD = FunctionDeclaration(
    name="set_mood", description="Set the avatar mood", behavior="NON_BLOCKING"
)


def test_tool_is_called_with_args_from_the_utterance() -> None:
    decision = say(
        "what is the weather in london for three days in fahrenheit", functions=[WEATHER, MOOD]
    )
    assert isinstance(decision, CallTool)
    assert decision.call.name == "get_current_weather"
    assert decision.call.args == {"city": "london", "days": 3, "units": "fahrenheit"}
    assert decision.call.blocking


def test_city_after_preposition() -> None:
    call = match_function("what's the weather like in Paris", [WEATHER])
    assert call is not None
    assert call.args == {"city": "paris"}


def test_non_blocking_call_has_a_preface() -> None:
    decision = say("change your mood to happy", functions=[WEATHER, MOOD])
    assert isinstance(decision, CallTool)
    assert decision.call.name == "set_mood"
    assert not decision.call.blocking
    assert decision.preface


def test_unrelated_utterance_calls_nothing() -> None:
    assert match_function("tell me a joke", [WEATHER, MOOD]) is None
    assert match_function("set a timer for five minutes", [MOOD]) is None


def test_required_args_get_plausible_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "flag": {"type": "boolean"},
            "tags": {"type": "array"},
        },
        "required": ["n", "flag", "tags"],
    }
    assert fill_args(["hello"], schema) == {"n": 0, "flag": True, "tags": []}


@pytest.mark.parametrize(
    ("response", "sentence"),
    [
        ({"output": "sunny"}, "sunny."),
        ({"output": {"temperature": 21, "sky": "clear"}}, "temperature is 21, sky is clear."),
        ({"error": "no such city"}, "Sorry, that did not work: no such city."),
        ({"result": True}, "result is yes."),
        ({}, "Done."),
    ],
)
def test_describe_result(response: dict[str, Any], sentence: str) -> None:
    assert describe_result("f", response) == sentence


@pytest.mark.parametrize(
    ("utterance", "words"),
    [
        (
            greeting_request("Welcome! What time is it where you are?"),
            "Welcome! What time is it where you are?",
        ),
        (greeting_request('He said "hi" {name}'), 'He said "hi" {name}'),
        ("Please say exactly “Good evening.”", "Good evening."),
        ('SAY EXACTLY this: "ok"', "ok"),
    ],
)
def test_a_say_exactly_request_is_spoken_word_for_word(utterance: str, words: str) -> None:
    clock = FunctionDeclaration(name="get_current_time", description="The current time")
    decision = say(utterance, functions=[clock])  # not taken for a tool call or a rule
    assert decision == Speak(words, verbatim=True)
    assert quoted_request(utterance) == words


@pytest.mark.parametrize("utterance", ["say exactly nothing", "say hello", 'say exactly ""'])
def test_other_utterances_are_not_quoted_requests(utterance: str) -> None:
    assert quoted_request(utterance) is None
    assert not say(utterance).verbatim
