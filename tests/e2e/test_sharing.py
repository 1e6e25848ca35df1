"""Camera and screen sharing in headless Chromium, checked at the backend and the model.

The camera is Chromium's fake capture device fed from a Y4M file this test writes (a solid
blue picture of a known size); the screen is Chromium's own fake screen (1280×720, green),
which the page scales down to 768 px on the long side. The backend counts the frames it
forwards to Live (/metrics), and the emulator's answer to "what do you see" names the
size and colour of the latest frame it received (emulator/vision.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench._browser import Stack
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.e2e.backend_counters import VIDEO_FRAMES, counter, wait_counter_above

pytestmark = pytest.mark.slow

CAMERA_SIZE = (640, 480)
#: Chromium's fake screen (about 16:9) is scaled by the page to 768 px on the long side
#: (share.js fitWithin).
SCREEN_LONG_SIDE = 768
SEE = "what do you see"


def write_y4m(path: Path, size: tuple[int, int], rgb: tuple[int, int, int]) -> Path:
    """A few frames of one colour, YUV 4:2:0 with full-range BT.601 (`C420jpeg`)."""
    r, g, b = rgb
    y = round(0.299 * r + 0.587 * g + 0.114 * b)
    u = min(255, round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b))
    v = min(255, round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b))
    w, h = size
    frame = (
        b"FRAME\n" + bytes([y]) * (w * h) + bytes([u]) * (w * h // 4) + bytes([v]) * (w * h // 4)
    )
    header = f"YUV4MPEG2 W{w} H{h} F5:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 5)
    return path


def ask_what_it_sees(page: AvatarPage) -> str:
    done = len(page.events("turn_complete"))
    answers = page.transcript("model").count()
    page.testid("text-input").fill(SEE)
    page.testid("send").click()
    page.wait_event("turn_complete", after=done)
    # The answer's line is final once its voice has been heard to the end.
    expect(page.transcript("model")).to_have_count(answers + 1, timeout=TURN_TIMEOUT_MS)
    return str(page.transcript("model").last.inner_text())


def frames_sent(page: AvatarPage, source: str) -> list[dict[str, object]]:
    return [e for e in page.events("share-frame") if e["source"] == source and e["sent"]]


def check_sharing(page: AvatarPage, stack: Stack, source: str) -> tuple[int, int]:
    """Share `source` (already started): indicator, rate and sizes; return the size sent."""
    indicator = page.testid("sharing-indicator")
    expect(indicator).to_be_visible()
    expect(indicator).to_contain_text(f"Sharing your {source}")
    expect(page.testid(source)).to_have_attribute("aria-pressed", "true")
    limits = page.events("ready")[0]["limits"]
    fps = limits["video_fps"]
    wait_counter_above(stack, VIDEO_FRAMES, 2, source=source)
    started = page.events("share-started")[-1]["t"]
    received = counter(stack, VIDEO_FRAMES, source=source)
    elapsed_s = (page.hook("performance.now()") - started) / 1000
    # Never faster than advertised (the first frame goes at once, then one per interval).
    assert received <= elapsed_s * fps + 1, (received, elapsed_s, fps)
    sent = frames_sent(page, source)
    assert sent, "the page reports the frames it sent"
    sizes = {(int(str(f["width"])), int(str(f["height"]))) for f in sent}
    assert len(sizes) == 1, sizes
    for frame in sent:
        assert 0 < int(str(frame["bytes"])) <= limits["max_video_frame_bytes"]
    return sizes.pop()


def stop_and_check_no_more_frames(page: AvatarPage, stack: Stack, source: str) -> None:
    fps = page.events("ready")[0]["limits"]["video_fps"]
    page.testid(source).click()
    expect(page.testid("sharing-indicator")).to_be_hidden()
    expect(page.testid(source)).to_have_attribute("aria-pressed", "false")
    page.wait_event("share-stopped")
    stopped = page.events("share-stopped")[-1]["t"]
    # A frame already on the wire when sharing stopped may still land: wait one interval.
    interval_ms = 1000 / fps
    since_stop = "performance.now() - arg.t >= arg.ms"
    page.wait_for(since_stop, {"t": stopped, "ms": interval_ms})
    settled = counter(stack, VIDEO_FRAMES, source=source)
    page.wait_for(since_stop, {"t": stopped, "ms": 3 * interval_ms})
    assert counter(stack, VIDEO_FRAMES, source=source) == settled


def test_camera_and_screen_frames_reach_the_model_and_stop_when_sharing_stops(
    stack: Stack, open_page: OpenPage, tmp_path: Path
) -> None:
    camera = write_y4m(tmp_path / "blue.y4m", CAMERA_SIZE, (0, 0, 255))
    page = open_page(stack.page_url(), extra_args=[f"--use-file-for-fake-video-capture={camera}"])
    page.wait_state("listening")
    page.wait_for("h.connected")
    expect(page.testid("sharing-indicator")).to_be_hidden()

    page.testid("camera").click()
    assert check_sharing(page, stack, "camera") == CAMERA_SIZE
    page.screenshot("camera")
    answer = ask_what_it_sees(page)
    assert "640 by 480" in answer and "blue" in answer, answer
    stop_and_check_no_more_frames(page, stack, "camera")

    page.testid("screen").click()
    width, height = check_sharing(page, stack, "screen")
    assert max(width, height) == SCREEN_LONG_SIDE and width > height
    answer = ask_what_it_sees(page)
    assert f"{width} by {height}" in answer and "green" in answer, answer
    stop_and_check_no_more_frames(page, stack, "screen")
