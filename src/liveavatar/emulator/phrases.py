"""Phrase normalisation for recognition: tokenizing, the pronouncing dictionary, phrase sets."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell_number(n: int) -> list[str]:
    """Spell 0 <= n < 1_000_000 in English words."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10], *(spell_number(n % 10) if n % 10 else [])]
    head, unit, rest = (
        (n // 100, "hundred", n % 100) if n < 1000 else (n // 1000, "thousand", n % 1000)
    )
    return [*spell_number(head), unit, *(spell_number(rest) if rest else [])]


def is_class_token(word: str) -> bool:
    """Whether ``word`` is a value-class slot such as ``[city]`` rather than a word."""
    return word.startswith("[")


def tokenize(text: str) -> list[str]:
    """Split text into lower-case words the way phrases are normalised.

    camelCase and snake_case identifiers (tool names) become separate words, integers
    below a million are spelled out, value-class slots (``[city]``) are kept, other
    punctuation is dropped.
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    words: list[str] = []
    for token in re.findall(r"\[[a-z]+\]|[a-z']+|\d+", text):
        if is_class_token(token):
            words.append(token)
        elif token.isdigit():
            words.extend(spell_number(int(token)) if len(token) <= 6 else [])
        elif token.strip("'"):
            words.append(token.strip("'"))
    return words


_SIBILANTS = frozenset("S Z SH ZH CH JH".split())
_VOICELESS = frozenset("P T K F TH".split())


class Lexicon:
    """The bundled cmudict, searched by bisection (its lines are sorted by base word).

    Held as one 3 MB string rather than a dict (~30 MB of Python objects). Read-only after
    construction, so safe to share between threads.
    """

    def __init__(self, path: Path) -> None:
        self._text = path.read_text(encoding="utf-8")

    def _base_at(self, pos: int) -> str:
        head = self._text[pos : self._text.find(" ", pos)]
        return head.split("(", 1)[0] if head.endswith(")") else head

    def entries(self, word: str) -> list[str]:
        """Dictionary lines (``word PH ONES``, alternates included) for ``word``."""
        text, lo, hi = self._text, 0, len(self._text)
        while lo < hi:  # find the first line whose base word is >= word
            mid = text.rfind("\n", 0, (lo + hi) // 2) + 1
            if self._base_at(mid) < word:
                lo = text.find("\n", mid) + 1 or len(text)
            else:
                hi = mid
        lines = []
        while lo < len(text) and self._base_at(lo) == word:
            end = text.find("\n", lo) % (len(text) + 1)  # -1 (no newline) -> end of text
            lines.append(text[lo:end])
            lo = end + 1
        return lines

    def pronounce(self, word: str) -> list[str]:
        """Dictionary lines for ``word``; a possessive the dictionary lacks ("priya's")
        is derived from its base word."""
        entries = self.entries(word)
        if entries or not word.endswith("'s"):
            return entries
        out = []
        for i, line in enumerate(self.entries(word[:-2])):
            phones = line.split()[1:]
            ending = (
                "IH Z" if phones[-1] in _SIBILANTS else "S" if phones[-1] in _VOICELESS else "Z"
            )
            out.append(" ".join([word if i == 0 else f"{word}({i + 1})", *phones, ending]))
        return out

    def phones(self, words: Sequence[str]) -> list[str]:
        """First pronunciation of each word, concatenated (unknown words stay as-is)."""
        out: list[str] = []
        for word in words:
            entries = self.pronounce(word)
            out.extend(entries[0].split()[1:] if entries else [word])
        return out


def lcs(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


@dataclass(frozen=True)
class Segment:
    """A recognised word (multi-word class members joined by spaces) and its frames."""

    word: str
    start: int
    end: int


def second_opinion(
    small: Sequence[Segment], big: Sequence[Segment], classes: Mapping[str, ValueClass]
) -> list[str] | None:
    """The small decoder's words, with each value replaced by the big decoder's when the
    big decoder heard a different member of the same class in the same frames.

    The small LM knows every city or number equally well, so near-homophones ("fifty" for
    "fifteen") are a coin toss for it; the general LM's sense of what people say settles
    them. Returns None if there is nothing to revise.
    """
    out: list[str] = []
    revised = False
    for seg in small:
        value = tuple(seg.word.split())
        vc = next((c for c in classes.values() if value in c.members), None)
        if vc is not None:
            # The big LM's words must line up with this value: the words mostly inside
            # its frames cover most of them, and no word straddles a large part of it.
            span = seg.end - seg.start
            overlap = [(b, min(b.end, seg.end) - max(b.start, seg.start)) for b in big]
            inside = [(b, n) for b, n in overlap if n > (b.end - b.start) / 2]
            straddling = [b for b, n in overlap if n > 0.3 * span and (b, n) not in inside]
            other = tuple(" ".join(b.word for b, _ in inside).split())
            if (
                other
                and other != value
                and other in vc.members
                and not straddling
                and sum(n for _, n in inside) >= 0.8 * span
            ):
                out.extend(other)
                revised = True
                continue
        out.extend(value)
    return out if revised else None


@dataclass(frozen=True)
class ValueClass:
    """The members of one value class (``[city]``), each a tuple of words."""

    members: frozenset[tuple[str, ...]]

    @functools.cached_property
    def lengths(self) -> tuple[int, ...]:
        return tuple(sorted({len(m) for m in self.members}, reverse=True))

    @functools.cached_property
    def partials(self) -> frozenset[tuple[str, ...]]:
        """Proper, non-empty prefixes of multi-word members ("new" of "new york")."""
        return frozenset(m[:n] for m in self.members for n in range(1, len(m)))


@dataclass(frozen=True)
class PhraseSet:
    """Normalised phrases plus the small LM and dictionary files built from them.

    A phrase may hold value-class slots (``[city]``) that match any member of the class
    in ``classes``; ``ctl_path`` is then the LM control file that binds the classes.
    """

    key: str
    phrases: tuple[tuple[str, ...], ...]
    lm_path: Path
    dict_path: Path
    classes: Mapping[str, ValueClass] = field(default_factory=dict, compare=False)
    ctl_path: Path | None = None

    @functools.cached_property
    def held_back(self) -> frozenset[str]:
        """Words a transcriber should not send before the utterance ends: words of
        value-class members, and words the decoder may yet turn into a contraction of
        the vocabulary ("what" while "what's" is possible)."""
        words = {w for p in self.phrases for w in p if not is_class_token(w)}
        values = {w for vc in self.classes.values() for m in vc.members for w in m}
        return frozenset(values | {w.split("'")[0] for w in words if "'" in w})

    @functools.cached_property
    def _by_first(self) -> dict[str, list[tuple[str, ...]]]:
        index: dict[str, list[tuple[str, ...]]] = {}
        for phrase in self.phrases:
            index.setdefault("[" if is_class_token(phrase[0]) else phrase[0], []).append(phrase)
        return index

    def _match(
        self, phrase: Sequence[str], words: Sequence[str], pos: int
    ) -> tuple[set[int], bool]:
        """Where ``phrase`` can end when matched at ``pos``, and whether ``words`` run out
        inside it after at least one word."""
        states, prefix = {pos}, False
        for element in phrase:
            nxt: set[int] = set()
            for at in states:
                if at == len(words):
                    prefix = prefix or at > pos
                    continue
                if not is_class_token(element):
                    if words[at] == element:
                        nxt.add(at + 1)
                    continue
                vc = self.classes.get(element)
                if vc is None:
                    continue
                for n in vc.lengths:
                    segment = tuple(words[at : at + n])
                    if len(segment) == n and segment in vc.members:
                        nxt.add(at + n)
                    elif len(segment) < n and segment in vc.partials:
                        prefix = True
            states = nxt
            if not states:
                return set(), prefix
        return states, prefix

    def _scan(self, words: Sequence[str]) -> tuple[set[int], bool]:
        """Ends reachable by whole phrases from 0, and whether some tail is a phrase prefix."""
        todo, ends, prefix = [0], {0}, False
        while todo:
            pos = todo.pop()
            if pos == len(words):
                continue
            candidates = self._by_first.get(words[pos], []) + self._by_first.get("[", [])
            for phrase in candidates:
                found, partial = self._match(phrase, words, pos)
                prefix = prefix or partial
                for end in found - ends:
                    ends.add(end)
                    todo.append(end)
        return ends, prefix

    def coverage(self, words: Sequence[str]) -> tuple[float, tuple[int, int] | None]:
        """Share of ``words`` inside some whole-phrase match (matches may overlap), and
        the longest match that fills a value slot ("weather in [city]") as a (start, end)
        span, if any.

        A decoder leaning on the tool phrases may get a filler word wrong ("what do start
        a timer for ten minutes"); the value-bearing part may still be worth trusting.
        """
        covered = [False] * len(words)
        slot: tuple[int, int] | None = None
        for pos in range(len(words)):
            for phrase in self._by_first.get(words[pos], []) + self._by_first.get("[", []):
                ends, _ = self._match(phrase, words, pos)
                for end in ends:
                    covered[pos:end] = [True] * (end - pos)
                    if any(map(is_class_token, phrase)) and (
                        slot is None or end - pos > slot[1] - slot[0]
                    ):
                        slot = (pos, end)
        return (sum(covered) / len(words) if words else 0.0), slot

    def is_sequence(self, words: Sequence[str]) -> bool:
        """True if ``words`` is one or more whole phrases back to back."""
        return bool(words) and len(words) in self._scan(words)[0]

    def is_prefix(self, words: Sequence[str]) -> bool:
        """True if ``words`` can still grow into a run of whole phrases."""
        ends, prefix = self._scan(words)
        return prefix or len(words) in ends
