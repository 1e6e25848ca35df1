"""The small language model that biases a session's recognition toward what it expects.

From a session's phrases (script lines, and the declared tools' carrier sentences with
value-class slots such as ``[city]``) it builds a weighted trigram LM, its pronunciation
dictionary and, when slots are used, a control file binding the classes, so pocketsphinx
hears "paris" wherever the LM has ``[city]``. Sets are cached per distinct phrase list.
"""

from __future__ import annotations

import collections
import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pocketsphinx
from pocketsphinx.lm import ArpaBoLM

from .phrases import Lexicon, PhraseSet, ValueClass, is_class_token, tokenize
from .toolvocab import value_classes

#: A phrase weighs 1; a tuple of phrases is one group (say, all the ways of asking for
#: one tool) whose phrases share one weight, however many there are.
Phrases = Sequence[str | tuple[str, ...]]
Normalised = tuple[tuple[tuple[str, ...], float], ...]  # (phrase, weight), sorted

CMUDICT = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
_LM_NAME = "small"  # the one LM in a control file
# Share of probability held back for word sequences the phrases never showed. The
# builder's default, 0.5, let slot words stray anywhere: with 180 cities in the LM,
# "ten minutes" came out "ten leeds". 0.05 keeps the LM to the phrases' word order.
_DISCOUNT = 0.05
# A group of phrases (all of one tool's carrier sentences) weighs as much as this many
# single phrases. Counted one by one, a tool's hundreds of sentences drowned the script:
# "good morning" came out "look up order". 1 and 4 did equally well on tool requests.
GROUP_WEIGHT = 1.0


class PhraseSets:
    """Builds and caches :class:`PhraseSet` files in a temporary directory. Thread-safe.

    ``on_evict(key)`` is called (under this object's lock) when a set's files are
    deleted, so decoders loaded from them can be dropped.
    """

    def __init__(self, max_sets: int, on_evict: Callable[[str], None]) -> None:
        self._max = max_sets
        self._on_evict = on_evict
        self._lock = threading.Lock()  # guards everything below and the files
        self._lexicon: Lexicon | None = None
        self._normalised: dict[tuple[str | tuple[str, ...], ...], Normalised] = {}
        self._sets: collections.OrderedDict[Normalised, PhraseSet] = collections.OrderedDict()
        self._members: dict[str, list[tuple[str, ...]]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._closed = False

    @property
    def lexicon(self) -> Lexicon:
        """The pronunciation dictionary (loaded on first use, ~0.1 s)."""
        with self._lock:
            return self._lexicon_locked()

    @property
    def directory(self) -> Path | None:
        """Where the files are, once some set was built."""
        return None if self._tmp is None else Path(self._tmp.name)

    def get(self, phrases: Phrases) -> PhraseSet | None:
        """The set for ``phrases`` (None if none is usable), built on first request."""
        raw = tuple(phrases)
        with self._lock:
            if self._closed:
                raise RuntimeError("recognizer pool is closed")
            lexicon = self._lexicon_locked()
            # Sessions ask again at every utterance: skip normalising a list seen before.
            normal = self._normalised.get(raw)
            if normal is None:
                normal = self._normalised[raw] = _normalise(raw, lexicon)
                while len(self._normalised) > self._max:
                    del self._normalised[next(iter(self._normalised))]
            if not normal:
                return None
            if normal in self._sets:
                self._sets.move_to_end(normal)
                return self._sets[normal]
            phrase_set = self._sets[normal] = self._build(normal, lexicon)
            while len(self._sets) > self._max:
                _, old = self._sets.popitem(last=False)
                for path in (old.lm_path, old.dict_path, old.ctl_path):
                    if path is not None:
                        path.unlink(missing_ok=True)
                self._on_evict(old.key)
            return phrase_set

    @contextmanager
    def loading(self, phrase_set: PhraseSet) -> Iterator[dict[str, Any]]:
        """Decoder arguments for the set's files, which stay in place inside the block."""
        with self._lock:
            if phrase_set.ctl_path is not None:
                lm: dict[str, Any] = {"lm": None, "lmctl": str(phrase_set.ctl_path)}
                lm["lmname"] = _LM_NAME
            else:
                lm = {"lm": str(phrase_set.lm_path)}
            yield {"dict": str(phrase_set.dict_path), **lm}

    def close(self) -> None:
        """Forget every set and delete the files."""
        with self._lock:
            self._closed = True
            self._sets.clear()
            self._normalised.clear()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _lexicon_locked(self) -> Lexicon:
        self._lexicon = self._lexicon or Lexicon(CMUDICT)
        return self._lexicon

    def _build(self, normal: Normalised, lexicon: Lexicon) -> PhraseSet:
        """Write the LM, its dictionary and (with value classes) its control file."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="liveavatar-stt-")
        spec = "\n".join(f"{w:.6g} {' '.join(p)}" for p, w in normal)
        base = Path(self._tmp.name, hashlib.sha1(spec.encode()).hexdigest()[:16])
        vocab = sorted({w for p, _ in normal for w in p})
        used = [w for w in vocab if is_class_token(w)]
        phrase_set = PhraseSet(
            base.name,
            tuple(p for p, _ in normal),
            base.with_suffix(".arpa"),
            base.with_suffix(".dict"),
            {t: ValueClass(frozenset(self._class_members(t, lexicon))) for t in used},
            base.with_suffix(".lmctl") if used else None,
        )
        _language_model(normal).write_file(str(phrase_set.lm_path))
        lines = [line for w in vocab if not is_class_token(w) for line in lexicon.pronounce(w)]
        for token in used:
            for member in self._class_members(token, lexicon):
                if len(member) == 1:
                    lines += lexicon.pronounce(member[0])
                else:  # one dictionary word; the transcriber splits it at "_" again
                    lines.append(" ".join(["_".join(member), *lexicon.phones(member)]))
        phrase_set.dict_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if phrase_set.ctl_path is not None:
            body = "".join(f" {token}\n" for token in used)
            phrase_set.ctl_path.write_text(
                f"{{ {self._class_file(lexicon)} }}\n"
                f"{phrase_set.lm_path} {_LM_NAME} {{\n{body}}}\n",
                encoding="utf-8",
            )
        return phrase_set

    def _class_members(self, token: str, lexicon: Lexicon) -> list[tuple[str, ...]]:
        """Members of a value class whose every word the dictionary can pronounce."""
        found = self._members.get(token)
        if found is None:
            members = value_classes().get(token, ())
            found = self._members[token] = [
                m for m in members if all(lexicon.pronounce(w) for w in m)
            ]
        return found

    def _class_file(self, lexicon: Lexicon) -> Path:
        """The class definitions every control file refers to, written once."""
        assert self._tmp is not None
        path = Path(self._tmp.name, "classes.def")
        if not path.exists():
            out = []
            for token in value_classes():
                members = ["_".join(m) for m in self._class_members(token, lexicon)]
                out += [f"LMCLASS {token}", *members, f"END {token}"]
            path.write_text("\n".join(out) + "\n", encoding="utf-8")
        return path


def _language_model(normal: Normalised) -> ArpaBoLM:
    """A trigram backoff LM over weighted phrases (ArpaBoLM reads only unweighted text,
    so its n-gram counts are filled in directly)."""
    model = ArpaBoLM(add_start=True, discount_mass=_DISCOUNT)
    for phrase, weight in normal:
        ws = ("<s>", *phrase, "</s>")
        for i, w in enumerate(ws):
            model.grams_1[w] += weight
            if i + 1 < len(ws):
                model.grams_2[w][ws[i + 1]] += weight
            if i + 2 < len(ws):
                model.grams_3[w][ws[i + 1]][ws[i + 2]] += weight
    model.compute()
    return model


def _normalise(phrases: Phrases, lexicon: Lexicon) -> Normalised:
    """Tokenized, weighted phrases, sorted and distinct, without words the dictionary lacks.

    A word that is also a member of a value class used here becomes the class's slot
    ("five" in "set a timer for five minutes" when "[number]" is used): the decoder
    cannot hold a word both in its own right and in a class.
    """
    weighted: list[tuple[list[str], float]] = []
    for item in phrases:
        group = (item,) if isinstance(item, str) else item
        weight = 1.0 if isinstance(item, str) else GROUP_WEIGHT / max(len(group), 1)
        weighted += [(tokenize(p), weight) for p in group]
    known = value_classes()
    used = {w for ws, _ in weighted for w in ws if w in known}
    owner = {m[0]: token for token in used for m in known[token] if len(m) == 1}
    # Each distinct word once: the dictionary lookup is the costly part.
    spelled = {w: w for ws, _ in weighted for w in ws}
    for w in spelled:
        if is_class_token(w):
            spelled[w] = w if w in known else ""
        elif w in owner:
            spelled[w] = owner[w]
        elif not lexicon.pronounce(w):
            spelled[w] = ""
    kept: dict[tuple[str, ...], float] = collections.defaultdict(float)
    for ws, weight in weighted:
        phrase = tuple(spelled[w] for w in ws if spelled[w])
        if phrase:
            kept[phrase] += weight
    return tuple(sorted(kept.items()))
