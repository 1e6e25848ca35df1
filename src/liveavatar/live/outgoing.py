"""What our own Live clients send, as JSON text, whichever WebSocket library carries it."""

from __future__ import annotations

import base64
import json

from .tools import ToolResponse, response_json
from .utterance import EndBy, UtterancePolicy

_AUDIO_PREFIX = b'{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"'
_AUDIO_SUFFIX = b'"}}}'


def audio_message(pcm: bytes) -> bytes:
    """The `realtimeInput` message for one audio chunk, as UTF-8 JSON bytes: one base64
    pass and one join, no round trip through `str` (the hot path, docs/PERFORMANCE.md)."""
    return b"".join((_AUDIO_PREFIX, base64.b64encode(pcm), _AUDIO_SUFFIX))


class LiveSender:
    """The client messages of one Live connection; a subclass provides `_send`, which
    sends one text frame (bytes are UTF-8 JSON already) or raises `LiveSendError`."""

    def __init__(self, utterance: UtterancePolicy) -> None:
        """`utterance`: how the end of the user's speech is sent (`utterance.py`)."""
        self._utterance = utterance
        self._activity_open = False  # manual activity: activityStart sent, no activityEnd yet

    async def _send(self, text: str | bytes) -> None:
        raise NotImplementedError

    async def send_audio(self, pcm: bytes) -> None:
        if self._utterance.manual and not self._activity_open:
            self._activity_open = True
            await self._send('{"realtimeInput":{"activityStart":{}}}')
        await self._send(audio_message(pcm))

    async def audio_stream_end(self) -> None:
        """The microphone went off: end the utterance the way this backend and setup
        accept (`utterance.py`)."""
        end_by = self._utterance.end_by
        if end_by is EndBy.STREAM_END:
            await self._send('{"realtimeInput":{"audioStreamEnd":true}}')
        elif end_by is EndBy.ACTIVITY_END:
            if self._activity_open:
                self._activity_open = False
                await self._send('{"realtimeInput":{"activityEnd":{}}}')
        else:
            for pcm in self._utterance.silence():
                await self._send(audio_message(pcm))

    async def send_text(self, text: str) -> None:
        await self._send(json.dumps({"realtimeInput": {"text": text}}))

    async def send_video(self, data: bytes, mime_type: str) -> None:
        blob = {"mimeType": mime_type, "data": base64.b64encode(data).decode("ascii")}
        await self._send(json.dumps({"realtimeInput": {"video": blob}}))

    async def send_tool_responses(self, responses: list[ToolResponse]) -> None:
        items = [response_json(r) for r in responses]
        await self._send(json.dumps({"toolResponse": {"functionResponses": items}}))
