"""One utterance at a time through a pair of decoders: the input level measured first,
partial words once stable, and the final text taken from the phrase LM only when it sounds
like what the general LM heard. The decoders come from `stt.RecognizerPool`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .phrases import Lexicon, PhraseSet, lcs, second_opinion

if TYPE_CHECKING:
    from .stt import PooledDecoder

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
        big: PooledDecoder,
        small: PooledDecoder | None,
        phrases: PhraseSet | None,
        lexicon: Lexicon | None,
        release: Callable[[], None],
    ) -> None:
        # `release` hands the decoders back to the pool they came from (once, at close).
        self._big, self._small, self._phrases = big, small, phrases
        self._lexicon, self._release = lexicon, release
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
            self._release()

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
