"""What the fake microphone says in `bench.browser_latency` (and `bench.turn_trace`): 1 s of
silence, then blocks of speech separated by long silences. A "plain" block is one short
question; a "barge-in" block is "tell me a joke" followed, 1.4 s after it ended (about a
second into the answer), by a short question spoken over the avatar."""

from __future__ import annotations

from ._browser import MicAudio
from ._drawn_latency import Utterance
from ._speech import PIPER_VOICES

PLAIN = ["what is your name", "thank you", "how are you", "good morning", "who are you"]
BARGE_QUESTION = "tell me a joke"
OVERLAPS = ["what is your name", "thank you", "who are you", "what is your name", "thanks"]
#: The overlapping phrase starts this long after the question ends: the answer starts about
#: 0.4 s after the end of speech, so the user cuts in about a second into it.
OVERLAP_AFTER_END_MS = 1_400
#: Silence after a plain question: its answer (≤ 3.2 s) plus margin, so that answers never
#: overlap the next phrase unless meant to.
PLAIN_GAP_MS = 5_000
OVERLAP_GAP_MS = 4_500

VOICES = ("espeak", "piper")


def build_audio(blocks: int, voice: str = "espeak") -> tuple[MicAudio, list[Utterance]]:
    """Alternate plain and barge-in blocks; `blocks` of each, spoken by `voice`: espeak-ng
    (en-us+klatt4) or Piper's neural voice (bench/_speech.py, its normal rate)."""
    audio = MicAudio() if voice == "espeak" else MicAudio(speak=PIPER_VOICES[1].say)
    audio.pause(1_000)
    overlapping: set[int] = set()
    for b in range(blocks):
        audio.say(PLAIN[b % len(PLAIN)]).pause(PLAIN_GAP_MS)
        audio.say(BARGE_QUESTION).pause(OVERLAP_AFTER_END_MS)
        overlapping.add(len(audio.phrases))
        audio.say(OVERLAPS[b % len(OVERLAPS)]).pause(OVERLAP_GAP_MS)
    utterances = [
        Utterance(p.text, p.start_ms, p.end_ms, i in overlapping)
        for i, p in enumerate(audio.phrases)
    ]
    return audio, utterances
