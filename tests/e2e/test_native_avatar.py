"""The native avatar in headless Chromium against the emulator (docs/AVATARS.md): a spoken
question gets a playing <video> whose time advances and whose sound is heard, a barge-in
stops it at once, and a refused avatar falls back to the drawn one with a notice while the
conversation goes on.

The persona is saved in the stack's store before the page opens (`PERSONA_CACHE_S=0`, so
each test's persona applies to its session); the refused case uses the emulator's marker
for the safety filter's late refusal: a reference image that is mostly pure red (1008
after `setupComplete`, docs/EMULATOR.md).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from bench._browser import Stack, liveavatar_up, mic_audio
from PIL import Image
from playwright.sync_api import expect

from liveavatar.live.avatar import REFERENCE_IMAGES_PREFIX
from liveavatar.live.persona import Persona
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore
from tests.e2e.avatar_page import AvatarPage, OpenPage
from tests.e2e.test_conversation import QUESTION, barge_in_audio

pytestmark = pytest.mark.slow

RED_IMAGE = f"{REFERENCE_IMAGES_PREFIX}red.png"

#: Every 20 ms once the native <video> exists: its time, state, the media buffered ahead
#: of the play head, and the energy of its sound (WebAudio, from the element itself).
VIDEO_PROBE = """
(() => {
  const samples = (window.__video = []);
  let analyser = null;
  const buf = new Float32Array(1024);
  setInterval(() => {
    const v = document.querySelector('video.avatar-native');
    if (!v) return;
    if (!analyser) {
      const ctx = new AudioContext();
      analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      const source = ctx.createMediaElementSource(v);
      source.connect(analyser);
      analyser.connect(ctx.destination);
    }
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    const b = v.buffered;
    samples.push({
      t: performance.now(),
      time: v.currentTime,
      paused: v.paused,
      muted: v.muted,
      volume: v.volume,
      ready: v.readyState,
      width: v.videoWidth,
      height: v.videoHeight,
      ahead: b.length ? b.end(b.length - 1) - v.currentTime : 0,
      audioBytes: v.webkitAudioDecodedByteCount ?? 0,
      rms: Math.sqrt(sum / buf.length),
    });
  }, 20);
})()
"""


async def save_persona(data_dir: Path, **avatar: Any) -> None:
    base = Persona()
    store = SQLiteStore(data_dir / DB_FILENAME)
    try:
        await store.put_persona(
            PersonaConfig(
                name=base.name,
                model=base.model,
                voice=base.voice,
                system_instruction=base.system_instruction,
                tools=list(base.tools),
                avatar_mode="native",
                **avatar,
            ),
            expected_version=None,
        )
    finally:
        await store.close()


def use_persona(stack: Stack, **avatar: Any) -> None:
    # In a thread of its own: the test's Playwright runs a loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, save_persona(stack.log.parent / "data", **avatar)).result()


@pytest.fixture(scope="module")
def native_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("native-avatar")
    (workdir / "data").mkdir()
    red = io.BytesIO()
    Image.new("RGB", (720, 1280), (230, 10, 10)).save(red, format="PNG")
    (workdir / "media" / REFERENCE_IMAGES_PREFIX).mkdir(parents=True)
    (workdir / "media" / RED_IMAGE).write_bytes(red.getvalue())
    with liveavatar_up(workdir, env={"PERSONA_CACHE_S": "0"}) as stack:
        yield stack


def samples(page: AvatarPage) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = page.page.evaluate("window.__video")
    return got


def open_native(stack: Stack, open_page: OpenPage, audio: Any) -> AvatarPage:
    page = open_page(stack.page_url(avatar="auto"), audio=audio)
    page.page.evaluate(VIDEO_PROBE)
    return page


def test_a_spoken_question_gets_a_playing_video_with_sound(
    native_stack: Stack, open_page: OpenPage
) -> None:
    use_persona(native_stack, native_avatar="Kira")
    page = open_native(native_stack, open_page, mic_audio(QUESTION))
    page.wait_event("native-type")
    chosen = page.events("native-type")[0]
    assert chosen["codecs"] == "avc1.42C020, mp4a.40.2"  # sniffed from the init segment
    assert chosen["mime"] == 'video/mp4; codecs="avc1.42C020, mp4a.40.2"'
    expect(page.page.locator("[data-avatar]")).to_have_attribute("data-mode", "native")
    expect(page.transcript("user")).to_have_count(1, timeout=30_000)  # the question heard
    # Playing: the time advances, with a picture and decoded, audible sound.
    page.wait_for(
        "window.__video.some((s) => !s.paused && s.time > 0.5 && s.width > 0 && s.rms > 0.01)"
    )
    page.screenshot("native-speaking")
    page.wait_event("turn_complete")
    got = samples(page)
    playing = [s for s in got if not s["paused"] and s["ready"] >= 2]
    assert playing[-1]["time"] > playing[0]["time"] + 0.5
    assert all(not s["muted"] and s["volume"] > 0 for s in got)
    assert got[-1]["audioBytes"] > 0
    assert got[-1]["height"] > got[-1]["width"] > 0  # portrait
    assert max(s["rms"] for s in got) > 0.01
    assert page.transcript("model").inner_text().strip()
    expect(page.testid("error")).to_be_hidden()
    assert not page.events("native-error")


def test_barge_in_stops_the_video_at_once(native_stack: Stack, open_page: OpenPage) -> None:
    use_persona(native_stack, native_avatar="Kira")
    page = open_native(native_stack, open_page, barge_in_audio())
    page.wait_for("window.__video.some((s) => !s.paused && s.rms > 0.01)")
    page.wait_event("interrupted")
    cut = page.events("interrupted")[0]["t"]
    page.wait_for(f"window.__video.some((s) => s.t > {cut} + 400)")
    after = [s for s in samples(page) if cut <= s["t"] <= cut + 400]
    assert after, "the probe sampled the moments after the barge-in"
    # Nothing of the cut answer is left ahead of the play head: the avatar stops.
    assert min(s["ahead"] for s in after) < 0.1
    page.wait_event("turn_complete", after=1)  # the greeting is answered
    assert not page.events("native-error")


def test_a_refused_avatar_falls_back_to_the_drawn_one(
    native_stack: Stack, open_page: OpenPage
) -> None:
    use_persona(native_stack, native_avatar_image=RED_IMAGE)
    page = open_native(native_stack, open_page, mic_audio(QUESTION))
    page.wait_event("avatar_fallback")
    assert page.events("avatar_fallback")[0]["reason"] == "refused"
    expect(page.page.locator("[data-avatar]")).to_have_attribute("data-mode", "drawn")
    expect(page.page.locator(".avatar-svg")).to_be_visible()
    banner = page.testid("error")
    expect(banner).to_have_attribute("data-code", "avatar_native_unavailable")
    expect(banner).to_contain_text("drawn")
    page.screenshot("native-fallback")
    # The conversation goes on: the question is answered aloud by the drawn avatar.
    expect(page.transcript("user")).to_have_count(1, timeout=30_000)
    page.wait_for_answer_audio()
    page.wait_for_mouth_open()
    page.wait_event("turn_complete")
