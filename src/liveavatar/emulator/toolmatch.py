"""Decide whether an utterance asks for a declared function, and fill in its arguments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .script import words
from .toolvocab import (
    CITY,
    MONTH,
    ORDINAL,
    PERSON,
    RELATIVE_DAYS,
    WEEKDAY,
    find_members,
    name_words,
    numbers_in,
    properties,
    schema_type,
    slot_kind,
)
from .wire import FunctionDeclaration

# Words that say nothing about which function is meant.
_STOP = frozenset(
    """a an the is are was be to of in on for at by and or with from this that it its me my
    you your i we our please can could would will do does did what whats how when where who
    which get set fetch return returns given current some any tell show give let know about
    function tool use using value""".split()
)
_PREPOSITIONS = ("for", "about", "in", "to", "on", "of", "called", "named", "at", "as")
# Words after a value that are not part of it ("in paris please").
_TRAILERS = frozenset(("please", "now", "today", "tonight", "tomorrow", "thanks", "right"))
_ARTICLES = ("the", "a", "an")

Span = tuple[int, int]


@dataclass(frozen=True)
class PlannedCall:
    name: str
    args: dict[str, Any]
    blocking: bool


def _stem(word: str) -> str:
    """Crude singular: "minutes" and "minute", "customer's" and "customer" compare equal."""
    word = word.removesuffix("'s")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _keys(ws: Sequence[str]) -> set[str]:
    """Comparable forms of the content words, plus adjacent pairs run together so "look
    up" meets a `lookup_order` and "count down" a `countdown`."""
    keys = {_stem(w) for w in ws if w not in _STOP}
    keys |= {_stem(a + b) for a, b in zip(ws, ws[1:], strict=False)}
    return keys


def match_function(utterance: str, functions: list[FunctionDeclaration]) -> PlannedCall | None:
    """The declared function the utterance asks for, if any, with arguments filled in.

    A word of the function's name counts twice, a word of its description once; generic
    words count for nothing. A score of 2 is needed, so one shared description word alone
    never triggers a call. A function with required parameters is called only if the
    utterance supplies at least one of them: "the weather is nice" mentions `get_weather`
    but asks for nothing.
    """
    heard = words(utterance)
    heard_keys = _keys(heard)
    scored: list[tuple[int, int, FunctionDeclaration]] = []
    for i, fd in enumerate(functions):
        name_set = _keys(name_words(fd.name))
        desc_set = {_stem(w) for w in words(fd.description) if w not in _STOP} - name_set
        score = 2 * len(heard_keys & name_set) + len(heard_keys & desc_set)
        if score >= 2:
            scored.append((-score, i, fd))
    for _, _, fd in sorted(scored, key=lambda s: s[:2]):
        schema = fd.parameter_schema()
        args, found = _fill(heard, schema)
        if set(schema.get("required") or []) and not found & set(schema["required"]):
            continue
        blocking = (fd.behavior or "BLOCKING").upper() != "NON_BLOCKING"
        return PlannedCall(fd.name, args, blocking)
    return None


# Typed values claim their words first, so a free-text parameter never swallows them.
_ORDER = {"enum": 0, "number": 1, "date": 2, "city": 3, "person": 4, "boolean": 5, "text": 6}


def fill_args(heard: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments for `schema`: taken from the utterance where possible.

    Each parameter's value is found by its kind (see :func:`toolvocab.slot_kind`): enum
    values, spoken numbers ("twenty five"), dates, city and first names from the value
    lists, otherwise the phrase after the parameter's name or a preposition. Every
    required parameter is present (a plausible value of its type otherwise), so clients
    that validate calls against their schema accept it. Optional parameters appear only
    when the utterance supplied them.
    """
    return _fill(heard, schema)[0]


def _fill(heard: list[str], schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The arguments (see :func:`fill_args`) and the names of those the utterance gave."""
    params = properties(schema)
    required = set(schema.get("required") or [])
    claimed: set[int] = set()  # positions in `heard` that some argument took
    values: dict[str, Any] = {}
    found: set[str] = set()
    for pname, pschema in sorted(params, key=lambda p: _ORDER[slot_kind(*p)]):
        values[pname], span = _extract(pname, pschema, heard, claimed)
        if span is not None:
            claimed.update(range(*span))
            found.add(pname)
    return {p: values[p] for p, _ in params if p in found or p in required}, found


def _free(spans: list[Span], claimed: set[int]) -> list[Span]:
    return [s for s in spans if not claimed.intersection(range(*s))]


def _extract(
    pname: str, schema: dict[str, Any], heard: list[str], claimed: set[int]
) -> tuple[Any, Span | None]:
    """The value of one parameter and the words it came from (None: a default)."""
    kind = slot_kind(pname, schema)
    if kind == "enum":
        for option in schema["enum"]:
            said = name_words(str(option))
            spans = _free(_find(heard, said), claimed)
            if said and spans:
                return option, spans[0]
        return schema["enum"][0], None
    if kind == "number":
        return _number(pname, schema, heard, claimed)
    if kind == "boolean":
        negative = any(w in heard for w in ("off", "no", "false", "disable", "stop"))
        hit = next((i for i, w in enumerate(heard) if w in ("on", "off", "yes", "no")), None)
        return not negative, None if hit is None else (hit, hit + 1)
    if kind in ("city", "person"):
        members = find_members(heard, CITY if kind == "city" else PERSON)
        for start, end, member in members:
            if not claimed.intersection(range(start, end)):
                return member, (start, end)
    if kind == "date":
        span = _date(heard, claimed)
        if span is not None:
            return " ".join(heard[slice(*span)]), span
        return "today", None
    if schema_type(schema) == "array":
        return [], None
    if schema_type(schema) == "object":
        return {}, None
    return _phrase_after(pname, heard, claimed)


def _spans(heard: Sequence[str], token: str) -> list[Span]:
    return [(start, end) for start, end, _ in find_members(heard, token)]


def _find(heard: Sequence[str], said: Sequence[str]) -> list[Span]:
    n = len(said)
    return [(i, i + n) for i in range(len(heard) - n + 1) if list(heard[i : i + n]) == list(said)]


def _number(
    pname: str, schema: dict[str, Any], heard: list[str], claimed: set[int]
) -> tuple[Any, Span | None]:
    """A spoken number, preferring one followed by the parameter's unit ("five minutes")."""
    spans = [(s, e, v) for s, e, v in numbers_in(heard) if not claimed.intersection(range(s, e))]
    if not spans:
        return 0, None
    unit = {_stem(w) for w in name_words(pname)}
    start, end, value = next(
        (n for n in spans if n[1] < len(heard) and _stem(heard[n[1]]) in unit), spans[0]
    )
    return value, (start, end)


def _date(heard: list[str], claimed: set[int]) -> Span | None:
    """A spoken day: "next friday", "march third", "the fifth of june", "tomorrow"."""
    spans = _free(_spans(heard, WEEKDAY), claimed)
    if spans:
        start, end = spans[0]
        return (start - 1, end) if start and heard[start - 1] in ("next", "this") else (start, end)
    months, ordinals = _spans(heard, MONTH), _spans(heard, ORDINAL)
    for m_start, m_end in _free(months, claimed):
        after = [o for o in ordinals if o[0] == m_end]
        if after:
            return m_start, after[0][1]
        before = [o for o in ordinals if o[1] + 1 == m_start and heard[o[1]] == "of"]
        if before:
            start = before[0][0] - (before[0][0] > 0 and heard[before[0][0] - 1] == "the")
            return start, m_end
        return m_start, m_end
    hit = next((i for i, w in enumerate(heard) if w in RELATIVE_DAYS and i not in claimed), None)
    return None if hit is None else (hit, hit + 1)


def _phrase_after(pname: str, heard: list[str], claimed: set[int]) -> tuple[str, Span | None]:
    """The first phrase after the parameter's name or a preposition, e.g. "in paris".

    The phrase runs to the next preposition or a trailing word ("please"); phrases
    holding words another argument took are skipped.
    """
    markers = set(name_words(pname)) | set(_PREPOSITIONS)
    for i, word in enumerate(heard):
        if word not in markers:
            continue
        end = i + 1
        while end < len(heard) and heard[end] not in markers and heard[end] not in _TRAILERS:
            end += 1
        tail = [w for w in heard[i + 1 : end] if w not in _ARTICLES]
        if tail and not claimed.intersection(range(i + 1, end)):
            return " ".join(tail), (i + 1, end)
    content = [w for i, w in enumerate(heard) if w not in _STOP and i not in claimed]
    if content:
        return " ".join(content), None
    return "unknown", None


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
