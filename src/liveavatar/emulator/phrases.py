"""Phrase normalisation for recognition: tokenizing, the pronouncing dictionary, phrase sets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _spell(n: int) -> list[str]:
    """Spell 0 <= n < 1_000_000 in English words."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10], *(_spell(n % 10) if n % 10 else [])]
    head, unit, rest = (
        (n // 100, "hundred", n % 100) if n < 1000 else (n // 1000, "thousand", n % 1000)
    )
    return [*_spell(head), unit, *(_spell(rest) if rest else [])]


def tokenize(text: str) -> list[str]:
    """Split text into lower-case words the way phrases are normalised.

    camelCase and snake_case identifiers (tool names) become separate words, integers
    below a million are spelled out, other punctuation is dropped.
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    words: list[str] = []
    for token in re.findall(r"[a-z']+|\d+", text):
        if token.isdigit():
            words.extend(_spell(int(token)) if len(token) <= 6 else [])
        elif token.strip("'"):
            words.append(token.strip("'"))
    return words


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

    def phones(self, words: Sequence[str]) -> list[str]:
        """First pronunciation of each word, concatenated (unknown words stay as-is)."""
        out: list[str] = []
        for word in words:
            entries = self.entries(word)
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
class PhraseSet:
    """Normalised phrases plus the small LM and dictionary files built from them."""

    key: str
    phrases: tuple[tuple[str, ...], ...]
    lm_path: Path
    dict_path: Path

    def _scan(self, words: Sequence[str]) -> tuple[set[int], bool]:
        """Ends reachable by whole phrases from 0, and whether some tail is a phrase prefix."""
        todo, ends, prefix = [0], {0}, False
        while todo:
            pos = todo.pop()
            rest = tuple(words[pos:])
            for phrase in self.phrases:
                end = pos + len(phrase)
                if rest[: len(phrase)] == phrase and end not in ends:
                    ends.add(end)
                    todo.append(end)
                prefix = prefix or (0 < len(rest) < len(phrase) and phrase[: len(rest)] == rest)
        return ends, prefix

    def is_sequence(self, words: Sequence[str]) -> bool:
        """True if ``words`` is one or more whole phrases back to back."""
        return bool(words) and len(words) in self._scan(words)[0]

    def is_prefix(self, words: Sequence[str]) -> bool:
        """True if ``words`` can still grow into a run of whole phrases."""
        ends, prefix = self._scan(words)
        return prefix or len(words) in ends
