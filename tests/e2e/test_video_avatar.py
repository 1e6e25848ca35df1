"""The video-clip avatar in headless Chromium: with clips assigned to the persona, the idle
clip plays while the avatar is silent and the talking clip while its voice plays, measured
from the page; a clip that cannot load falls back to the drawn avatar with a notice.

The clips are WebM files Chromium itself records from a canvas (MediaRecorder), one
solid colour each, so the test needs no video tool; the persona naming them is saved in
the stack's store before `liveavatar up` starts, as the dashboard saves it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench._browser import Stack, launch_options, liveavatar_up
from playwright.sync_api import expect, sync_playwright

from liveavatar.store.persona_config import AvatarMedia
from tests.e2e.avatar_page import AvatarPage, OpenPage
from tests.support.personas import save_builtin_persona_blocking

pytestmark = pytest.mark.slow

IDLE_CLIP = "idle/green.webm"
TALKING_CLIP = "talking/magenta.webm"
#: Answered with two sentences (about 5 s of speech).
LONG_QUESTION = "tell me a joke"

#: Records `ms` of a canvas filled with one colour (a blinking corner, so frames differ)
#: as VP8 WebM; returns the file as base64.
RECORD_CLIP = """
async ([rgb, ms]) => {
  const canvas = Object.assign(document.createElement('canvas'), { width: 160, height: 120 });
  const g = canvas.getContext('2d');
  let n = 0;
  const draw = () => {
    g.fillStyle = `rgb(${rgb.join(',')})`;
    g.fillRect(0, 0, 160, 120);
    g.fillStyle = n++ % 2 ? '#000' : '#fff';
    g.fillRect(0, 0, 8, 8);
  };
  draw();
  const stream = canvas.captureStream(25);
  const recorder = new MediaRecorder(stream, { mimeType: 'video/webm;codecs=vp8' });
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  const timer = setInterval(draw, 40);
  recorder.start();
  await new Promise((resolve) => setTimeout(resolve, ms));
  recorder.stop();
  await stopped;
  clearInterval(timer);
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}
"""

#: Every 20 ms: the state, the output level and which clip is on screen (and playing).
CLIP_PROBE = """
(() => {
  const samples = (window.__clips = []);
  setInterval(() => {
    const h = window.__liveavatar;
    const v = document.querySelector('.avatar-clip:not([hidden])');
    samples.push({
      t: performance.now(),
      state: h.state,
      level: h.outputLevel(),
      clip: v ? v.className.replace(/.*avatar-clip-/, '') : null,
      playing: !!v && !v.paused && v.readyState >= 2 && v.videoWidth > 0,
    });
  }, 20);
})()
"""


def record_clips(media_dir: Path) -> None:
    """Write the idle (green) and talking (magenta) clips into the media folder."""
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options(None))
        try:
            page = browser.new_page()
            clips = {IDLE_CLIP: [40, 200, 60], TALKING_CLIP: [220, 40, 200]}
            for name, rgb in clips.items():
                data = base64.b64decode(page.evaluate(RECORD_CLIP, [rgb, 1500]))
                assert data[:4] == b"\x1a\x45\xdf\xa3", "a WebM (EBML) file"
                (media_dir / name).parent.mkdir(parents=True, exist_ok=True)
                (media_dir / name).write_bytes(data)
        finally:
            browser.close()


@pytest.fixture(scope="module")
def video_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("video-avatar")
    (workdir / "data").mkdir()
    record_clips(workdir / "media")
    save_builtin_persona_blocking(
        workdir / "data",
        avatar_media=AvatarMedia(idle=[IDLE_CLIP], talking=[TALKING_CLIP]),
        avatar_mode="clips",
    )
    with liveavatar_up(workdir) as stack:
        yield stack


def clip_samples(page: AvatarPage) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = page.page.evaluate("window.__clips")
    return samples


def test_idle_and_talking_clips_follow_the_voice(video_stack: Stack, open_page: OpenPage) -> None:
    # avatar=auto: the persona's choice (video) decides.
    page = open_page(video_stack.page_url(avatar="auto"))
    page.page.evaluate(CLIP_PROBE)
    page.wait_for("h.connected")
    page.wait_event("avatar-mode")
    assert page.events("avatar-mode")[0]["mode"] == "video"
    expect(page.page.locator("[data-avatar]")).to_have_attribute("data-mode", "video")
    page.wait_for("window.__clips.some((s) => s.clip === 'idle' && s.playing)")

    page.testid("text-input").fill(LONG_QUESTION)
    page.testid("send").click()
    page.wait_for_answer_audio()
    page.wait_for("window.__clips.some((s) => s.clip === 'talking' && s.playing)")
    page.screenshot("talking-clip")
    page.wait_event("turn_complete")
    page.wait_quiet()
    page.wait_for("window.__clips.at(-1).clip === 'idle' && window.__clips.at(-1).playing")

    samples = clip_samples(page)
    speaking = [s for s in samples if s["state"] == "speaking"]
    assert speaking, "the probe saw the avatar speak"
    assert all(s["clip"] == "talking" for s in speaking)
    # The talking clip was on screen while the voice was audible ...
    loud = [s for s in samples if s["level"] > 0.02]
    assert loud and sum(s["clip"] == "talking" for s in loud) >= 0.9 * len(loud)
    # ... and the idle clip before the answer and after it.
    first_talk = next(i for i, s in enumerate(samples) if s["clip"] == "talking")
    assert samples[first_talk - 1]["clip"] == "idle"
    # Silent while idle, but for at most the one probe (20 ms) just before the switch: the
    # level is read from the analyser at the voice's first samples, the clip switches on
    # the player's `playing` event, and the probe can fall between the two.
    assert all(s["level"] < 0.001 for s in samples[: first_talk - 1] if s["clip"] == "idle")
    expect(page.testid("error")).to_be_hidden()
    assert page.page.locator(".avatar-svg").is_hidden()


def test_a_clip_that_fails_to_load_falls_back_to_the_drawn_avatar_with_a_notice(
    video_stack: Stack, open_page: OpenPage
) -> None:
    media = video_stack.log.parent / "media"
    (media / TALKING_CLIP).write_bytes(b"not a video")
    page = open_page(video_stack.page_url(avatar="auto"))
    page.wait_event("avatar-fallback")
    assert page.events("avatar-fallback")[0]["kind"] == "talking"
    expect(page.page.locator("[data-avatar]")).to_have_attribute("data-mode", "drawn")
    expect(page.page.locator(".avatar-svg")).to_be_visible()
    banner = page.testid("error")
    expect(banner).to_have_attribute("data-code", "avatar_clip_failed")
    expect(banner).to_contain_text("drawn avatar")
    page.screenshot("fallback")

    # The conversation goes on with the drawn face's mouth moving.
    page.testid("text-input").fill("what is your name")
    page.testid("send").click()
    page.wait_for_mouth_open()
    page.wait_event("turn_complete")
