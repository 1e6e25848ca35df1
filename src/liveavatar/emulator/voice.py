"""Which voice a session answers with: paced PCM audio (or text), or the live avatar's
fragmented MP4 when the setup asked for `VIDEO` (reference §14)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .avatar import load_avatar
from .setup import Accepted
from .speaker import Send, Speaker, VoiceArgs
from .tts import Synthesizer
from .video_speaker import VideoSpeaker
from .wire import Setup

Voice = Speaker | VideoSpeaker


async def make_voice(
    setup: Setup,
    accepted: Accepted,
    *,
    synth: Synthesizer,
    send: Send,
    first_audio_delay_s: float,
    on_first_audio: Callable[[], None],
) -> Voice:
    """The session's speaker.

    Raises:
        LiveCloseError: 1011 for an avatar reference image the service cannot use.
    """
    args = VoiceArgs(
        synth=synth,
        voice=accepted.voice,
        send=send,
        transcribe=setup.output_audio_transcription is not None,
        first_audio_delay_s=first_audio_delay_s,
        on_first_audio=on_first_audio,
    )
    if accepted.avatar is not None:
        avatar = await asyncio.to_thread(load_avatar, accepted.avatar)  # decodes the image
        return VideoSpeaker(avatar=avatar, **args)
    return Speaker(audio_out=accepted.audio_out, **args)
