"""Push-to-talk and mute in headless Chromium, checked below the page: the backend's own
count of the microphone frames it received (/metrics) says whether audio left the page.

The fake microphone plays its WAV on its own clock from the moment the page opens it; the
tests act at points of that file (`AvatarPage.wait_mic_time`), the way a person speaks
and presses keys at moments of their choosing.
"""

from __future__ import annotations

import pytest
from bench._browser import MicAudio, Stack, mic_audio
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.e2e.backend_counters import AUDIO_ENDS, AUDIO_FRAMES, counter, wait_counter_above

pytestmark = pytest.mark.slow

#: Said while the key is up or the microphone muted: the model must never hear it.
UNHEARD = "tell me a joke"
QUESTION = "what is your name"
GREETING = "hello there"
#: Speech that runs on right after the question, so no silence follows it in the file.
RUN_ON = "how are you today"


def user_texts(page: AvatarPage) -> list[str]:
    return [e["text"] for e in page.events("transcript") if e["role"] == "user" and e["final"]]


def ptt_audio() -> MicAudio:
    """A phrase while the key is up, then the question with speech running on after it:
    released during that speech, the turn can only end through `audio_end`, since the
    backend never receives the silence a voice-activity detector would wait for.

    The key goes down seconds before the question and comes up seconds before the speech
    runs out: on a loaded machine each step of the test can lag the file by a second."""
    # The gap is shorter than any end-of-speech silence a detector waits for.
    audio = mic_audio(UNHEARD, 4_000, QUESTION, 150, lead_ms=1_000, tail_ms=0)
    for _ in range(6):
        audio.say(RUN_ON)
    return audio.pause(1_000)


def test_push_to_talk_sends_only_while_held_and_release_ends_the_turn(
    stack: Stack, open_page: OpenPage
) -> None:
    audio = ptt_audio()
    unheard, question = audio.phrases[0], audio.phrases[1]
    run_on_end = audio.phrases[-1].end_ms
    page = open_page(stack.page_url(mode="ptt"), audio=audio)
    page.wait_state("listening")
    page.wait_for("h.connected")
    expect(page.testid("mode")).to_be_checked(timeout=TURN_TIMEOUT_MS)
    expect(page.testid("talk")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(page.testid("status")).to_contain_text("Hold Space to talk", timeout=TURN_TIMEOUT_MS)
    frames = counter(stack, AUDIO_FRAMES)
    ends = counter(stack, AUDIO_ENDS)

    # Key up: the phrase plays into the microphone and nothing reaches the backend.
    page.wait_mic_time(unheard.end_ms + 1_500)
    assert counter(stack, AUDIO_FRAMES) == frames
    assert user_texts(page) == []
    assert not page.events("turn_complete")

    # Held from well before the question (now, 2.5 s ahead of it) until the speech after
    # it is under way.
    page.page.keyboard.down("Space")
    expect(page.testid("talk")).to_have_attribute("aria-pressed", "true", timeout=TURN_TIMEOUT_MS)
    wait_counter_above(stack, AUDIO_FRAMES, frames)
    page.wait_mic_time(question.end_ms + 300)
    page.page.keyboard.up("Space")
    page.wait_event("audio-end-sent")
    wait_counter_above(stack, AUDIO_ENDS, ends)
    # Frames and `audio_end` share one ordered socket: every frame sent before the
    # release is counted by now.
    sent = counter(stack, AUDIO_FRAMES)
    released = page.events("talk")[-1]
    assert released["held"] is False
    mic_start = page.events("mic-started")[0]["t"]
    assert released["t"] - mic_start < run_on_end, "released while the speech still ran"

    # The turn ends on the release: transcript, answer, and no frame since.
    page.wait_for("h.events.some((e) => e.type === 'transcript' && e.role === 'user' && e.final)")
    page.wait_event("turn_complete")
    texts = user_texts(page)
    # What was held is heard (the words after it depend on where the release cut).
    assert len(texts) == 1 and texts[0].startswith("what is your"), texts
    assert UNHEARD not in texts[0]
    assert counter(stack, AUDIO_FRAMES) == sent
    # The answer's line is final once its voice has been heard to the end.
    expect(page.transcript("model")).to_have_count(1, timeout=TURN_TIMEOUT_MS)

    # The on-screen button does the same as the key.
    ends = counter(stack, AUDIO_ENDS)
    talk = page.testid("talk").bounding_box()
    assert talk is not None
    page.page.mouse.move(talk["x"] + talk["width"] / 2, talk["y"] + talk["height"] / 2)
    page.page.mouse.down()
    expect(page.testid("talk")).to_have_attribute("aria-pressed", "true", timeout=TURN_TIMEOUT_MS)
    wait_counter_above(stack, AUDIO_FRAMES, sent)
    page.page.mouse.up()
    expect(page.testid("talk")).to_have_attribute("aria-pressed", "false", timeout=TURN_TIMEOUT_MS)
    wait_counter_above(stack, AUDIO_ENDS, ends)


def test_the_push_to_talk_choice_survives_a_reload(stack: Stack, open_page: OpenPage) -> None:
    page = open_page(stack.page_url(autostart="0"))
    mode, talk = page.testid("mode"), page.testid("talk")
    expect(mode).not_to_be_checked()
    expect(talk).to_be_hidden()
    mode.check()
    expect(talk).to_be_visible()

    page.page.reload()
    expect(mode).to_be_checked()
    expect(talk).to_be_visible()
    mode.uncheck()
    page.page.reload()
    expect(mode).not_to_be_checked()
    expect(talk).to_be_hidden()


def mute_audio() -> MicAudio:
    """A phrase while muted, then the question twice (the first may be cut by the moment
    of unmuting)."""
    audio = MicAudio().pause(2_000).say(UNHEARD).pad_to(10_000).say(QUESTION)
    return audio.pad_to(20_000).say(QUESTION).pause(1_000)


def test_mute_sends_nothing_typing_still_works_and_unmute_resumes(
    stack: Stack, open_page: OpenPage
) -> None:
    audio = mute_audio()
    unheard = audio.phrases[0]
    page = open_page(stack.page_url(autostart="0"), audio=audio)
    page.testid("start").click()
    page.testid("mute").click()
    expect(page.testid("mute")).to_have_attribute("aria-pressed", "true")
    page.wait_event("mic-started")
    muted_at = page.events("mute")[0]["t"]
    assert muted_at - page.events("mic-started")[0]["t"] < unheard.start_ms
    page.wait_for("h.connected")
    frames = counter(stack, AUDIO_FRAMES)
    expect(page.testid("status")).to_contain_text("Muted")

    page.testid("text-input").fill(GREETING)
    page.testid("send").click()
    page.wait_event("turn_complete")
    page.wait_mic_time(unheard.end_ms + 1_500)
    assert counter(stack, AUDIO_FRAMES) == frames, "no microphone frame while muted"
    assert user_texts(page) == [GREETING]

    page.testid("mute").click()
    expect(page.testid("mute")).to_have_attribute("aria-pressed", "false")
    wait_counter_above(stack, AUDIO_FRAMES, frames)
    page.wait_for(
        "h.events.some((e) => e.type === 'transcript' && e.role === 'user' && e.final"
        " && e.text === arg)",
        QUESTION,
        timeout_ms=2 * TURN_TIMEOUT_MS,
    )
    page.wait_event("turn_complete", after=1)
    assert UNHEARD not in user_texts(page)
