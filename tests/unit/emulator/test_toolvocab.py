"""What declared tools sound like: slot kinds, value classes, bias phrases, argument values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from liveavatar.emulator.biaslm import CMUDICT, _normalise
from liveavatar.emulator.phrases import (
    Lexicon,
    PhraseSet,
    Segment,
    ValueClass,
    second_opinion,
    tokenize,
)
from liveavatar.emulator.toolmatch import fill_args, match_function
from liveavatar.emulator.toolvocab import (
    CITY,
    NUMBER,
    PERSON,
    find_members,
    numbers_in,
    phrases_for,
    slot_kind,
    value_classes,
)
from liveavatar.emulator.wire import FunctionDeclaration


def declare(name: str, description: str, **params: Any) -> FunctionDeclaration:
    return FunctionDeclaration(
        name=name,
        description=description,
        parameters={"type": "OBJECT", "properties": params, "required": list(params)},
    )


WEATHER = declare("get_weather", "Get the current weather for a city", city={"type": "STRING"})
TIMER = declare("set_timer", "Start a countdown timer", minutes={"type": "INTEGER"})
ORDER = declare(
    "lookup_order", "Look up a customer's latest order", customer_name={"type": "STRING"}
)
LIGHTS = declare(
    "set_lights",
    "Turn the lights in a room on or off",
    room={"type": "STRING", "enum": ["KITCHEN", "LIVING_ROOM"]},
)
MEETING = declare("book_meeting", "Book a meeting", day={"type": "STRING"})


@pytest.mark.parametrize(
    ("name", "schema", "kind"),
    [
        ("city", {"type": "STRING"}, "city"),
        ("destination", {"type": "string"}, "city"),
        ("city_name", {"type": "STRING"}, "city"),  # the name's own word decides first
        ("customer_name", {"type": "STRING"}, "person"),
        ("q", {"type": "STRING", "description": "The person to call"}, "person"),
        ("when", {"type": "STRING"}, "date"),
        ("start", {"type": "STRING", "format": "date"}, "date"),
        ("minutes", {"type": "INTEGER"}, "number"),
        ("amount", {"type": ["number", "null"]}, "number"),
        ("on", {"type": "BOOLEAN"}, "boolean"),
        ("room", {"type": "STRING", "enum": ["a", "b"]}, "enum"),
        ("query", {"type": "STRING"}, "text"),
        ("tags", {"type": "ARRAY"}, "text"),
    ],
)
def test_slot_kind_from_type_name_and_description(
    name: str, schema: dict[str, Any], kind: str
) -> None:
    assert slot_kind(name, schema) == kind


def test_value_classes_are_disjoint_and_hold_multi_word_members() -> None:
    classes = value_classes()
    members = [m for ms in classes.values() for m in ms]
    assert len(members) == len(set(members))
    assert ("new", "york") in classes[CITY]
    assert ("twenty", "five") in classes[NUMBER]
    assert ("emily",) in classes[PERSON]
    # Every member can be pronounced with the bundled dictionary.
    lexicon = Lexicon(CMUDICT)
    assert all(lexicon.pronounce(w) for ms in classes.values() for m in ms for w in m)


@pytest.mark.parametrize(
    ("said", "numbers"),
    [
        ("set a timer for twenty five minutes", [(4, 6, 25)]),
        ("a hundred and ten", [(0, 4, 110)]),
        ("two thousand and twenty six", [(0, 5, 2026)]),
        ("one hundred twenty", [(0, 3, 120)]),
        ("42 people and eight more", [(0, 1, 42), (3, 4, 8)]),
        ("the seventh", []),
    ],
)
def test_spoken_numbers(said: str, numbers: list[tuple[int, int, int]]) -> None:
    assert numbers_in(said.split()) == numbers


def test_members_found_through_possessives_and_plurals() -> None:
    assert find_members("what did roberts order for james's mum".split(), PERSON) == [
        (2, 3, "robert"),
        (5, 6, "james"),
    ]
    assert find_members("weather in new york and paris".split(), CITY) == [
        (2, 4, "new york"),
        (5, 6, "paris"),
    ]


def test_bias_phrases_say_the_request_with_value_slots() -> None:
    weather, timer, order = phrases_for([WEATHER, TIMER, ORDER])
    assert "what is the weather like in [city]" in weather
    assert "get the current weather for [city]" in weather  # the description's wording
    assert "set a timer for [number] minutes" in timer
    assert "set a [number] minute timer" in timer
    assert "look up [persons] order" in order
    assert "order for a customer named [person]" in order
    # Cached per declaration: the same tuple comes back.
    assert phrases_for([WEATHER])[0] is weather


def test_enum_values_and_dates_are_phrases_too() -> None:
    (lights,) = phrases_for([LIGHTS])
    assert "lights to living room" in lights
    (meeting,) = phrases_for([MEETING])
    assert "meeting on [weekday]" in meeting
    assert "meeting on [month] [ordinal]" in meeting


@pytest.mark.parametrize(
    ("heard", "call"),
    [
        ("what is the weather like in new york", ("get_weather", {"city": "new york"})),
        ("weather in sydney please", ("get_weather", {"city": "sydney"})),
        ("how is the weather in tokyo today", ("get_weather", {"city": "tokyo"})),
        ("weather in springfield", ("get_weather", {"city": "springfield"})),  # not listed
        ("set a timer for twenty five minutes", ("set_timer", {"minutes": 25})),
        ("start a fifteen minute timer", ("set_timer", {"minutes": 15})),
        ("can you look up james's order", ("lookup_order", {"customer_name": "james"})),
        (
            "look up the order for a customer named emily",
            ("lookup_order", {"customer_name": "emily"}),
        ),
        ("turn on the living room lights", ("set_lights", {"room": "LIVING_ROOM"})),
        ("book a meeting for next friday", ("book_meeting", {"day": "next friday"})),
        ("book a meeting on march third", ("book_meeting", {"day": "march third"})),
        ("book a meeting on the fifth of june", ("book_meeting", {"day": "the fifth of june"})),
    ],
)
def test_arguments_come_from_the_words_heard(heard: str, call: tuple[str, dict[str, Any]]) -> None:
    planned = match_function(heard, [WEATHER, TIMER, ORDER, LIGHTS, MEETING])
    assert planned is not None
    assert (planned.name, planned.args) == call


@pytest.mark.parametrize(
    "heard",
    ["i think the weather is nice", "my timer broke this morning", "tell me a joke"],
)
def test_mentioning_a_tool_without_giving_its_arguments_calls_nothing(heard: str) -> None:
    assert match_function(heard, [WEATHER, TIMER, ORDER]) is None


def test_optional_arguments_still_default_when_absent() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert fill_args(["hello"], schema) == {"n": 0}


SLOTTED = PhraseSet(
    "k",
    (("what", "is", "the", "weather", "in", CITY), ("can", "you"), ("hello", "there")),
    Path("unused.arpa"),
    Path("unused.dict"),
    {CITY: ValueClass(frozenset({("paris",), ("new", "york")}))},
)


def test_phrase_sets_match_value_slots() -> None:
    assert SLOTTED.is_sequence("what is the weather in new york".split())
    assert SLOTTED.is_sequence("can you what is the weather in paris".split())
    assert not SLOTTED.is_sequence("what is the weather in london".split())
    assert SLOTTED.is_prefix("what is the weather in new".split())
    assert not SLOTTED.is_prefix("what is the weather in old".split())
    assert SLOTTED.coverage("what do what is the weather in paris".split()) == (0.75, (2, 8))
    assert SLOTTED.coverage("hello there".split()) == (1.0, None)
    assert {"paris", "new", "york"} <= SLOTTED.held_back


def test_the_big_lm_settles_a_value_it_heard_in_the_same_frames() -> None:
    numbers = {NUMBER: ValueClass(frozenset({("fifty",), ("fifteen",), ("two",), ("twelve",)}))}
    small = [Segment("set", 3, 30), Segment("a", 31, 38), Segment("fifty", 39, 85)]
    big = [Segment("sets", 3, 30), Segment("of", 31, 40), Segment("fifteen", 41, 85)]
    assert second_opinion(small, big, numbers) == ["set", "a", "fifteen"]
    # A big-LM word straddling the value is no second opinion.
    small = [Segment("for", 0, 20), Segment("twelve", 21, 60)]
    big = [Segment("for", 0, 20), Segment("two", 21, 38), Segment("elites", 39, 80)]
    assert second_opinion(small, big, numbers) is None


def test_normalising_weighs_groups_and_turns_class_members_into_slots() -> None:
    lexicon = Lexicon(CMUDICT)
    normal = dict(
        _normalise(
            ["set a timer for five minutes", ("timer for [number] minutes", "set timer")],
            lexicon,
        )
    )
    # "five" belongs to [number], which the group uses: the script line gets the slot.
    assert normal == {
        tuple("set a timer for [number] minutes".split()): 1.0,
        tuple("timer for [number] minutes".split()): 0.5,
        ("set", "timer"): 0.5,
    }
    assert tokenize("weather in [city]!") == ["weather", "in", "[city]"]
