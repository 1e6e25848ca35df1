"""How a Live connection is told that the user's utterance is over (the microphone went off).

`realtimeInput.audioStreamEnd` is accepted only where the reference says so:
- by the Gemini API, not Vertex: the SDK's Vertex `RealtimeInput` has no such field (its
  converter refuses `audio_stream_end` in Vertex mode), and Vertex closes with 1007 on a
  setup or input field it does not know (reference §13.1, §14.5);
- only while automatic activity detection is on (reference §4.2).

Elsewhere the utterance ends the way the reference gives for that setup:
- manual activity detection (`automaticActivityDetection.disabled`): the client marks
  each utterance itself, `activityStart` before its first audio and `activityEnd` at its
  end (reference §4.2, §6), on either backend;
- Vertex with automatic detection: trailing silence a little longer than the setup's
  `silenceDurationMs`, so the server's own end-of-speech rule ends the utterance
  (reference §6) instead of waiting for audio that will not come.

Both Live clients decide from the setup they sent, with `policy_for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.genai import types

SILENCE_MARGIN_MS = 300  # beyond silenceDurationMs: the VAD's frames need not line up
DEFAULT_SILENCE_MS = 1000  # the service's default silenceDurationMs is not documented
MAX_SILENCE_MS = 3000
SILENCE_CHUNK_MS = 100
_BYTES_PER_MS = 32  # 16 kHz PCM16 mono


class EndBy(Enum):
    """What a connection sends when the microphone goes off."""

    STREAM_END = "audioStreamEnd"
    ACTIVITY_END = "activityEnd"
    SILENCE = "silence"


@dataclass(frozen=True)
class UtterancePolicy:
    """How one connection brackets the user's speech; see the module docstring."""

    end_by: EndBy
    silence_ms: int = 0

    @property
    def manual(self) -> bool:
        """Whether the client marks activity (`activityStart` before an utterance's audio)."""
        return self.end_by is EndBy.ACTIVITY_END

    def silence(self) -> list[bytes]:
        """The trailing silence to send (`SILENCE` only), as 16 kHz PCM16 chunks."""
        if self.end_by is not EndBy.SILENCE:
            return []
        total = self.silence_ms * _BYTES_PER_MS
        step = SILENCE_CHUNK_MS * _BYTES_PER_MS
        return [bytes(min(step, total - at)) for at in range(0, total, step)]


def policy_for(
    *, vertex: bool, manual_vad: bool, silence_duration_ms: int | None
) -> UtterancePolicy:
    """The policy for a connection to `vertex` (or the Gemini API) with this VAD setup."""
    if manual_vad:
        return UtterancePolicy(EndBy.ACTIVITY_END)
    if not vertex:
        return UtterancePolicy(EndBy.STREAM_END)
    base = DEFAULT_SILENCE_MS if silence_duration_ms is None else silence_duration_ms
    return UtterancePolicy(EndBy.SILENCE, min(MAX_SILENCE_MS, base + SILENCE_MARGIN_MS))


def policy_from_setup(setup: dict[str, Any], *, vertex: bool) -> UtterancePolicy:
    """The policy for the raw client's `setup` body (camelCase, as `setup_body` writes)."""
    rt = setup.get("realtimeInputConfig") or {}
    vad = rt.get("automaticActivityDetection") or {}
    return policy_for(
        vertex=vertex,
        manual_vad=bool(vad.get("disabled")),
        silence_duration_ms=vad.get("silenceDurationMs"),
    )


def policy_from_config(config: types.LiveConnectConfig, *, vertex: bool) -> UtterancePolicy:
    """The policy for the SDK client's `LiveConnectConfig`."""
    rt = config.realtime_input_config
    vad = rt.automatic_activity_detection if rt is not None else None
    return policy_for(
        vertex=vertex,
        manual_vad=bool(vad is not None and vad.disabled),
        silence_duration_ms=vad.silence_duration_ms if vad is not None else None,
    )
