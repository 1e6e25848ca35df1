"""The browser → Live half of a session: every frame the page sends, checked, limited and
forwarded; bad frames answered without ending the session until there are too many."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import NoReturn

from liveavatar import protocol as p
from liveavatar.errors import CLOSE_NORMAL, ProtocolError, RecoverableProtocolError
from liveavatar.live.link import LiveLink
from liveavatar.metrics import Metrics

from .browser_wire import BrowserWire
from .budget import AudioBudget
from .flood import NOTICE as FLOOD_NOTICE
from .flood import FloodGate, Verdict
from .inbound import parse_message, read_video_frame
from .live_events import LiveEvents
from .outbox import Outbox
from .recording import SessionRecording
from .smart_turn import MicPath
from .token_watch import TokenWatch
from .turns import TurnTracker
from .watchdogs import SessionEnded

logger = logging.getLogger(__name__)

MAX_BAD_FRAMES = 20  # recoverable protocol errors tolerated per session
RATE_NOTICE_INTERVAL_S = 1.0


class BrowserReader:
    """Reads one browser socket until `bye` (SessionEnded), the browser goes
    (`BrowserGone`) or too many bad frames (`ProtocolError`)."""

    def __init__(
        self,
        wire: BrowserWire,
        link: LiveLink,
        *,
        mic: MicPath,
        outbox: Outbox,
        turns: TurnTracker,
        metrics: Metrics,
        recording: SessionRecording | None,
        events: LiveEvents | None = None,
        tokens: TokenWatch | None = None,
    ) -> None:
        self._wire = wire
        self._tokens = tokens
        self._events = events
        self._link = link
        self._mic = mic
        self._outbox = outbox
        self._turns = turns
        self._metrics = metrics
        self._recording = recording
        self._loop = asyncio.get_running_loop()
        self._bad_frames = 0
        self._budget = AudioBudget(self._loop.time())
        self._rate_noticed_at = float("-inf")
        self._mic_bytes = 0  # microphone audio so far, for the debug timing marks
        self._audio_frames = metrics.browser_audio_frames

    async def run(self) -> NoReturn:
        """Forward frames until the session ends one of the ways above."""
        try:
            await self._forward()
        finally:
            await self._mic.close()  # the detector's task ends with the reader

    async def _forward(self) -> NoReturn:
        link = self._link
        frame_of = self._wire.frame
        # JSON frames are rate-limited before they are parsed; audio has its own budget.
        flood = FloodGate(self._loop.time())
        while True:
            try:
                frame = await frame_of()
                if isinstance(frame, bytes):
                    await self._audio_in(frame)
                    continue
                verdict = flood.admit(self._loop.time())
                if verdict is not Verdict.PASS:
                    if verdict is Verdict.DROP_AND_TELL:
                        self._outbox.put_control(p.Error(code="bad_request", message=FLOOD_NOTICE))
                    continue
                msg = parse_message(frame)
                if isinstance(msg, p.TextInput):
                    for message in self._turns.typed(msg.text, self._loop.time()):
                        self._outbox.put_control(message)
                    await link.send_text(msg.text)
                elif isinstance(msg, p.VideoFrame):
                    # Checked (decoded in a thread) first: a bad image costs Live a reconnect.
                    await link.send_video(await read_video_frame(msg), msg.mime_type)
                    self._metrics.video_frames.labels(msg.source).inc()
                elif isinstance(msg, p.AudioEnd):
                    self._metrics.browser_audio_ends.inc()
                    await self._mic.end()
                elif isinstance(msg, p.Ping):
                    self._outbox.put_control(p.Pong(t=msg.t))
                elif isinstance(msg, p.Played):
                    if self._events is not None:
                        self._events.played(msg.turn, msg.words, msg.av_offset_ms)
                elif isinstance(msg, p.TokenRefresh):
                    if self._tokens is not None:
                        self._tokens.offer(msg.token)
                elif isinstance(msg, p.Bye):
                    raise SessionEnded(CLOSE_NORMAL)
                else:
                    raise RecoverableProtocolError("hello may only be sent once.")
            except RecoverableProtocolError as err:
                self._bad_frames += 1
                self._metrics.errors.labels("bad_request").inc()
                if self._bad_frames > MAX_BAD_FRAMES:
                    raise ProtocolError("Too many invalid messages.") from err
                self._outbox.put_control(p.Error(code="bad_request", message=str(err)))

    async def _audio_in(self, pcm: bytes) -> None:
        self._audio_frames.inc()
        if len(pcm) > p.MAX_AUDIO_FRAME_BYTES or len(pcm) % 2:
            raise RecoverableProtocolError(
                f"Audio frames must be PCM16 (an even number of bytes, at most "
                f"{p.MAX_AUDIO_FRAME_BYTES})."
            )
        now = self._loop.time()
        if not self._budget.admit(len(pcm), now):
            # Dropped, and said once a second at most: a fast client is not a broken one.
            if now - self._rate_noticed_at >= RATE_NOTICE_INTERVAL_S:
                self._rate_noticed_at = now
                self._outbox.put_control(
                    p.Error(
                        code="bad_request",
                        message="Audio is arriving faster than real time; dropped.",
                    )
                )
            return
        if self._recording is not None:
            self._recording.mic(pcm, now)
        self._mic_bytes += len(pcm)
        if logger.isEnabledFor(logging.DEBUG):
            # When each piece of the user's speech reached us (docs/PERFORMANCE.md).
            logger.debug(
                "mic audio",
                extra={
                    "timing": "mic_audio",
                    "t_mono": time.monotonic(),
                    "mic_bytes": self._mic_bytes,
                },
            )
        await self._mic.audio(pcm)
