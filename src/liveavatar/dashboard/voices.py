"""A short spoken sample of each prebuilt voice, made locally by the emulator's TTS.

The samples approximate each voice's character (espeak-ng, as the emulator speaks), so an
admin can tell them apart offline; the real service's voices sound better.
"""

from __future__ import annotations

import asyncio
import io
import wave

from liveavatar.audio.pcm import OUTPUT_RATE_HZ
from liveavatar.emulator.tts import SynthesisError, Synthesizer, UnknownVoiceError, voice_for

SAMPLE_TEXT = "Hello! This is how I sound. How can I help you today?"
SAMPLE_TIMEOUT_S = 15.0


class SampleUnavailable(RuntimeError):
    """No sample could be made (espeak-ng missing or failing, or an unknown voice)."""


async def voice_sample(voice: str, text: str = SAMPLE_TEXT) -> bytes:
    """`text` spoken in `voice`, as a WAV file (24 kHz mono PCM16)."""
    synthesizer = Synthesizer()
    if not synthesizer.available():
        raise SampleUnavailable("espeak-ng is not installed")
    try:
        async with asyncio.timeout(SAMPLE_TIMEOUT_S):
            pcm = await synthesizer.synthesize(text, voice_for(voice))
    except (SynthesisError, UnknownVoiceError, TimeoutError) as exc:
        raise SampleUnavailable(str(exc) or type(exc).__name__) from None
    if not pcm:
        raise SampleUnavailable("the synthesizer produced no audio")
    return wav_bytes(pcm, OUTPUT_RATE_HZ)


def wav_bytes(pcm: bytes, rate_hz: int) -> bytes:
    """Mono PCM16 LE samples wrapped in a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate_hz)
        wav.writeframes(pcm)
    return out.getvalue()
