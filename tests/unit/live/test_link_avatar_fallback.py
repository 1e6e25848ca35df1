"""LiveLink with the native avatar: each way Live refuses it ends in audio connections from
the fallback opener and one `AvatarFallback`; other failures keep the avatar."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from liveavatar.errors import LiveRefused
from liveavatar.live.connection import LiveChannel, LiveOpenError, LiveSendError
from liveavatar.live.events import (
    AudioOut,
    AvatarFallback,
    Closed,
    Interrupted,
    LinkEvent,
    Reconnected,
    Reconnecting,
    TurnComplete,
    VideoOut,
)
from liveavatar.live.link import LiveLink

from .fakes import FakeChannel


class DyingChannel(FakeChannel):
    """A fake channel whose sends fail once `dead` (its socket closed, its close event
    not read yet)."""

    dead = False

    async def send_audio(self, pcm: bytes) -> None:
        if self.dead:
            raise LiveSendError("closed")
        await super().send_audio(pcm)

    async def audio_stream_end(self) -> None:
        if self.dead:
            raise LiveSendError("closed")
        await super().audio_stream_end()


class Script:
    """Opens fake channels of one kind ("video" or "audio"); `refuse` lists close codes
    to fail the next opens with, in order."""

    def __init__(self, kind: str, refuse: list[int] | None = None) -> None:
        self.kind = kind
        self.refuse = list(refuse or [])
        self.opened: list[DyingChannel] = []
        self.attempts = 0
        self.opened_one = asyncio.Event()

    async def __call__(self, handle: str | None) -> LiveChannel:
        self.attempts += 1
        if self.refuse:
            code = self.refuse.pop(0)
            raise LiveOpenError(f"refused ({code})", permanent=code != 1011, code=code)
        channel = DyingChannel(handle)
        self.opened.append(channel)
        self.opened_one.set()
        return channel


async def _no_sleep(_: float) -> None:
    return None


def _link(video: Script, audio: Script) -> tuple[LiveLink, list[int]]:
    asked: list[int] = []

    def fallback() -> Script:
        asked.append(1)
        return audio

    return LiveLink(video, name="t", fallback=fallback, sleep=_no_sleep), asked


async def _take(events: AsyncIterator[LinkEvent], n: int) -> list[LinkEvent]:
    out: list[LinkEvent] = []
    async with asyncio.timeout(5):
        while len(out) < n:
            out.append(await anext(events))
    return out


@pytest.mark.parametrize("code", [1007, 1008, 1011])
async def test_a_refusal_at_setup_falls_back_to_audio(code: int) -> None:
    video, audio = Script("video", refuse=[code]), Script("audio")
    link, asked = _link(video, audio)
    await link.start()
    assert not link.native
    assert (video.attempts, len(audio.opened), asked) == (1, 1, [1])
    events = link.events()
    audio.opened[0].push(AudioOut(b"\x01\x00"))
    assert await _take(events, 2) == [AvatarFallback("refused"), AudioOut(b"\x01\x00")]
    await link.close()


async def test_a_1008_after_setup_complete_falls_back_mid_turn() -> None:
    video, audio = Script("video"), Script("audio")
    link, asked = _link(video, audio)
    await link.start()
    assert link.native
    events = link.events()
    first = video.opened[0]
    first.push(VideoOut(b"fmp4"), Closed(1008, "Avatar reference image was blocked"))
    got = await _take(events, 3)
    assert got == [VideoOut(b"fmp4"), Interrupted(), AvatarFallback("refused")]
    # No reconnect to announce: the page hears of the fallback instead.
    following = asyncio.create_task(_take(events, 1))
    await asyncio.wait_for(audio.opened_one.wait(), 5)
    assert first.closed and asked == [1] and not link.native
    audio.opened[0].push(AudioOut(b"\x02\x00"))
    assert await following == [AudioOut(b"\x02\x00")]
    await link.close()


async def test_other_drops_keep_the_avatar() -> None:
    video, audio = Script("video"), Script("audio")
    link, asked = _link(video, audio)
    await link.start()
    events = link.events()
    video.opened[0].push(Closed(1011, "internal"))
    got = await _take(events, 2)
    assert got == [Reconnecting(attempt=1, code=1011), Reconnected(resumed=False)]
    assert (len(video.opened), audio.attempts, asked) == (2, 0, [])
    assert link.native
    await link.close()


async def test_an_audio_refusal_after_falling_back_ends_the_session() -> None:
    video, audio = Script("video", refuse=[1008]), Script("audio", refuse=[1008])
    link, _ = _link(video, audio)
    with pytest.raises(LiveRefused):
        await link.start()
    await link.close()


async def _refused_after_setup(link: LiveLink, video: Script, audio: Script) -> FakeChannel:
    """The avatar connection closes 1008 after setupComplete; return the audio one."""
    events = link.events()
    video.opened[0].push(Closed(1008, "Avatar reference image was blocked"))
    assert await _take(events, 1) == [AvatarFallback("refused")]
    following = asyncio.create_task(_take(events, 1))
    await asyncio.wait_for(audio.opened_one.wait(), 5)
    following.cancel()
    return audio.opened[0]


async def test_what_the_refused_connection_heard_unanswered_is_said_again() -> None:
    # The service refuses the avatar once it starts to animate, which is when the first
    # answer begins: the question was said on the refused connection, which has no handle
    # to resume, so the audio connection must hear it (and what was typed) again.
    video, audio = Script("video"), Script("audio")
    link, _ = _link(video, audio)
    await link.start()
    for pcm in (b"\x01\x00", b"\x02\x00"):
        await link.send_audio(pcm)
    await link.audio_stream_end()
    await link.send_text("and one more thing")
    await link.send_audio(b"\x03\x00")
    replaced = await _refused_after_setup(link, video, audio)
    assert replaced.audio == [b"\x01\x00", b"\x02\x00", b"\x03\x00"]
    assert (replaced.stream_ends, replaced.texts) == (1, ["and one more thing"])
    await link.close()


async def test_what_the_model_already_answered_is_not_said_again() -> None:
    video, audio = Script("video"), Script("audio")
    link, _ = _link(video, audio)
    await link.start()
    await link.send_audio(b"\x01\x00")
    await link.send_text("answered")
    events = link.events()
    video.opened[0].push(VideoOut(b"fmp4"), TurnComplete())
    assert await _take(events, 2) == [VideoOut(b"fmp4"), TurnComplete()]
    await link.send_audio(b"\x02\x00")  # said after the answer: not answered yet
    replaced = await _refused_after_setup(link, video, audio)
    assert (replaced.audio, replaced.texts) == ([b"\x02\x00"], [])
    await link.close()


async def test_an_audio_only_link_keeps_nothing_unanswered() -> None:
    audio = Script("audio")
    link = LiveLink(audio, name="t", sleep=_no_sleep)
    await link.start()
    await link.send_audio(b"\x01\x00")
    events = link.events()
    audio.opened[0].push(Closed(1011, "internal"))
    assert await _take(events, 2) == [Reconnecting(attempt=1, code=1011), Reconnected(False)]
    assert audio.opened[1].audio == []  # a resumed connection is not replayed to
    await link.close()


async def test_what_could_not_reach_the_refused_connection_is_said_once() -> None:
    # Between Live closing the avatar connection and the link reading that close, sends
    # fail and are held for the next connection; they never reached the refused one, so
    # they are not among what it left unanswered too.
    video, audio = Script("video"), Script("audio")
    link, _ = _link(video, audio)
    await link.start()
    await link.send_audio(b"\x01\x00")
    video.opened[0].dead = True
    await link.send_audio(b"\x02\x00")
    await link.audio_stream_end()
    replaced = await _refused_after_setup(link, video, audio)
    assert (replaced.audio, replaced.stream_ends) == ([b"\x01\x00", b"\x02\x00"], 1)
    await link.close()


async def test_a_refusal_when_reconnecting_says_the_unanswered_again() -> None:
    # The avatar connection drops (not a refusal), and Live refuses the avatar when the
    # link reconnects: the dropped connection sent no handle, so the audio connection
    # hears the question again.
    video, audio = Script("video"), Script("audio")
    link, asked = _link(video, audio)
    await link.start()
    await link.send_audio(b"\x01\x00")
    await link.audio_stream_end()
    video.refuse = [1007]
    events = link.events()
    video.opened[0].push(Closed(1006, "abnormal"))
    assert await _take(events, 1) == [Reconnecting(attempt=1, code=1006)]
    following = asyncio.create_task(_take(events, 2))
    await asyncio.wait_for(audio.opened_one.wait(), 5)
    assert set(await following) == {Reconnected(resumed=False), AvatarFallback("refused")}
    assert asked == [1] and not link.native
    assert (audio.opened[0].audio, audio.opened[0].stream_ends) == ([b"\x01\x00"], 1)
    await link.close()
