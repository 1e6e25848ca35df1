"""Streaming speech recognition for the Live API emulator: pocketsphinx biased to known phrases."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pocketsphinx

from .biaslm import Phrases, PhraseSets
from .phrases import PhraseSet, Segment, lcs, second_opinion

# The big decoder guards against out-of-domain speech and transcribes it. Its fwdflat
# pass cost 50-130 ms per end_utt for no accuracy gain on our data; capping active HMMs
# saved ~20% CPU for one word in 80. The small decoder keeps fwdflat (without it "good
# morning" became "what morning") and weighs its LM 1.5x the default: with many script
# lines starting with "what", klatt's "goodbye" came out as "what bye". That took
# in-script accuracy from 146 to 152 of 160 with no more out-of-domain speech forced.
_BIG_CONFIG: dict[str, Any] = {"fwdflat": False, "maxhmmpf": 3000, "maxwpf": 10}
_SMALL_CONFIG: dict[str, Any] = {"lw": 9.75, "fwdflatlw": 12.75, "bestpathlw": 14.25}

# pocketsphinx starts each utterance from a fixed cepstral mean that suits quiet input;
# loud speech (espeak at -18 dBFS) was misheard, so speech is scaled to this active level
# (best of -34/-37/-40/-43 over 5 espeak voices and speeds).
_TARGET_DBFS = -37.0
_GATE_DB = -45.0  # frames below this do not count toward the level estimate
_LEVEL_FRAMES = 10  # 20 ms frames of active speech measured before decoding starts
_MAX_HOLD_FRAMES = 50  # give up waiting for active speech after 1 s
_GAIN_RANGE = (0.05, 8.0)
_FRAME = 640  # bytes in 20 ms at 16 kHz
_BYTES_PER_MS = 32

# A partial word is emitted once unchanged for this much audio and not last.
_STABLE_MS = 200
# Phone-level agreement with the big LM (longest common subsequence share) needed to
# trust small-LM text. Tuned on 65 in-script and 150 out-of-domain espeak utterances:
# in-script "good morning" scored 0.30-0.56 against the big LM's "don't market";
# out-of-domain "good night", forced to "goodbye", scored 0.14.
_FINAL_AGREEMENT = 0.25
_PARTIAL_AGREEMENT = 0.5
# Requests holding a value (see _trust_small): phrases cover 70% of the words, and both
# the whole and the value-bearing phrase agree 0.4 with the big LM. Tuned by hand on 60
# spoken tool requests in klatt4, klatt and f2 and 30 everyday sentences in two voices:
# the requests this rescues scored at least 0.75 coverage and 0.42 agreement; the
# forced everyday sentences looser settings let through had 0.67 coverage or 0.30 local
# agreement.
_SLOT_COVERAGE = 0.7
_SLOT_AGREEMENT = 0.4


@dataclass(frozen=True)
class TranscriptUpdate:
    """Newly stable words to append to the utterance's transcript (may be empty)."""

    words: list[str]


class _Decoder:
    """A pocketsphinx decoder plus the state the pool tracks across owners."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.initial_cmn: str = decoder.get_cmn()
        self.in_utterance = False

    def start(self) -> None:
        if self.in_utterance:  # abandoned mid-utterance by a closed transcriber
            self.decoder.end_utt()
        # Always start from the same cepstral mean: results must not depend on which
        # session used this decoder before.
        self.decoder.set_cmn(self.initial_cmn)
        self.decoder.start_utt()
        self.in_utterance = True

    def words(self) -> list[str]:
        hyp = self.decoder.hyp()
        # Multi-word class members ("new_york") are single dictionary words.
        return hyp.hypstr.replace("_", " ").split() if hyp is not None else []

    def end(self) -> list[str]:
        self.decoder.end_utt()
        self.in_utterance = False
        return self.words()

    def segments(self) -> list[Segment]:
        """The words of the final hypothesis with their frames (fillers left out)."""
        out = []
        for seg in self.decoder.seg():
            word = seg.word.split("(", 1)[0]
            if not word.startswith(("<", "[", "+")):
                out.append(Segment(word.replace("_", " "), seg.start_frame, seg.end_frame))
        return out


def _frame_powers(pcm: bytes | bytearray) -> Any:
    n = len(pcm) // _FRAME
    frames = np.frombuffer(bytes(pcm[: n * _FRAME]), dtype="<i2").astype(np.float64)
    return np.mean(frames.reshape(n, _FRAME // 2) ** 2, axis=1) / 32768.0**2


def _gain_for(pcm: bytes | bytearray) -> float:
    """Gain bringing the active (above-gate) frames of ``pcm`` to the target level."""
    powers = _frame_powers(pcm)
    active = powers[powers >= 10.0 ** (_GATE_DB / 10.0)]
    if active.size == 0:
        return 1.0
    gain = float(np.sqrt(10.0 ** (_TARGET_DBFS / 10.0) / np.mean(active)))
    return min(max(gain, _GAIN_RANGE[0]), _GAIN_RANGE[1])


class StreamingTranscriber:
    """Recognises 16 kHz PCM16 LE mono speech, one utterance at a time.

    Get one from :meth:`RecognizerPool.transcriber`; :meth:`feed` the utterance's audio as
    it arrives, then :meth:`finish`. The next :meth:`feed` starts a new utterance on the
    same decoders; :meth:`close` hands them back to the pool.

    The audio runs through two decoders: a small LM built from the script phrases and the
    big general LM. The small LM's text is final only if it is a run of whole phrases and
    sounds like what the big LM heard (phone agreement >= 0.25); otherwise the big LM's
    text is, so out-of-domain speech is not forced into a script line. Partial words come
    from the small LM once unchanged for 200 ms of audio, never the last word, only while
    they still fit the script and sound like the big LM's current hypothesis.

    feed and finish are blocking CPU work that holds the GIL inside pocketsphinx: call
    them from a worker thread, one thread at a time per transcriber. Not thread-safe.
    """

    def __init__(
        self,
        pool: RecognizerPool,
        big: _Decoder,
        small: _Decoder | None,
        phrases: PhraseSet | None,
    ) -> None:
        self._pool, self._big, self._small, self._phrases = pool, big, small, phrases
        self._lexicon = pool._phrase_sets.lexicon if phrases is not None else None
        self._closed = False
        self._reset()

    def _reset(self) -> None:
        self._active = False
        self._gain: float | None = None
        self._held = bytearray()  # audio held back until the input level is known
        self._odd = b""  # dangling byte of a sample split across chunks
        self._decoded = 0  # bytes decoded in this utterance
        self._emitted: list[str] = []
        self._since: list[tuple[str, int]] = []  # (word, _decoded when it took its position)

    def feed(self, pcm: bytes) -> TranscriptUpdate:
        """Decode the next chunk of the utterance (any size; 20-100 ms is typical).

        Returns the words that became stable. The first ~200 ms of active speech are held
        back to measure the input level, so the first calls return nothing.
        """
        self._check_open()
        data = self._odd + pcm
        self._odd = data[len(data) & ~1 :]
        data = data[: len(data) & ~1]
        if not data:
            return TranscriptUpdate([])
        if not self._active:
            for dec in (self._big, self._small):
                if dec is not None:
                    dec.start()
            self._active = True
        if self._gain is None:
            self._held += data
            powers = _frame_powers(self._held)
            active = int(np.count_nonzero(powers >= 10.0 ** (_GATE_DB / 10.0)))
            if active == 0 and len(powers) > _MAX_HOLD_FRAMES:
                # Nothing loud yet (e.g. manual activity starting in silence): decode the
                # quiet audio as is rather than hold it forever.
                cut = (len(powers) - _LEVEL_FRAMES) * _FRAME
                self._decode(bytes(self._held[:cut]), 1.0)
                del self._held[:cut]
                return TranscriptUpdate([])
            if active < _LEVEL_FRAMES and len(powers) < _MAX_HOLD_FRAMES:
                return TranscriptUpdate([])
            self._gain, data = _gain_for(self._held), bytes(self._held)
            self._held.clear()
        self._decode(data, self._gain)
        return TranscriptUpdate(self._stable_words())

    def finish(self) -> tuple[TranscriptUpdate, str]:
        """End the utterance; return the remaining words and the full final text.

        The final text is lower-case words joined by single spaces ("" if nothing was
        recognised). Normally the partial words plus the remaining words spell it exactly.
        If the final hypothesis contradicts words already emitted, the remaining words are
        the final words past the emitted count; the final text is authoritative.
        """
        self._check_open()
        if not self._active:
            self._reset()
            return TranscriptUpdate([]), ""
        if self._gain is None:
            self._decode(bytes(self._held), _gain_for(self._held))
        final = big = self._big.end()
        if self._small is not None and self._phrases is not None:
            small = self._small.end()
            if self._trust_small(small, big):
                final = small
                if self._phrases.classes:
                    final = (
                        second_opinion(
                            self._small.segments(), self._big.segments(), self._phrases.classes
                        )
                        or small
                    )
        rest = final[len(self._emitted) :]
        self._reset()
        return TranscriptUpdate(rest), " ".join(final)

    def close(self) -> None:
        """Return the decoders to the pool. Idempotent, cheap and non-blocking, so it may be
        called from the event loop; an unfinished utterance is ended by the next user."""
        if not self._closed:
            self._closed = True
            self._pool._release(self._big, self._small, self._phrases)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("transcriber is closed")

    def _trust_small(self, small: list[str], big: list[str]) -> bool:
        """Whether the small LM's final words, rather than the big LM's, are the transcript.

        Without a value slot ("[city]") they must be a run of whole phrases that sounds
        like what the big LM heard. With one, the small LM was choosing among hundreds
        of values, so more must hold: phrases cover most of the words (a wrong filler
        word is forgiven: "what do start a timer for ten minutes"), the whole sounds like
        the big LM's words, and so does the longest value-bearing phrase ("timer for
        [number] minutes") like the big LM's words in the same frames.
        """
        assert self._phrases is not None and self._small is not None
        share, span = self._phrases.coverage(small)
        if span is None:
            return self._phrases.is_sequence(small) and self._agrees(small, big, _FINAL_AGREEMENT)
        if share < _SLOT_COVERAGE or not self._agrees(small, big, _SLOT_AGREEMENT):
            return False
        timed = [(w, seg) for seg in self._small.segments() for w in seg.word.split()]
        if [w for w, _ in timed] != small:
            return False
        start, end = timed[span[0]][1].start, timed[span[1] - 1][1].end
        heard = [
            b.word
            for b in self._big.segments()
            if min(b.end, end) - max(b.start, start) > (b.end - b.start) / 2
        ]
        return self._agrees(small[span[0] : span[1]], heard, _SLOT_AGREEMENT)

    def _agrees(self, small: Sequence[str], big: Sequence[str], threshold: float) -> bool:
        """Whether the big LM's words sound like ``small``: their longest common phone
        subsequence covers ``threshold`` of the longer phone string."""
        if self._lexicon is None or not small:
            return False
        a, b = self._lexicon.phones(small), self._lexicon.phones(big)
        return lcs(a, b) >= threshold * max(len(a), len(b))

    def _decode(self, pcm: bytes, gain: float) -> None:
        if pcm and gain != 1.0:
            scaled = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * gain
            pcm = np.clip(scaled, -32768, 32767).astype("<i2").tobytes()
        for dec in (self._big, self._small):
            if dec is not None and pcm:
                dec.decoder.process_raw(pcm)
        self._decoded += len(pcm)

    def _stable_words(self) -> list[str]:
        words = (self._small or self._big).words()
        now = self._decoded
        old = self._since
        self._since = [
            old[i] if i < len(old) and old[i][0] == w else (w, now) for i, w in enumerate(words)
        ]
        if words[: len(self._emitted)] != self._emitted:
            return []  # the hypothesis currently contradicts what was emitted: wait
        stable = 0
        while (
            stable < len(words) - 1 and now - self._since[stable][1] >= _STABLE_MS * _BYTES_PER_MS
        ):
            stable += 1
        new = words[len(self._emitted) : stable]
        if self._phrases is not None:
            # Values wait for the final text, which may revise them (second_opinion), and
            # so does "what" while "what's" could still take its place.
            held = self._phrases.held_back
            new = new[: next((i for i, w in enumerate(new) if w in held), len(new))]
        if self._phrases is not None and new:
            # Small-LM words must still fit the script and sound like what the big LM hears,
            # else out-of-domain speech would leak forced script words as partials.
            big = self._big.words()
            while new and not (
                self._phrases.is_prefix(self._emitted + new)
                and self._agrees(
                    self._emitted + new, big[: len(self._emitted) + len(new)], _PARTIAL_AGREEMENT
                )
            ):
                new.pop()
        self._emitted.extend(new)
        return new


class RecognizerPool:
    """Process-wide, thread-safe supply of decoder pairs (big LM + small phrase LM).

    Build one per server process. Models load lazily: a big decoder (~0.3-0.6 s, ~95 MB)
    on first use or :meth:`warm_up`, a small decoder (~0.03-0.1 s, ~8 MB) per phrase set.
    At most ``max_decoders`` pairs exist; :meth:`transcriber` waits while all are in use.
    Small LMs are cached per distinct phrase list (up to ``max_phrase_sets``) as files in
    a temporary directory that :meth:`close` removes. Methods may be called from any
    thread; :meth:`transcriber` and :meth:`warm_up` block, so call them via
    ``asyncio.to_thread``.
    """

    def __init__(self, *, max_decoders: int = 8, max_phrase_sets: int = 32) -> None:
        if max_decoders < 1 or max_phrase_sets < 1:
            raise ValueError("pool sizes must be positive")
        self._max_decoders = max_decoders
        self._cond = threading.Condition()  # guards the decoder inventory
        self._idle_big: list[_Decoder] = []
        self._n_big = 0  # big decoders in existence, including ones being loaded
        self._idle_small: dict[str, list[_Decoder]] = {}
        self._phrase_sets = PhraseSets(max_phrase_sets, self._forget_small)
        self._closed = False

    def warm_up(self) -> None:
        """Load a big decoder and the pronunciation dictionary now (blocking, ~0.5 s)."""
        self._release(self._checkout_big(None), None, None)
        self._phrase_sets.lexicon  # noqa: B018 - loading it is the point

    def transcriber(
        self, phrases: Phrases, *, timeout: float | None = None
    ) -> StreamingTranscriber:
        """Return a transcriber biased toward ``phrases`` (blocking: may load or wait).

        ``phrases`` are free text (script lines; a tuple is a group, such as one tool's
        carrier sentences, see :mod:`biaslm`), normalised with :func:`phrases.tokenize`;
        words missing from the dictionary are dropped. With no usable phrase only the big
        LM runs. Raises ``TimeoutError`` if no decoder frees up within ``timeout``
        seconds and ``RuntimeError`` after :meth:`close`.
        """
        phrase_set = self._phrase_sets.get(phrases)
        big = self._checkout_big(timeout)
        try:
            small = self._checkout_small(phrase_set) if phrase_set is not None else None
        except BaseException:
            self._release(big, None, None)
            raise
        return StreamingTranscriber(self, big, small, phrase_set)

    def close(self) -> None:
        """Drop idle decoders and delete temporary files; checked-out decoders are freed
        when their transcribers close."""
        with self._cond:
            self._closed = True
            self._n_big -= len(self._idle_big)
            self._idle_big.clear()
            self._idle_small.clear()
            self._cond.notify_all()
        self._phrase_sets.close()

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
        try:  # load outside the lock so other threads can take and return decoders
            return _Decoder(pocketsphinx.Decoder(loglevel="FATAL", **_BIG_CONFIG))
        except BaseException:
            with self._cond:
                self._n_big -= 1
                self._cond.notify()
            raise

    def _checkout_small(self, phrase_set: PhraseSet) -> _Decoder:
        with self._cond:
            idle = self._idle_small.get(phrase_set.key)
            if idle:
                return idle.pop()
        with self._phrase_sets.loading(phrase_set) as files:
            return _Decoder(pocketsphinx.Decoder(loglevel="FATAL", **files, **_SMALL_CONFIG))

    def _forget_small(self, key: str) -> None:
        with self._cond:
            self._idle_small.pop(key, None)

    def _release(self, big: _Decoder, small: _Decoder | None, pset: PhraseSet | None) -> None:
        with self._cond:
            if self._closed:
                self._n_big -= 1
                self._cond.notify_all()
                return
            self._idle_big.append(big)
            if small is not None and pset is not None:
                self._idle_small.setdefault(pset.key, []).append(small)
                # At most one idle small decoder per possible pair; oldest sets go first.
                excess = sum(map(len, self._idle_small.values())) - self._max_decoders
                for key in list(self._idle_small):
                    drop = min(excess, len(self._idle_small[key]))
                    del self._idle_small[key][:drop]
                    excess -= drop
                    if not self._idle_small[key]:
                        del self._idle_small[key]
            self._cond.notify()
