"""The product end to end in headless Chromium: speech from a WAV as the microphone, the
real frontend, backend and Live emulator (`liveavatar up`), the avatar's voice and mouth.

Each test generates its microphone WAV (espeak-ng, 1 s of leading silence) and launches
its own Chromium, since the fake microphone's file is a command-line flag.
"""

from __future__ import annotations

import re

import pytest
from bench._browser import MicAudio, Stack, mic_audio
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage

pytestmark = pytest.mark.slow

#: Short-answer phrases of the emulator's reply script ("My name is …", "Hello! I am …").
QUESTION = "what is your name"
GREETING = "hello there"
#: Answered with a two-sentence joke (about 5 s of speech): long enough to barge in on.
LONG_QUESTION = "tell me a joke"


def shoot_current_state(page: AvatarPage, prefix: str) -> None:
    """Screenshot whatever state the page is in right now (idle or connecting at start)."""
    page.screenshot(f"{prefix}-{page.hook('h.state')}")


def test_spoken_question_is_answered_aloud_with_a_moving_mouth(
    stack: Stack, open_page: OpenPage
) -> None:
    page = open_page(stack.page_url(), audio=mic_audio(QUESTION))
    shoot_current_state(page, "start")
    page.wait_state("listening")
    page.screenshot("listening")

    expect(page.transcript("user")).to_have_text(QUESTION, timeout=TURN_TIMEOUT_MS)
    page.wait_for_answer_audio()
    if page.hook("h.state") == "speaking":  # a short answer may be over already
        page.screenshot("speaking")
    page.wait_for_mouth_open()
    page.wait_event("turn_complete")
    expect(page.transcript("model")).to_have_count(1)
    assert page.transcript("model").inner_text().strip(), "the answer has a transcript"

    # At rest once the turn is over and the player reported it stopped.
    page.wait_event("playback-stopped")
    page.wait_quiet()
    assert page.hook("h.mouthOpenness()") < 0.05
    page.screenshot("listening-after-answer")
    types = [e["type"] for e in page.events()]
    assert types.index("mic-started") < types.index("playback-started")
    assert types.index("playback-started") < types.index("turn_complete")
    expect(page.testid("latency")).to_contain_text("first audio")
    expect(page.testid("error")).to_be_hidden()


def test_typed_text_gets_a_spoken_answer(stack: Stack, open_page: OpenPage) -> None:
    page = open_page(stack.page_url(autostart="0"))
    expect(page.testid("status")).to_have_attribute("data-state", "idle")
    page.screenshot("idle")
    expect(page.testid("send")).to_be_disabled()

    page.testid("start").click()  # a real user gesture starts the audio
    shoot_current_state(page, "after-start")
    expect(page.testid("send")).to_be_enabled(timeout=TURN_TIMEOUT_MS)
    page.wait_for("h.connected")
    page.testid("text-input").fill(QUESTION)
    page.testid("send").click()
    expect(page.testid("text-input")).to_have_value("")

    page.wait_for_answer_audio()
    page.wait_event("turn_complete")
    expect(page.transcript("model")).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    assert page.transcript("model").inner_text().strip()
    assert page.events("text-sent")[0]["text"] == QUESTION
    page.wait_quiet()


def barge_in_audio() -> MicAudio:
    """The long question, then a greeting 3 s after the question started: about a second
    into the answer (the emulator answers ~0.4 s after the end of a ~0.9 s phrase)."""
    audio = mic_audio(LONG_QUESTION, tail_ms=0)
    audio.pad_to(audio.phrases[0].start_ms + 3_000).say(GREETING)
    return audio.pause(1_000)


def test_speaking_over_the_avatar_interrupts_it_and_gets_an_answer(
    stack: Stack, open_page: OpenPage
) -> None:
    page = open_page(stack.page_url(), audio=barge_in_audio())
    page.wait_state("listening")

    page.wait_for_answer_audio()
    if page.hook("h.state") == "speaking":
        page.screenshot("speaking")
    page.wait_event("interrupted")
    page.wait_event("flushed")
    expect(page.transcript("user")).to_have_text([LONG_QUESTION, GREETING], timeout=TURN_TIMEOUT_MS)
    page.reset_peaks()
    page.wait_for_answer_audio()  # the greeting is answered aloud
    page.wait_event("turn_complete", after=1)
    page.wait_quiet()

    events = page.events()
    types = [e["type"] for e in events]
    interrupted = types.index("interrupted")
    flushed = types.index("flushed")
    assert interrupted < flushed, "the player is flushed because of the interruption"
    cut_turn = events[interrupted]["turn"]
    answer_turn = next(
        e["turn"]
        for e in events
        if e["type"] == "transcript" and e["role"] == "user" and e["text"] == GREETING
    )
    assert answer_turn > cut_turn
    completed = [e["turn"] for e in events if e["type"] == "turn_complete"]
    assert answer_turn in completed

    # Playback of the cut answer stopped before the next answer started: the player said
    # so, and the output level fell to (digital) silence in between.
    next_start = types.index("playback-started", flushed)
    assert "playback-stopped" in types[interrupted:next_start]
    probe = page.probe()
    flushed_t, next_start_t = events[flushed]["t"], events[next_start]["t"]
    between = [
        level
        for t, level in zip(probe["t"], probe["level"], strict=True)
        if flushed_t <= t <= next_start_t
    ]
    assert between, "the probe sampled the gap between the two answers"
    assert min(between) < 1e-4

    cut = page.page.locator(f'.entry[data-role="model"][data-turn="{cut_turn}"]')
    expect(cut).to_have_attribute("data-interrupted", "true")
    expect(page.transcript("model").last).to_have_attribute("data-turn", str(answer_turn))


def test_a_denied_microphone_shows_the_problem_and_typing_still_works(
    stack: Stack, open_page: OpenPage
) -> None:
    # Without --use-fake-ui-for-media-stream nobody accepts the permission prompt.
    page = open_page(stack.page_url(), grant_mic=False)
    banner = page.testid("error")
    expect(banner).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(banner).to_contain_text(re.compile("microphone", re.IGNORECASE))
    expect(banner).to_have_attribute("data-code", "mic_denied")
    page.screenshot("error")
    assert page.hook("h.lastError.code") == "mic_denied"
    assert page.events("mic-error")[0]["kind"] == "denied"
    assert not page.events("mic-started")

    # The session goes on without a microphone: typed text is still answered.
    page.wait_state("listening")
    expect(page.testid("send")).to_be_enabled()
    page.testid("text-input").fill(QUESTION)
    page.testid("send").click()
    page.wait_for_answer_audio()
    page.wait_event("turn_complete")
    expect(banner).to_be_visible()  # the microphone problem stays on screen
