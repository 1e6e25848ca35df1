"""What a session's declared tools sound like: slot kinds, value classes and bias phrases.

Recognition leans toward a session's functions through phrases built here: carrier
sentences such as "what is the weather in [city]" or "set a timer for [number] minutes",
whose bracketed class tokens stand for every member of a value class (cities, first
names, numbers, weekdays, months, day ordinals). The recognizer turns the tokens into a
class language model; :mod:`toolmatch` reads argument values back out of what was heard
with the same classes, so what can be heard and what can be extracted stay in step.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from .phrases import spell_number
from .script import words
from .wire import FunctionDeclaration

SlotKind = Literal["enum", "number", "boolean", "city", "person", "date", "text"]

CITY, PERSON, POSSESSIVE, NUMBER = "[city]", "[person]", "[persons]", "[number]"
WEEKDAY, MONTH, ORDINAL = "[weekday]", "[month]", "[ordinal]"

_VALUES = Path(__file__).with_name("values")
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
# Round numbers above a hundred that people use for durations, amounts and counts.
_BIG_NUMBERS = (120, 150, 200, 250, 300, 400, 500, 600, 700, 800, 900, 1000)
RELATIVE_DAYS = ("today", "tomorrow", "tonight", "yesterday")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def name_words(name: str) -> list[str]:
    """`get_current_weather` / `getCurrentWeather` -> ["get", "current", "weather"]."""
    return words(_CAMEL.sub(" ", name).replace("_", " ").replace("-", " "))


def _read_list(name: str) -> list[tuple[str, ...]]:
    lines = (_VALUES / name).read_text(encoding="utf-8").splitlines()
    return [tuple(line.split()) for line in lines if line.strip() and not line.startswith("#")]


@functools.cache
def value_classes() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Class token -> its members, each a tuple of words. The classes are disjoint.

    Multi-word members ("new york", "twenty five") are single tokens to the recognizer,
    which is what lets "for twenty five minutes" be heard as one value.
    """
    numbers = [tuple(spell_number(n)) for n in [*range(101), *_BIG_NUMBERS]]
    numbers += [("a", "hundred"), ("a", "thousand")]
    ordinals: list[tuple[str, ...]] = [(w,) for w in _ORDINALS]
    ordinals += [(spell_number(tens)[0], o) for tens in (20, 30) for o in _ORDINALS[:9]]
    ordinals += [("thirtieth",)]
    raw: dict[str, list[tuple[str, ...]]] = {
        CITY: _read_list("cities.txt"),
        PERSON: _read_list("first_names.txt"),
        POSSESSIVE: [(f"{name}'s",) for (name, *_) in _read_list("first_names.txt")],
        NUMBER: numbers,
        WEEKDAY: [(w,) for w in _WEEKDAYS],
        MONTH: [(m,) for m in _MONTHS],
        ORDINAL: ordinals,
    }
    seen: set[tuple[str, ...]] = set()
    classes: dict[str, tuple[tuple[str, ...], ...]] = {}
    for token, members in raw.items():  # a word in two classes stays in the first only
        kept = [m for m in dict.fromkeys(members) if m not in seen]
        seen.update(kept)
        classes[token] = tuple(kept)
    return classes


def find_members(heard: Sequence[str], token: str) -> list[tuple[int, int, str]]:
    """(start, end, member) for each run of ``heard`` that is a member of class ``token``,
    longest first at each start, left to right. A possessive or plural "s" does not hide a
    member: "robert's order" and "roberts order" both hold "robert"."""
    members = set(value_classes()[token])
    plain = [w.removesuffix("'s") for w in heard]
    plain = [w[:-1] if w.endswith("s") and (w[:-1],) in members else w for w in plain]
    longest = max(map(len, members))
    found = []
    i = 0
    while i < len(plain):
        for n in range(min(longest, len(plain) - i), 0, -1):
            if tuple(plain[i : i + n]) in members:
                found.append((i, i + n, " ".join(plain[i : i + n])))
                i += n - 1
                break
        i += 1
    return found


_SMALL = {spell_number(n)[0]: n for n in range(20)}
_TENS = {spell_number(n)[0]: n for n in range(20, 100, 10)}


def _below_hundred(heard: Sequence[str], i: int) -> tuple[int, int] | None:
    word = heard[i] if i < len(heard) else ""
    if word in _TENS:
        unit = _SMALL.get(heard[i + 1], 0) if i + 1 < len(heard) else 0
        return (_TENS[word] + unit, i + 2) if 0 < unit < 10 else (_TENS[word], i + 1)
    return (_SMALL[word], i + 1) if word in _SMALL else None


def _below_thousand(heard: Sequence[str], i: int) -> tuple[int, int] | None:
    head = (1, i + 1) if heard[i : i + 2] == ["a", "hundred"] else _below_hundred(heard, i)
    if head is None or head[1] >= len(heard) or heard[head[1]] != "hundred":
        return head
    value, j = head[0] * 100, head[1] + 1
    rest = _below_hundred(heard, j + (j < len(heard) and heard[j] == "and"))
    return (value + rest[0], rest[1]) if rest else (value, j)


def number_at(heard: Sequence[str], i: int) -> tuple[int, int] | None:
    """The number spoken from ``heard[i]`` ("twenty five", "a hundred and ten", "42")
    and the index after it, or None."""
    if heard[i].isdigit():
        return int(heard[i]), i + 1
    heard = list(heard)
    head = (1, i + 1) if heard[i : i + 2] == ["a", "thousand"] else _below_thousand(heard, i)
    if head is None or head[1] >= len(heard) or heard[head[1]] != "thousand":
        return head
    rest_at = head[1] + 1
    rest_at += rest_at < len(heard) and heard[rest_at] == "and"
    rest = _below_thousand(heard, rest_at) if rest_at < len(heard) else None
    return (head[0] * 1000 + rest[0], rest[1]) if rest else (head[0] * 1000, head[1] + 1)


def numbers_in(heard: Sequence[str]) -> list[tuple[int, int, int]]:
    """(start, end, value) of every number spoken in ``heard``, left to right."""
    out, i = [], 0
    while i < len(heard):
        found = number_at(heard, i)
        if found is None:
            i += 1
        else:
            out.append((i, found[1], found[0]))
            i = found[1]
    return out


# ---- slot kinds ---------------------------------------------------------------------

_CITY_HINTS = frozenset("city town location place destination origin where locality".split())
_DATE_HINTS = frozenset("date day when weekday birthday deadline".split())
_PERSON_HINTS = frozenset(
    """name person customer contact user who recipient friend employee guest patient client
    owner author caller member""".split()
)


def schema_type(schema: dict[str, Any]) -> str:
    """The schema's type in lower case ("string" when absent; the first non-null of a list)."""
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "string")
    return str(kind).lower()


def slot_kind(pname: str, schema: dict[str, Any]) -> SlotKind:
    """What sort of value a parameter takes, from its type, enum, format, name, description.

    The parameter's own name decides before its description: `city_name` is a city even
    though "name" also hints at a person.
    """
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return "enum"
    kind = schema_type(schema)
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind != "string":
        return "text"
    if str(schema.get("format", "")).lower() in ("date", "date-time"):
        return "date"
    for hints in (name_words(pname), words(str(schema.get("description", "")))):
        for kind_, table in (
            ("city", _CITY_HINTS),
            ("date", _DATE_HINTS),
            ("person", _PERSON_HINTS),
        ):
            if table.intersection(hints):
                return kind_  # type: ignore[return-value]
    return "text"


def properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, schema) of each declared parameter; malformed entries get an empty schema."""
    props = schema.get("properties")
    if not isinstance(props, dict):
        return []
    return [(str(k), v if isinstance(v, dict) else {}) for k, v in props.items()]


# ---- bias phrases -------------------------------------------------------------------

# Spoken forms of a function name's leading verb: how people ask for that action.
_VERBS: dict[str, tuple[str, ...]] = {
    "get": ("get", "check", "show me", "tell me"),
    "fetch": ("get", "check", "show me"),
    "show": ("show me", "show", "get"),
    "check": ("check", "get"),
    "set": ("set", "start", "make"),
    "start": ("start", "set", "begin"),
    "create": ("create", "make", "add"),
    "add": ("add", "create"),
    "lookup": ("look up", "find", "check", "get"),
    "look": ("look up", "find", "check"),
    "find": ("find", "look up", "search for"),
    "search": ("search for", "find", "look up"),
    "play": ("play", "put on"),
    "turn": ("turn", "switch"),
    "book": ("book", "reserve"),
    "cancel": ("cancel", "stop"),
    "delete": ("delete", "remove"),
    "remove": ("remove", "delete"),
    "list": ("list", "show me"),
}
_QUESTIONS = (
    "what is the {o}",
    "what's the {o}",
    "how is the {o}",
    "how's the {o}",
    "what is the {o} like",
    "what's the {o} like",
    "what will the {o} be like",
    "what is the {o} going to be",
    "what's the {o} going to be",
    "tell me the {o}",
    "show me the {o}",
    "check the {o}",
    "get the {o}",
    "find the {o}",
)
_COMMANDS = ("{v} {o}", "{v} {a} {o}", "{v} the {o}", "{v} my {o}")
_WANTS = ("i need {a} {o}", "i want {a} {o}", "i'd like {a} {o}", "give me the {o}")
_LEADS = ("can you", "could you", "please", "i want to", "i'd like to", "i need to", "okay")
_TAILS = ("please", "today", "now", "right now", "for me")
_GENERIC = frozenset({"name", "id", "the", "a", "of"})


def _slot_phrases(pname: str, schema: dict[str, Any]) -> list[str]:
    """How a value of this parameter is said after the request ("in [city]")."""
    kind = slot_kind(pname, schema)
    own = [w for w in name_words(pname) if w not in _GENERIC]
    if kind == "city":
        return [f"{p} {CITY}" for p in ("in", "for", "at")]
    if kind == "person":
        said = ("for", "of", "named", "called", "by", "to", "with", "from")
        out = [f"{p} {PERSON}" for p in said]
        out += [f"{p}{w} {PERSON}" for w in own for p in ("", "for ", "of ", "to ")]
        for p, a, n in itertools.product(("", "for ", "of "), ("", "a ", "the "), said[2:4]):
            out += [f"{p}{a}{w} {n} {PERSON}" for w in own]  # "for a customer named [person]"
        return out
    if kind == "number":
        unit = own[-1] if own and len(own[-1]) > 3 and own[-1].endswith("s") else ""
        out = [f"for {NUMBER} {unit}", f"{NUMBER} {unit}", f"of {NUMBER} {unit}"] if unit else []
        return [
            *out,
            f"for {NUMBER}",
            f"to {NUMBER}",
            *([f"{' '.join(own)} {NUMBER}"] if own else []),
        ]
    if kind == "date":
        return [
            *(f"{p} {WEEKDAY}" for p in ("on", "for", "next", "this")),
            *(f"{p} {MONTH} {ORDINAL}" for p in ("on", "for")),
            f"on the {ORDINAL}",
            f"the {ORDINAL} of {MONTH}",
            *RELATIVE_DAYS,
        ]
    if kind == "enum":
        values = [" ".join(name_words(str(v))) for v in schema["enum"]]
        return [f"{p}{v}" for v in values for p in ("", "to ", "in ", "for ")]
    if kind == "boolean":
        return ["on", "off"]
    return []


def _unit_phrase(pname: str, schema: dict[str, Any]) -> str | None:
    """For a number counted in a plural unit (`minutes`), how it goes before the object:
    "a [number] minute" as in "set a five minute timer"."""
    own = [w for w in name_words(pname) if w not in _GENERIC]
    if slot_kind(pname, schema) == "number" and own and own[-1].endswith("s") and len(own[-1]) > 3:
        return f"a {NUMBER} {own[-1][:-1]}"
    return None


_NOT_MODIFIERS = frozenset(
    "a an the of for to in on at by with from and or is are this that your my our".split()
)


def _objects(obj: str, description: str) -> list[str]:
    """The object as the name says it, plus as the description qualifies it: "weather"
    and "current weather"; "order", "latest order" and "customer's latest order"."""
    out = [obj]
    desc, last = words(description), obj.split()[-1] if obj else ""
    at = max((i for i, w in enumerate(desc) if w.rstrip("s") == last.rstrip("s")), default=-1)
    start = at
    while start > 1 and at - start < 2 and desc[start - 1] not in _NOT_MODIFIERS:
        start -= 1
    out += [" ".join([*desc[i:at], last]) for i in range(at - 1, start - 1, -1)] if at > 0 else []
    return list(dict.fromkeys(out))


def _frames(verbs: Sequence[str], objects: Sequence[str]) -> list[str]:
    """Ways of asking for the object, without the arguments: "what is the weather like",
    "set a timer", "i need a timer"."""
    out = [*objects]
    for o in objects:
        article = "an" if o.startswith(tuple("aeiou")) else "a"
        out += [q.format(o=o) for q in _QUESTIONS]
        out += [c.format(v=v, o=o, a=article) for v in verbs for c in _COMMANDS]
        out += [w.format(o=o, a=article) for w in _WANTS]
    return out


@functools.lru_cache(maxsize=256)
def _phrases_cached(name: str, description: str, schema_json: str) -> tuple[str, ...]:
    nwords = name_words(name)
    if nwords[:2] == ["look", "up"]:
        nwords = ["lookup", *nwords[2:]]
    if len(nwords) >= 2:
        verbs, obj = _VERBS.get(nwords[0], (nwords[0],)), " ".join(nwords[1:])
    else:
        verbs, obj = ("get", "check", "show me"), " ".join(nwords)
    objects = _objects(obj, description)
    frames = _frames(verbs, objects)
    desc = " ".join(words(description))
    params = properties(json.loads(schema_json))
    slots = [_slot_phrases(p, s) for p, s in params]
    first = next((s for s in slots if s), [])
    out = [*_LEADS, *_TAILS]
    out += [f"{lead} {c.format(v=verbs[0], o=obj, a='a')}" for lead in _LEADS for c in _COMMANDS]
    # "what is the weather in [city]": every way of giving the value after each distinct
    # frame ending (what the trigrams need), the commonest ones after every frame.
    endings: set[tuple[str, ...]] = set()
    for frame in [*frames, *([desc] if desc else [])]:
        ending = tuple(frame.split()[-2:])
        out += [frame, *(f"{frame} {s}" for s in (first if ending not in endings else first[:3]))]
        endings.add(ending)
    out += [f"{obj} {s} {t}" for s in first for t in _TAILS]  # "weather in [city] please"
    for later in [s for s in slots if s and s is not first]:  # a second argument follows
        out += [f"{obj} {a} {b}" for a in first[:3] for b in later]
    for p, s in params:
        unit = _unit_phrase(p, s)
        if unit:  # "set a [number] minute timer"
            out += [f"{v} {unit} {obj}" for v in verbs] + [f"{unit} {obj}"]
        if slot_kind(p, s) == "person":  # "look up [person]'s order"
            said = [*verbs, "what is", "what's", ""]
            out += [f"{v} {POSSESSIVE} {o}" for o in objects for v in said]
    return tuple(dict.fromkeys(" ".join(line.split()) for line in out))


def phrases_for(functions: Iterable[FunctionDeclaration]) -> list[tuple[str, ...]]:
    """Phrases that bias recognition toward requests for the declared functions: one
    group of carrier sentences per function (see :data:`biaslm.Phrases`).

    Built per declaration and cached, so sessions declaring the same tools pay once.
    """
    out: list[tuple[str, ...]] = []
    for fd in functions:
        schema = json.dumps(fd.parameter_schema(), sort_keys=True, default=str)
        out.append(_phrases_cached(fd.name, fd.description or "", schema))
    return out
