"""Speech recognition for the Live API emulator: the process's pocketsphinx decoders,
each pair a big general LM and a small LM biased to known phrases, lent to one
`StreamingTranscriber` (`transcriber.py`) at a time."""

from __future__ import annotations

import threading
import time
from typing import Any

import pocketsphinx

from .biaslm import Phrases, PhraseSets
from .phrases import PhraseSet, Segment
from .transcriber import StreamingTranscriber

# The big decoder guards against out-of-domain speech and transcribes it. Its fwdflat
# pass cost 50-130 ms per end_utt for no accuracy gain on our data; capping active HMMs
# saved ~20% CPU for one word in 80. The small decoder keeps fwdflat (without it "good
# morning" became "what morning") and weighs its LM 1.5x the default: with many script
# lines starting with "what", klatt's "goodbye" came out as "what bye". That took
# in-script accuracy from 146 to 152 of 160 with no more out-of-domain speech forced.
_BIG_CONFIG: dict[str, Any] = {"fwdflat": False, "maxhmmpf": 3000, "maxwpf": 10}
_SMALL_CONFIG: dict[str, Any] = {"lw": 9.75, "fwdflatlw": 12.75, "bestpathlw": 14.25}


class PooledDecoder:
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
        self._idle_big: list[PooledDecoder] = []
        self._n_big = 0  # big decoders in existence, including ones being loaded
        self._idle_small: dict[str, list[PooledDecoder]] = {}
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
        lexicon = self._phrase_sets.lexicon if phrase_set is not None else None
        return StreamingTranscriber(
            big, small, phrase_set, lexicon, lambda: self._release(big, small, phrase_set)
        )

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

    def _checkout_big(self, timeout: float | None) -> PooledDecoder:
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
            return PooledDecoder(pocketsphinx.Decoder(loglevel="FATAL", **_BIG_CONFIG))
        except BaseException:
            with self._cond:
                self._n_big -= 1
                self._cond.notify()
            raise

    def _checkout_small(self, phrase_set: PhraseSet) -> PooledDecoder:
        with self._cond:
            idle = self._idle_small.get(phrase_set.key)
            if idle:
                return idle.pop()
        with self._phrase_sets.loading(phrase_set) as files:
            return PooledDecoder(pocketsphinx.Decoder(loglevel="FATAL", **files, **_SMALL_CONFIG))

    def _forget_small(self, key: str) -> None:
        with self._cond:
            self._idle_small.pop(key, None)

    def _release(
        self, big: PooledDecoder, small: PooledDecoder | None, pset: PhraseSet | None
    ) -> None:
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
