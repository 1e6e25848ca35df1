"""Decide whether an utterance asks for a declared function, and fill in its arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .script import words
from .wire import FunctionDeclaration

# Words that say nothing about which function is meant.
_STOP = frozenset(
    """a an the is are was be to of in on for at by and or with from this that it its me my
    you your i we our please can could would will do does did what whats how when where who
    which get set fetch return returns given current some any tell show give let know about
    function tool use using value""".split()
)
_PREPOSITIONS = ("for", "about", "in", "to", "on", "of", "called", "named", "at", "as")
_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "hundred": 100,
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class PlannedCall:
    name: str
    args: dict[str, Any]
    blocking: bool


def name_words(name: str) -> list[str]:
    """`get_current_weather` / `getCurrentWeather` -> ["get", "current", "weather"]."""
    return words(_CAMEL.sub(" ", name).replace("_", " ").replace("-", " "))


def phrases_for(functions: list[FunctionDeclaration]) -> list[str]:
    """Phrases that bias recognition toward utterances naming a declared function."""
    out: list[str] = []
    for fd in functions:
        out.append(" ".join(name_words(fd.name)))
        if fd.description:
            out.append(" ".join(words(fd.description)))
    return out


def match_function(utterance: str, functions: list[FunctionDeclaration]) -> PlannedCall | None:
    """The declared function the utterance asks for, if any, with arguments filled in.

    A word of the function's name counts twice, a word of its description once; generic
    words count for nothing. A score of 2 is needed, so one shared description word alone
    never triggers a call.
    """
    heard = words(utterance)
    heard_set = {w for w in heard if w not in _STOP}
    best: tuple[int, FunctionDeclaration] | None = None
    for fd in functions:
        name_set = {w for w in name_words(fd.name) if w not in _STOP}
        desc_set = {w for w in words(fd.description) if w not in _STOP} - name_set
        score = 2 * len(heard_set & name_set) + len(heard_set & desc_set)
        if score >= 2 and (best is None or score > best[0]):
            best = (score, fd)
    if best is None:
        return None
    fd = best[1]
    blocking = (fd.behavior or "BLOCKING").upper() != "NON_BLOCKING"
    return PlannedCall(fd.name, fill_args(heard, fd.parameter_schema()), blocking)


def fill_args(heard: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments for `schema`: taken from the utterance where possible.

    Every required parameter is present (a plausible value of its type otherwise), so
    clients that validate calls against their schema accept it. Optional parameters appear
    only when the utterance supplied them.
    """
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    required = set(schema.get("required") or [])
    # Words another parameter will claim (enum values, numbers) never fill a free string.
    reserved = {w for w in heard if w.isdigit() or w in _NUMBERS}
    for pschema in props.values():
        if isinstance(pschema, dict) and isinstance(pschema.get("enum"), list):
            reserved |= {str(v).lower() for v in pschema["enum"]}
    args: dict[str, Any] = {}
    for pname, pschema in props.items():
        if not isinstance(pschema, dict):
            pschema = {}
        value, found = _extract(str(pname), pschema, heard, reserved)
        if found or pname in required:
            args[str(pname)] = value
    return args


def _extract(
    pname: str, schema: dict[str, Any], heard: list[str], reserved: set[str]
) -> tuple[Any, bool]:
    kind = str(schema.get("type", "string")).lower()
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        for option in enum:
            if str(option).lower() in heard:
                return option, True
        return enum[0], False
    if kind in ("integer", "number"):
        for w in heard:
            n = int(w) if w.isdigit() else _NUMBERS.get(w)
            if n is not None:
                return n, True
        return 0, False
    if kind == "boolean":
        negative = any(w in heard for w in ("off", "no", "false", "disable", "stop"))
        return not negative, any(w in heard for w in ("on", "off", "yes", "no", "true", "false"))
    if kind == "array":
        return [], False
    if kind == "object":
        return {}, False
    return _phrase_after(pname, heard, reserved)


def _phrase_after(pname: str, heard: list[str], reserved: set[str]) -> tuple[str, bool]:
    """The first phrase after the parameter's name or a preposition, e.g. "in paris".

    The phrase runs to the next preposition; phrases holding reserved words are skipped.
    """
    markers = set(name_words(pname)) | set(_PREPOSITIONS)
    for i, word in enumerate(heard):
        if word not in markers:
            continue
        tail: list[str] = []
        for w in heard[i + 1 :]:
            if w in markers:
                break
            if w not in ("the", "a", "an"):
                tail.append(w)
        if tail and not reserved.intersection(tail):
            return " ".join(tail), True
    content = [w for w in heard if w not in _STOP and w not in reserved]
    if content:
        return " ".join(content), False
    return "unknown", False


def describe_result(name: str, response: dict[str, Any] | None) -> str:
    """A sentence that speaks a tool's result (`output`) or failure (`error`)."""
    response = response or {}
    if "error" in response:
        return f"Sorry, that did not work: {_speakable(response['error'])}."
    output = response.get("output", response)
    text = _speakable(output)
    if not text:
        return "Done."
    return f"{text}." if not text.endswith((".", "!", "?")) else text


def _speakable(value: Any, depth: int = 0) -> str:
    """Tool output read aloud: text fields as they are, other keys as "key is value"."""
    if depth > 3:
        return ""
    if isinstance(value, dict):
        for key in ("text", "answer", "summary", "message"):
            if isinstance(value.get(key), str):
                return _speakable(value[key], depth + 1)
        parts = [
            f"{' '.join(name_words(str(k)))} is {text}"
            for k, v in list(value.items())[:5]
            if (text := _speakable(v, depth + 1))
        ]
        return ", ".join(parts)
    if isinstance(value, list):
        return ", ".join(t for v in value[:3] if (t := _speakable(v, depth + 1)))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    return " ".join(str(value).split())[:300]
