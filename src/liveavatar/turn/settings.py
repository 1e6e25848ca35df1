"""The persona's smart turn-detection knobs (no model code here: the persona, the store
and the dashboard import this without onnxruntime)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "server": Live's own automatic activity detection; "smart": ours (turn/detector.py),
# driving Live's manual activity mode.
TurnDetection = Literal["server", "smart"]
TURN_DETECTIONS: tuple[TurnDetection, ...] = ("server", "smart")
MIN_SHORT_SILENCE_MS = 32  # one window of the voice-activity detector


@dataclass(frozen=True)
class TurnSettings:
    """`short_silence_ms`: silence after which the model is asked whether the utterance is
    complete; `max_silence_ms`: silence that ends it whatever the model says;
    `threshold`: the model's probability at or above which it is complete.
    The defaults are measured (docs/PERFORMANCE.md, "Smart turn detection")."""

    short_silence_ms: int = 96
    max_silence_ms: int = 800
    threshold: float = 0.7

    def __post_init__(self) -> None:
        """Raises ValueError for silences out of order or a threshold outside (0, 1)."""
        if self.short_silence_ms < MIN_SHORT_SILENCE_MS:
            raise ValueError(f"short_silence_ms must be at least {MIN_SHORT_SILENCE_MS}")
        if self.max_silence_ms < self.short_silence_ms:
            raise ValueError("max_silence_ms must be at least short_silence_ms")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")
