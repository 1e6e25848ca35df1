"""The session recording: hooks that never wait, a file that grows as the session goes, a
closed stream at the end, and what it gives up when it falls behind or the store fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from liveavatar.bridge.recording import SessionRecording
from liveavatar.bridge.recording import writer as writer_module
from liveavatar.bridge.recording.opus import BITRATE
from liveavatar.live.events import AudioOut, Interrupted
from liveavatar.media import LocalMediaStore, MediaUnavailable

from .support import decode, frames, loud_between, tone

SECRET = b"0123456789abcdef0123456789abcdef"
NAME = "recordings/s-test/1.ogg"


@pytest.fixture
def media(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path, secret=SECRET, base_url="http://x")


def recording(media: object, started: float) -> SessionRecording:
    return SessionRecording(
        media,  # type: ignore[arg-type]
        NAME,
        started=started,
        mic_rate=16_000,
        model_rate=24_000,
    )


def talk(rec: SessionRecording, t0: float) -> None:
    """The user speaks 0.2 .. 1.2 s; the model answers 1.5 .. 2.5 s, cut at 2.2 s."""
    for i, frame in enumerate(frames(tone(1.0, 16_000), 16_000)):
        rec.mic(frame, t0 + 0.2 + 0.02 * (i + 1))
    rec.live_event(AudioOut(pcm=tone(1.0, 24_000, 900)), t0 + 1.5)
    rec.live_event(Interrupted(), t0 + 2.2)


async def test_a_session_is_recorded_and_closed(media: LocalMediaStore) -> None:
    t0 = asyncio.get_running_loop().time()
    rec = recording(media, t0)
    rec.start()
    talk(rec, t0)
    await rec.finish(t0 + 3.0)
    audio, rate = decode(await media.get(NAME, max_bytes=10_000_000))
    assert audio.shape[1] == 2 and abs(len(audio) / rate - 3.0) < 0.05
    assert loud_between(audio[:, 0], rate, 0.25, 1.15) == 1.0
    assert loud_between(audio[:, 1], rate, 1.55, 2.15) == 1.0
    assert loud_between(audio[:, 1], rate, 2.3, 3.0) == 0.0
    assert rec.stats.dropped_events == 0 and rec.stats.appends >= 1


class WatchedMedia(LocalMediaStore):
    """Says when the appended bytes reach `enough`."""

    def __init__(self, root: Path, enough: int) -> None:
        super().__init__(root, secret=SECRET, base_url="http://x")
        self.enough = enough
        self.size = 0
        self.grown = asyncio.Event()

    async def append(self, name: str, data: bytes, content_type: str = "") -> None:
        await super().append(name, data, content_type)
        self.size += len(data)
        if self.size >= self.enough:
            self.grown.set()


async def test_the_file_grows_while_the_session_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the third page of about a second each (the encoder's bitrate): over 2.5 s.
    media = WatchedMedia(tmp_path, enough=round(2.7 * BITRATE / 8))
    monkeypatch.setattr(writer_module, "TICK_S", 0.01)
    monkeypatch.setattr(writer_module, "FLUSH_S", 0.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time() - 5.0  # these five seconds are past: final at once
    rec = recording(media, t0)
    rec.start()
    for i, frame in enumerate(frames(tone(4.0, 16_000), 16_000)):
        rec.mic(frame, t0 + 0.02 * (i + 1))
    async with asyncio.timeout(10):
        await media.grown.wait()
    # Not closed yet, as after a crash: what is stored decodes.
    audio, rate = decode(await media.get(NAME, max_bytes=10_000_000))
    assert len(audio) / rate > 2.5
    assert loud_between(audio[:, 0], rate, 0.1, 2.4) == 1.0
    await rec.finish(loop.time())


async def test_a_full_queue_drops_recording_audio_never_blocks(
    media: LocalMediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "QUEUE_BYTES", 10_000)
    t0 = asyncio.get_running_loop().time()
    rec = recording(media, t0)
    rec.start()
    for i, frame in enumerate(frames(tone(2.0, 16_000), 16_000)):
        rec.mic(frame, t0 + 0.02 * (i + 1))  # all at once: the worker has not run yet
    assert rec.stats.dropped_events > 0
    await rec.finish(t0 + 2.0)
    assert (await media.list("recordings/"))[0].size > 0


class FailingMedia:
    def __init__(self) -> None:
        self.calls = 0

    async def append(self, name: str, data: bytes, content_type: str) -> None:
        self.calls += 1
        raise MediaUnavailable("down")


async def test_a_failing_store_costs_the_recording_not_the_session() -> None:
    media = FailingMedia()
    t0 = asyncio.get_running_loop().time()
    rec = recording(media, t0)
    rec.start()
    talk(rec, t0)
    await rec.finish(t0 + 3.0)
    assert media.calls == 1 and rec.stats.failed_appends == 1
    rec.mic(b"\0\0", t0 + 4.0)  # after the end: ignored
    await rec.finish(t0 + 5.0)  # once only
    assert media.calls == 1


class HangingMedia:
    async def append(self, name: str, data: bytes, content_type: str) -> None:
        await asyncio.Event().wait()


async def test_finish_is_bounded_when_the_store_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "FINISH_TIMEOUT_S", 0.2)
    t0 = asyncio.get_running_loop().time()
    rec = recording(HangingMedia(), t0)
    rec.start()
    talk(rec, t0)
    await rec.finish(t0 + 3.0)  # returns: the tail is given up, logged
