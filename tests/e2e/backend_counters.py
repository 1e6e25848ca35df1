"""What the backend received, read from its /metrics: an observer below the page, so a test
can tell that audio frames did (or did not) leave the browser, whatever the page says."""

from __future__ import annotations

import urllib.request

from bench._browser import Stack, wait_until
from prometheus_client.parser import text_string_to_metric_families

AUDIO_FRAMES = "liveavatar_browser_audio_frames_total"
AUDIO_ENDS = "liveavatar_browser_audio_ends_total"
VIDEO_FRAMES = "liveavatar_video_frames_total"


def counter(stack: Stack, name: str, **labels: str) -> float:
    """The backend's sample `name` (with these labels), 0 when it has none yet."""
    url = f"http://127.0.0.1:{stack.backend_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def wait_counter_above(
    stack: Stack, name: str, floor: float, *, timeout_s: float = 30.0, **labels: str
) -> float:
    """Wait until the counter exceeds `floor`; return its value."""
    wait_until(
        lambda: counter(stack, name, **labels) > floor,
        timeout_s=timeout_s,
        what=f"{name} > {floor}",
    )
    return counter(stack, name, **labels)
