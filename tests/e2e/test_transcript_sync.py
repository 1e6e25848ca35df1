"""The model's transcript follows its voice, in headless Chromium against the emulator.

Nothing here asks the page's clock or pacer for the truth. The emulator speaks its reply
one sentence at a time (espeak-ng, paced at real time), so when each sentence is heard
shows in the audio itself: the page's AnalyserNode level (what was rendered), moved by
how far the render runs ahead of the output device (the AudioContext's own timestamps,
sampled by bench.browser_latency's instrumentation) to when it is heard, with the longest
silence inside the answer as the boundary between its two sentences. Time is counted
while the player plays (a busy machine makes it run dry now and then, which delays the
words, not the text's place in the voice). Within a sentence words are spread by their
characters. Against that, an init script samples the words the transcript shows every
10 ms.

Then a barge-in on the same answer: the backend stores, beside the generated text, the
heard text the page reported, which must be a prefix of it ending near where the voice
was cut (placed by the first answer's timing, at the same played time).
"""

from __future__ import annotations

import bisect
import itertools
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from bench._browser import MicAudio, Stack, mic_audio
from bench._page_instruments import BENCH_SCRIPT

from liveavatar.store import DB_FILENAME
from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage

pytestmark = pytest.mark.slow

QUESTION = "tell me a joke"
GREETING = "hello there"
JOKE = ["Why did the scarecrow win an award?", "Because he was outstanding in his field."]
SOUND = 10 ** (-48 / 20)  # the level bench.browser_latency counts as sound
#: Words the transcript may be away from the words heard (a word is shown as it starts;
#: the truth spreads words by characters, the page by syllables).
TOLERANCE_WORDS = 2

SHOWN_SCRIPT = """
(() => {
  const shown = { t: [], turn: [], words: [] };
  window.__shown = shown;
  setInterval(() => {
    const all = document.querySelectorAll('[data-testid="transcript"] .entry[data-role="model"]');
    const last = all[all.length - 1];
    shown.t.push(performance.now());
    shown.turn.push(last ? Number(last.dataset.turn) : 0);
    shown.words.push(last ? last.textContent.split(/\\s+/).filter(Boolean).length : 0);
  }, 10);
})();
"""


def joke_twice_audio() -> MicAudio:
    """The question, its whole answer heard; the question again, cut about a second into
    the answer by a greeting."""
    audio = mic_audio(QUESTION, tail_ms=0).pause(8_000).say(QUESTION)
    return audio.pad_to(audio.phrases[1].start_ms + 2_500).say(GREETING).pause(1_500)


def word_starts(sentence: str) -> list[float]:
    """Where each word of `sentence` starts, as a fraction of its characters."""
    starts, at = [], 0
    for word in sentence.split():
        starts.append(at / len(sentence))
        at += len(word) + 1
    return starts


def spoken_words(at: float, spans: list[tuple[float, float]]) -> int:
    """Words of the joke started by played time `at`, given each sentence's span."""
    count = 0
    for sentence, (start, end) in zip(JOKE, spans, strict=True):
        if at < start:
            return count
        frac = (at - start) / (end - start)
        count += sum(1 for s in word_starts(sentence) if s <= frac)
    return count


class Heard:
    """The probe's samples moved to when what they read is heard: sound, and the time
    played so far (counted while the player plays)."""

    def __init__(self, state: dict[str, Any]) -> None:
        ahead = statistics.median(state["clock"]["renderAheadMs"])
        half_window = 512 / state["sampleRate"] * 1000
        probe = state["probe"]
        self.t: list[float] = [float(x) + ahead - half_window for x in probe["t"]]
        self.sound: list[bool] = [level > SOUND for level in probe["level"]]
        self.played: list[float] = [0.0]
        for i in range(1, len(self.t)):
            step = self.t[i] - self.t[i - 1] if probe["speaking"][i - 1] else 0.0
            self.played.append(self.played[-1] + step)

    def played_at(self, at: float) -> float:
        """Played time at heard time `at`."""
        i = max(0, bisect.bisect_right(self.t, at) - 1)
        return self.played[i]

    def first_sound(self, after: float) -> float:
        return min(x for x, s in zip(self.t, self.sound, strict=True) if s and x >= after)

    def sentence_spans(self, start: float, end: float) -> list[tuple[float, float]]:
        """The two sentences' spans in played time: sound in [start, end] split at its
        longest silence."""
        times = [x for x, s in zip(self.t, self.sound, strict=True) if s and start <= x <= end]
        assert len(times) > 100, "the answer was heard"
        gap, i = max((b - a, i) for i, (a, b) in enumerate(itertools.pairwise(times)))
        assert gap > 60, f"a pause between the sentences ({gap:.0f} ms)"
        edges = [(times[0], times[i]), (times[i + 1], times[-1])]
        return [(self.played_at(a), self.played_at(b)) for a, b in edges]


def stored_av_offsets(data_dir: Path, conversation: str) -> list[float | None]:
    """The A/V offsets stored with the conversation's answers, in turn order."""
    with sqlite3.connect(f"file:{data_dir / DB_FILENAME}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT av_offset_ms FROM messages WHERE conversation_id = ? AND role = 'model'"
            " ORDER BY turn_index",
            (conversation,),
        ).fetchall()
    return [None if r[0] is None else float(r[0]) for r in rows]


def stored_cut(data_dir: Path, conversation: str, *, timeout_s: float = 10.0) -> tuple[str, str]:
    """The interrupted answer's generated and heard text, once the page's report is stored."""
    deadline = time.monotonic() + timeout_s
    db = data_dir / DB_FILENAME
    while True:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT text, heard_text FROM messages WHERE conversation_id = ?"
                " AND role = 'model' AND interrupted = 1 AND heard_text IS NOT NULL",
                (conversation,),
            ).fetchone()
        if row is not None:
            return str(row[0]), str(row[1])
        assert time.monotonic() < deadline, "the heard text of the cut answer was stored"
        time.sleep(0.1)


def test_the_transcript_follows_the_voice_and_the_heard_text_is_stored(
    stack: Stack, open_page: OpenPage
) -> None:
    page: AvatarPage = open_page(
        stack.page_url(), audio=joke_twice_audio(), init_scripts=[BENCH_SCRIPT, SHOWN_SCRIPT]
    )
    page.wait_event("interrupted", timeout_ms=TURN_TIMEOUT_MS + 15_000)
    page.wait_for(
        "h.heard.some((x) => x.interrupted) && h.heard.length >= 2",
        timeout_ms=TURN_TIMEOUT_MS,
    )
    state = page.page.evaluate(
        """() => ({
          events: window.__liveavatar.events, heard: window.__liveavatar.heard,
          sessionId: window.__liveavatar.sessionId,
          probe: window.__probe, shown: window.__shown, clock: window.__bench.clock,
          sampleRate: window.__bench.contexts[0].sampleRate,
        })"""
    )
    events = state["events"]
    model = [e for e in events if e["type"] == "transcript" and e["role"] == "model"]
    first_turn = next(e["turn"] for e in model if e["text"].startswith("Why did"))
    full, cut = state["heard"][0], next(h for h in state["heard"] if h["interrupted"])
    assert full["turn"] == first_turn and not full["interrupted"]
    assert full["words"] == full["total"] == 14, "all of the first answer was heard"

    # The first answer: the words shown at each moment are the words heard by then.
    heard = Heard(state)
    arrived = next(e["t"] for e in model if e["turn"] == first_turn)
    ended = next(e["t"] for e in events if e["type"] == "turn_complete" and e["t"] > arrived)
    spans = heard.sentence_spans(arrived, ended + 1_000)
    start = heard.first_sound(arrived)
    shown = state["shown"]
    samples = [
        (heard.played_at(at), words)
        for at, turn, words in zip(shown["t"], shown["turn"], shown["words"], strict=True)
        if (turn == first_turn or (turn < first_turn and at >= arrived))
        and start - 300 <= at
        and heard.played_at(at) <= spans[1][1]
    ]
    assert len(samples) > 200
    errors = [(words - spoken_words(at, spans), at) for at, words in samples]
    worst, when = max(errors, key=lambda e: abs(e[0]))
    assert abs(worst) <= TOLERANCE_WORDS, (
        f"{worst:+d} words at {when:.0f} ms of the answer played (spans {spans})"
    )
    # Not a sentence at a time: the words of the first sentence came one after another.
    assert len({w for at, w in samples if spans[0][0] <= at <= spans[0][1]}) >= 5

    # The cut answer: the stored heard text is a prefix of the generated text that ends
    # near where the voice stopped.
    generated, text = stored_cut(stack.log.parent / "data", state["sessionId"])
    assert generated.split()[: len(text.split())] == text.split()
    assert len(text.split()) == cut["words"] < len(generated.split())
    cut_start = heard.first_sound(next(e["t"] for e in model if e["turn"] == cut["turn"]))
    flushed = next(e["t"] for e in events if e["type"] == "flushed" and e["t"] > cut_start)
    # What the first answer had said by the time the cut answer had played as long.
    played = heard.played_at(flushed + 40) - heard.played_at(cut_start)
    expected = spoken_words(spans[0][0] + played, spans)
    assert abs(cut["words"] - expected) <= TOLERANCE_WORDS, (cut, expected, played)

    # The page measured its own audio/video offset over the whole first answer and the
    # backend stored it with that turn.
    assert full["avOffsetMs"] is not None
    offsets = stored_av_offsets(stack.log.parent / "data", state["sessionId"])
    assert offsets[0] == full["avOffsetMs"]
