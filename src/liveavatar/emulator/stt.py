"""Streaming speech recognition for the Live API emulator: pocketsphinx biased to known phrases."""

from __future__ import annotations

import collections
import hashlib
import math
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pocketsphinx
from pocketsphinx.lm import ArpaBoLM

_MODEL_DIR = Path(pocketsphinx.get_model_path()) / "en-us"
_CMUDICT = _MODEL_DIR / "cmudict-en-us.dict"

# The big decoder only guards against out-of-domain speech and transcribes it. Its
# second (fwdflat) pass cost 50-130 ms per end_utt for no accuracy gain on our data, and
# capping active HMMs cut CPU by ~20% for one word in 80.
_BIG_CONFIG: dict[str, Any] = {"fwdflat": False, "maxhmmpf": 3000, "maxwpf": 10}
_SMALL_CONFIG: dict[str, Any] = {}

# Input level normalisation: pocketsphinx starts every utterance from a fixed cepstral
# mean that suits quiet speech; loud input (espeak at -18 dBFS) turned "good morning"
# into "what morning". Speech is scaled to this active level before decoding.
_TARGET_DBFS = -43.0
_GATE_DBFS = -45.0  # frames quieter than this do not count toward the level estimate
_LEVEL_FRAMES = 10  # 20 ms frames of active speech measured before decoding starts
_GAIN_RANGE = (0.05, 4.0)
_FRAME_BYTES = 640  # 20 ms at 16 kHz

# A partial word is emitted once it has stayed the same for this much audio.
_STABLE_MS = 200
# Final choice: the small-LM text is trusted only when it is a run of whole phrases and
# either the big LM agrees on this share of words or the small LM's posterior is high.
_MIN_AGREEMENT = 0.5
_MIN_POSTERIOR = 0.2

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _spell_number(n: int) -> list[str]:
    """Spell 0 <= n < 1_000_000 as English words ("21" -> twenty one)."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + (_spell_number(n % 10) if n % 10 else [])
    if n < 1000:
        rest = _spell_number(n % 100) if n % 100 else []
        return [_ONES[n // 100], "hundred", *rest]
    rest = _spell_number(n % 1000) if n % 1000 else []
    return [*_spell_number(n // 1000), "thousand", *rest]


def tokenize(text: str) -> list[str]:
    """Split text into lower-case word tokens the way phrases are normalised.

    camelCase and snake_case identifiers (tool names) are split into words, integers
    below a million are spelled out, other punctuation is dropped.
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()
    words: list[str] = []
    for token in re.findall(r"[a-z0-9']+", text.replace("_", " ")):
        token = token.strip("'")
        if token.isdigit():
            words.extend(_spell_number(int(token)) if len(token) <= 6 else [])
        elif token:
            words.extend(re.findall(r"[a-z']+|\d+", token))
    return words


class _Lexicon:
    """Read-only view of the bundled cmudict, searched by bisection (the file is sorted)."""

    def __init__(self, path: Path) -> None:
        # One 3 MB string instead of a 126k-entry dict (~30 MB of Python objects).
        self._text = path.read_text(encoding="utf-8")

    def _line_at(self, pos: int) -> int:
        return self._text.rfind("\n", 0, pos) + 1

    @staticmethod
    def _base(head: str) -> str:
        return head.split("(", 1)[0] if head.endswith(")") else head

    def entries(self, word: str) -> list[str]:
        """Return the dictionary lines (``word PH ONES``, alternates included) for ``word``."""
        lo, hi = 0, len(self._text)
        while lo < hi:  # first line whose base word is >= word
            mid = self._line_at((lo + hi) // 2)
            end = self._text.find("\n", mid)
            head = self._text[mid : self._text.find(" ", mid)]
            if self._base(head) < word:
                lo = end + 1 if end >= 0 else len(self._text)
            else:
                hi = mid
        lines = []
        pos = lo
        while pos < len(self._text):
            end = self._text.find("\n", pos)
            end = len(self._text) if end < 0 else end
            line = self._text[pos:end]
            if self._base(line.split(" ", 1)[0]) != word:
                break
            lines.append(line)
            pos = end + 1
        return lines


@dataclass(frozen=True)
class _PhraseSet:
    """Normalised phrases plus the small LM and dictionary files built from them."""

    key: str
    phrases: tuple[tuple[str, ...], ...]
    lm_path: Path
    dict_path: Path

    def _ends(self, words: Sequence[str]) -> tuple[set[int], bool]:
        """Positions reachable by whole phrases, and whether the rest is a phrase prefix."""
        reach, seen, prefix = [0], {0}, False
        while reach:
            pos = reach.pop()
            rest = tuple(words[pos:])
            for phrase in self.phrases:
                if rest[: len(phrase)] == phrase and pos + len(phrase) not in seen:
                    seen.add(pos + len(phrase))
                    reach.append(pos + len(phrase))
                elif 0 < len(rest) < len(phrase) and phrase[: len(rest)] == rest:
                    prefix = True
        return seen, prefix

    def is_sequence(self, words: Sequence[str]) -> bool:
        """True if ``words`` is one or more whole phrases back to back."""
        return bool(words) and len(words) in self._ends(words)[0]

    def is_prefix(self, words: Sequence[str]) -> bool:
        """True if ``words`` can be continued into a run of whole phrases."""
        ends, prefix = self._ends(words)
        return prefix or len(words) in ends


def _agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Longest common subsequence of words over the longer length (1.0 = identical)."""
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1] / max(len(a), len(b))


def choose_transcript(
    small: Sequence[str], small_posterior: float, big: Sequence[str], phrases: _PhraseSet | None
) -> list[str]:
    """Pick the final words from the small-LM and big-LM hypotheses (see module notes).

    The small LM forces everything into script words, so its text wins only when it is a
    run of whole script phrases and is corroborated: the big LM agrees on at least half
    the words, or the small LM's posterior probability is high. Otherwise the big LM's
    open-vocabulary text is used.
    """
    trusted = _agreement(small, big) >= _MIN_AGREEMENT or small_posterior >= _MIN_POSTERIOR
    in_script = phrases is not None and phrases.is_sequence(small)
    return list(small) if in_script and trusted else list(big)


@dataclass(frozen=True)
class TranscriptUpdate:
    """Newly stable words to append to the utterance's transcript (may be empty)."""

    words: list[str]


class _Decoder:
    """A pocketsphinx decoder with the state the pool must track across owners."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.initial_cmn: str = decoder.get_cmn()
        self.in_utterance = False

    def start(self) -> None:
        if self.in_utterance:  # abandoned by a closed transcriber
            self.decoder.end_utt()
        # Every utterance starts from the same cepstral mean, so results do not depend on
        # which session used this decoder before (and tests are reproducible).
        self.decoder.set_cmn(self.initial_cmn)
        self.decoder.start_utt()
        self.in_utterance = True

    def words(self) -> list[str]:
        hyp = self.decoder.hyp()
        return hyp.hypstr.split() if hyp is not None else []

    def end(self) -> tuple[list[str], float]:
        self.decoder.end_utt()
        self.in_utterance = False
        hyp = self.decoder.hyp()
        return (hyp.hypstr.split(), float(hyp.prob)) if hyp is not None else ([], 0.0)


def _level_gain(pcm: bytes) -> float:
    """Gain that brings the active (above-gate) frames of ``pcm`` to the target level."""
    n = len(pcm) // _FRAME_BYTES
    if n == 0:
        return 1.0
    frames = np.frombuffer(pcm[: n * _FRAME_BYTES], dtype="<i2").astype(np.float64)
    power = np.mean(frames.reshape(n, -1) ** 2, axis=1)
    gate = (32768.0 * 10.0 ** (_GATE_DBFS / 20.0)) ** 2
    active = power[power >= gate]
    if active.size == 0:
        return 1.0
    level_db = 10.0 * math.log10(float(np.mean(active)) / 32768.0**2)
    gain = 10.0 ** ((_TARGET_DBFS - level_db) / 20.0)
    return min(max(gain, _GAIN_RANGE[0]), _GAIN_RANGE[1])


def _active_frames(pcm: bytes) -> int:
    n = len(pcm) // _FRAME_BYTES
    if n == 0:
        return 0
    frames = np.frombuffer(pcm[: n * _FRAME_BYTES], dtype="<i2").astype(np.float64)
    power = np.mean(frames.reshape(n, -1) ** 2, axis=1)
    return int(np.count_nonzero(power >= (32768.0 * 10.0 ** (_GATE_DBFS / 20.0)) ** 2))


class StreamingTranscriber:
    """Recognises one utterance at a time from 16 kHz PCM16 LE mono audio.

    Obtain from :meth:`RecognizerPool.transcriber`. Call :meth:`feed` with the utterance's
    audio as it arrives, then :meth:`finish`; the next :meth:`feed` starts a new utterance
    on the same decoders. :meth:`close` hands the decoders back to the pool.

    Every method is blocking CPU work (pocketsphinx holds the GIL while it decodes): call
    from a worker thread, one thread at a time per transcriber. Not thread-safe.
    """

    def __init__(
        self,
        pool: RecognizerPool,
        big: _Decoder,
        small: _Decoder | None,
        phrases: _PhraseSet | None,
    ) -> None:
        self._pool = pool
        self._big = big
        self._small = small
        self._phrases = phrases
        self._closed = False
        #: CPU seconds this transcriber spent in its own calls (thread CPU time).
        self.cpu_seconds = 0.0
        self._reset_utterance()

    def _reset_utterance(self) -> None:
        self._active = False
        self._gain: float | None = None
        self._held = bytearray()  # audio held back until the input level is known
        self._odd = b""  # a dangling byte of a split sample
        self._decoded_bytes = 0
        self._emitted: list[str] = []
        # Per position of the latest partial hypothesis: (word, decoded bytes when it appeared).
        self._since: list[tuple[str, int]] = []

    @property
    def in_utterance(self) -> bool:
        """True between the first :meth:`feed` of an utterance and :meth:`finish`."""
        return self._active

    def feed(self, pcm: bytes) -> TranscriptUpdate:
        """Decode a chunk of the current utterance (any size; 20-100 ms is typical).

        Returns the words that became stable with this chunk. The first ~200 ms of speech
        are held back to measure the input level, so early calls return nothing.
        """
        if self._closed:
            raise RuntimeError("transcriber is closed")
        started = time.thread_time()
        try:
            data = self._odd + pcm
            self._odd = data[len(data) & ~1 :]
            data = data[: len(data) & ~1]
            if not data:
                return TranscriptUpdate([])
            if not self._active:
                self._big.start()
                if self._small is not None:
                    self._small.start()
                self._active = True
            if self._gain is None:
                self._held += data
                if (
                    _active_frames(self._held) < _LEVEL_FRAMES
                    and len(self._held) < 50 * _FRAME_BYTES
                ):
                    return TranscriptUpdate([])
                self._gain = _level_gain(self._held)
                data = bytes(self._held)
                self._held.clear()
            self._decode(data)
            return TranscriptUpdate(self._stable_words())
        finally:
            self.cpu_seconds += time.thread_time() - started

    def finish(self) -> tuple[TranscriptUpdate, str]:
        """End the utterance: return the remaining words and the full final text.

        The final text is lower-case words separated by single spaces ("" if nothing was
        recognised). Normally the partial words plus the remaining words equal it. If the
        final hypothesis contradicts words already emitted, the remaining words are the
        final words past the emitted count, and the final text is authoritative.
        """
        if self._closed:
            raise RuntimeError("transcriber is closed")
        started = time.thread_time()
        try:
            if not self._active:
                self._reset_utterance()
                return TranscriptUpdate([]), ""
            if self._gain is None:
                self._gain = _level_gain(self._held)
                self._decode(bytes(self._held))
            big_words, _ = self._big.end()
            if self._small is not None:
                small_words, posterior = self._small.end()
                final = choose_transcript(small_words, posterior, big_words, self._phrases)
            else:
                final = big_words
            rest = final[len(self._emitted) :]
            self._reset_utterance()
            return TranscriptUpdate(rest), " ".join(final)
        finally:
            self.cpu_seconds += time.thread_time() - started

    def cancel(self) -> None:
        """Abandon the current utterance (if any) without a result."""
        if self._active and not self._closed:
            self._big.end()
            if self._small is not None:
                self._small.end()
        self._reset_utterance()

    def close(self) -> None:
        """Return the decoders to the pool. Idempotent; cheap, never blocks on decoding."""
        if self._closed:
            return
        self._closed = True
        self._pool._release(self._big, self._small, self._phrases)

    def __enter__(self) -> StreamingTranscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _decode(self, pcm: bytes) -> None:
        if not pcm:
            return
        if self._gain is not None and self._gain != 1.0:
            scaled = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * self._gain
            pcm = np.clip(scaled, -32768, 32767).astype("<i2").tobytes()
        self._big.decoder.process_raw(pcm)
        if self._small is not None:
            self._small.decoder.process_raw(pcm)
        self._decoded_bytes += len(pcm)

    def _stable_words(self) -> list[str]:
        source = self._small if self._small is not None else self._big
        words = source.words()
        now = self._decoded_bytes
        since = []
        for i, word in enumerate(words):
            keep = i < len(self._since) and self._since[i][0] == word
            since.append(self._since[i] if keep else (word, now))
        self._since = since
        if words[: len(self._emitted)] != self._emitted:
            return []  # hypothesis currently contradicts what was emitted: wait
        min_age = _STABLE_MS * 32  # bytes of 16 kHz PCM16 per ms
        stable = 0
        while stable < len(words) - 1 and now - self._since[stable][1] >= min_age:
            stable += 1
        new = words[len(self._emitted) : stable]
        if self._phrases is not None:
            while new and not self._phrases.is_prefix(self._emitted + new):
                new.pop()
        self._emitted.extend(new)
        return new


class RecognizerPool:
    """Process-wide, thread-safe supply of decoder pairs (big LM + small phrase LM).

    Build one per server process. Models load lazily: the big decoder (~0.6 s, ~95 MB
    each) on first use or :meth:`warm_up`, a small decoder (~0.03 s, ~8 MB) per phrase set.
    At most ``max_decoders`` pairs exist at once; :meth:`transcriber` blocks while all are
    in use. Small LMs and dictionaries are cached per distinct phrase set (up to
    ``max_phrase_sets``) as files in a temporary directory removed by :meth:`close`.
    All methods may be called from any thread; the blocking ones (:meth:`transcriber`,
    :meth:`warm_up`) belong in a worker thread.
    """

    def __init__(self, *, max_decoders: int = 8, max_phrase_sets: int = 32) -> None:
        if max_decoders < 1 or max_phrase_sets < 1:
            raise ValueError("pool sizes must be positive")
        self._max_decoders = max_decoders
        self._max_sets = max_phrase_sets
        self._cond = threading.Condition()
        self._build_lock = threading.Lock()  # lexicon, phrase-set files, small decoders
        self._idle_big: list[_Decoder] = []
        self._n_big = 0  # created, including ones being loaded
        self._idle_small: dict[str, list[_Decoder]] = {}
        self._sets: collections.OrderedDict[tuple[tuple[str, ...], ...], _PhraseSet] = (
            collections.OrderedDict()
        )
        self._lexicon: _Lexicon | None = None
        self._known: dict[str, list[str]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._closed = False

    def warm_up(self) -> None:
        """Load one big decoder and the pronunciation dictionary now (blocking, ~1 s)."""
        big = self._checkout_big(None)
        self._release(big, None, None)
        with self._build_lock:
            self._lexicon_locked()

    def transcriber(
        self, phrases: Sequence[str], *, timeout: float | None = None
    ) -> StreamingTranscriber:
        """Return a transcriber biased toward ``phrases`` (blocking: may load models or wait).

        ``phrases`` are free text (script lines, tool names and descriptions); they are
        normalised with :func:`tokenize` and words missing from the dictionary are dropped.
        With no usable phrase only the big LM runs. Raises ``TimeoutError`` if no decoder
        frees up within ``timeout`` seconds, ``RuntimeError`` after :meth:`close`.
        """
        phrase_set = self._phrase_set(phrases)
        big = self._checkout_big(timeout)
        try:
            small = self._checkout_small(phrase_set) if phrase_set is not None else None
        except BaseException:
            self._release(big, None, None)
            raise
        return StreamingTranscriber(self, big, small, phrase_set)

    def close(self) -> None:
        """Drop idle decoders and delete the temporary files. Decoders still checked out
        are freed when their transcribers close."""
        with self._cond:
            self._closed = True
            self._idle_big.clear()
            self._idle_small.clear()
            self._cond.notify_all()
        with self._build_lock:
            self._sets.clear()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self) -> RecognizerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _checkout_big(self, timeout: float | None) -> _Decoder:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("recognizer pool is closed")
                if self._idle_big:
                    return self._idle_big.pop()
                if self._n_big < self._max_decoders:
                    self._n_big += 1
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("all recognizers are busy")
                self._cond.wait(remaining)
        try:  # load outside the lock: other threads keep returning and taking decoders
            return _Decoder(pocketsphinx.Decoder(loglevel="FATAL", **_BIG_CONFIG))
        except BaseException:
            with self._cond:
                self._n_big -= 1
                self._cond.notify()
            raise

    def _checkout_small(self, phrase_set: _PhraseSet) -> _Decoder:
        with self._cond:
            idle = self._idle_small.get(phrase_set.key)
            if idle:
                return idle.pop()
        # Under the build lock so the set's files cannot be evicted while loading.
        with self._build_lock:
            decoder = pocketsphinx.Decoder(
                lm=str(phrase_set.lm_path),
                dict=str(phrase_set.dict_path),
                loglevel="FATAL",
                **_SMALL_CONFIG,
            )
        return _Decoder(decoder)

    def _release(self, big: _Decoder, small: _Decoder | None, pset: _PhraseSet | None) -> None:
        with self._cond:
            if self._closed:
                self._n_big -= 1
                return
            self._idle_big.append(big)
            if small is not None and pset is not None:
                self._idle_small.setdefault(pset.key, []).append(small)
                self._trim_small_locked()
            self._cond.notify()

    def _trim_small_locked(self) -> None:
        # Keep at most one idle small decoder per big decoder; drop the oldest sets first.
        excess = sum(len(v) for v in self._idle_small.values()) - self._max_decoders
        for key in list(self._idle_small):
            if excess <= 0:
                break
            idle = self._idle_small[key]
            while idle and excess > 0:
                idle.pop(0)
                excess -= 1
            if not idle:
                del self._idle_small[key]

    def _lexicon_locked(self) -> _Lexicon:
        if self._lexicon is None:
            self._lexicon = _Lexicon(_CMUDICT)
        return self._lexicon

    def _entries_locked(self, word: str) -> list[str]:
        entries = self._known.get(word)
        if entries is None:
            entries = self._known[word] = self._lexicon_locked().entries(word)
        return entries

    def _phrase_set(self, phrases: Sequence[str]) -> _PhraseSet | None:
        tokenized = [tokenize(p) for p in phrases]
        with self._build_lock:
            if self._closed:
                raise RuntimeError("recognizer pool is closed")
            normal = tuple(
                sorted(
                    {
                        kept
                        for words in tokenized
                        if (kept := tuple(w for w in words if self._entries_locked(w)))
                    }
                )
            )
            if not normal:
                return None
            cached = self._sets.get(normal)
            if cached is not None:
                self._sets.move_to_end(normal)
                return cached
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="liveavatar-stt-")
            text = "\n".join(" ".join(p) for p in normal) + "\n"
            key = hashlib.sha1(text.encode()).hexdigest()[:16]
            lm_path = Path(self._tmp.name) / f"{key}.arpa"
            dict_path = Path(self._tmp.name) / f"{key}.dict"
            model = ArpaBoLM(text=text, add_start=True)
            model.compute()
            model.write_file(str(lm_path))
            vocab = sorted({w for p in normal for w in p})
            lines = [line for w in vocab for line in self._entries_locked(w)]
            dict_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            phrase_set = _PhraseSet(key, normal, lm_path, dict_path)
            self._sets[normal] = phrase_set
            while len(self._sets) > self._max_sets:
                _, old = self._sets.popitem(last=False)
                old.lm_path.unlink(missing_ok=True)
                old.dict_path.unlink(missing_ok=True)
                with self._cond:
                    self._idle_small.pop(old.key, None)
            return phrase_set
