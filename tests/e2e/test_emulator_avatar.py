"""The emulator's live-avatar stream plays in Chromium through Media Source Extensions,
as a page would play the service's (reference §14.4): the codecs string Debian's Chromium
is asked for, every chunk appended as it came, both turns played across the gap."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from pathlib import Path
from typing import Any

from bench._browser import launch_options
from playwright.sync_api import sync_playwright

from liveavatar.emulator.config import EmulatorConfig
from liveavatar.emulator.server import EmulatorServer
from tests.support.avatar_stream import avatar_replies

CODECS = 'video/mp4; codecs="avc1.42C020, mp4a.40.2"'

# Appends the chunks in order, plays at twice the speed, and jumps the gap between the
# turns as §14.4 says; resolves once playback is inside the second turn, with how far the
# first turn was seen to play.
PLAY = """async ([chunks, codecs]) => {
  const out = { supported: MediaSource.isTypeSupported(codecs), errors: [] };
  const video = document.createElement('video');
  document.body.appendChild(video);
  const source = new MediaSource();
  video.src = URL.createObjectURL(source);
  await new Promise((r) => source.addEventListener('sourceopen', r, { once: true }));
  const buffer = source.addSourceBuffer(codecs);
  video.addEventListener('error', () => out.errors.push(String(video.error?.message)));
  for (const chunk of chunks) {
    buffer.appendBuffer(Uint8Array.from(atob(chunk), (c) => c.charCodeAt(0)));
    await new Promise((r) => buffer.addEventListener('updateend', r, { once: true }));
  }
  out.ranges = [];
  for (let i = 0; i < buffer.buffered.length; i++) {
    out.ranges.push([buffer.buffered.start(i), buffer.buffered.end(i)]);
  }
  video.playbackRate = 2;
  await video.play();
  const second = out.ranges[out.ranges.length - 1][0];
  await new Promise((resolve) => {
    let last = -1;
    let still = 0;
    const tick = () => {
      // A player stalls at the end of a turn's media: once the time stops, jump the gap.
      const t = video.currentTime;
      still = t === last ? still + 1 : 0;
      last = t;
      const ranges = buffer.buffered;
      let next = null;
      for (let i = ranges.length - 1; i >= 0; i--) if (ranges.start(i) > t) next = ranges.start(i);
      if (t <= out.ranges[0][1]) out.firstReached = Math.max(out.firstReached ?? 0, t);
      if (still >= 3 && next !== null) video.currentTime = next;
      if (video.currentTime > second + 0.3) resolve(); else setTimeout(tick, 50);
    };
    tick();
  });
  const quality = video.getVideoPlaybackQuality();
  out.size = [video.videoWidth, video.videoHeight];
  out.frames = quality.totalVideoFrames;
  out.audioBytes = video.webkitAudioDecodedByteCount;
  return out;
}"""


async def _replies(cert_dir: Path) -> list[bytes]:
    config = EmulatorConfig(port=0, tls=False, cert_dir=cert_dir)
    server = EmulatorServer(dataclasses.replace(config))
    await server.start()
    try:
        return await avatar_replies(server.ws_url, ["hello", "what is your name"])
    finally:
        await server.close()


def test_avatar_stream_plays_in_chromium(tmp_path: Path) -> None:
    chunks = asyncio.run(_replies(tmp_path))
    encoded = [base64.b64encode(c).decode() for c in chunks]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(None, grant_mic=False))
        try:
            page = browser.new_page()
            page.goto("about:blank")
            got: dict[str, Any] = page.evaluate(PLAY, [encoded, CODECS])
        finally:
            browser.close()
    assert got["supported"] is True
    assert got["errors"] == []
    assert len(got["ranges"]) == 2, "two turns, a gap between them"
    assert got["size"] == [360, 640]
    assert got["frames"] > 24
    assert got["audioBytes"] > 0, "the voice was decoded"
    # The first turn played to its end, but for (about) the moment of rest that ends it;
    # the page looks every 50 ms, a tenth of a second of media at twice the speed.
    assert got["firstReached"] > got["ranges"][0][1] - 0.4
