"""Streaming espeak-ng text-to-speech at 24 kHz, with one espeak voice per Gemini prebuilt voice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import unicodedata
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from liveavatar.audio.pcm import OUTPUT_RATE_HZ, Resampler, bytes_for_ms

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
"""Longest text one ``stream`` call accepts; callers should synthesize sentence by sentence."""

_READ_SIZE = 65_536
_MAX_HEADER_BYTES = 4096
_STDERR_KEEP_BYTES = 2048
_STALL_TIMEOUT_S = 10.0
_REAP_TIMEOUT_S = 5.0
_VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\+[A-Za-z0-9_-]+)?")
_WHITESPACE_RUN = re.compile(r"\s+")


class SynthesisError(RuntimeError):
    """espeak-ng could not be started, failed, stalled, or produced malformed output."""


class UnknownVoiceError(ValueError):
    """The requested voice name is not a Gemini prebuilt voice."""


@dataclass(frozen=True)
class EspeakVoice:
    """One espeak-ng voice setting.

    ``name`` is the ``-v`` value (language plus optional ``+variant``), ``pitch`` the ``-p``
    base pitch (0-99, relative to the variant's range), ``speed`` the ``-s`` rate in words per
    minute and ``amplitude`` the ``-a`` volume (0-200, espeak's default is 100).
    """

    name: str
    pitch: int
    speed: int
    amplitude: int = 100
    description: str = ""

    def __post_init__(self) -> None:
        # The name goes into argv; a strict shape keeps it from ever looking like an option.
        if not _VOICE_NAME.fullmatch(self.name):
            raise ValueError(f"invalid espeak voice name: {self.name!r}")
        if not 0 <= self.pitch <= 99:
            raise ValueError(f"pitch must be 0-99, got {self.pitch}")
        if not 80 <= self.speed <= 450:
            raise ValueError(f"speed must be 80-450 wpm, got {self.speed}")
        if not 0 <= self.amplitude <= 200:
            raise ValueError(f"amplitude must be 0-200, got {self.amplitude}")

    def argv(self) -> list[str]:
        """espeak-ng options selecting this voice."""
        return [
            "-v",
            self.name,
            "-p",
            str(self.pitch),
            "-s",
            str(self.speed),
            "-a",
            str(self.amplitude),
        ]


def _v(name: str, pitch: int, speed: int, description: str, amplitude: int = 100) -> EspeakVoice:
    return EspeakVoice(name, pitch, speed, amplitude, description)


# Styles follow Google's descriptions of the Chirp 3 HD voices. British voices use "en", not
# "en-gb": espeak-ng 1.51 silently ignores a "+variant" appended to "en-gb".
VOICES: Mapping[str, EspeakVoice] = MappingProxyType(
    {
        "Achernar": _v("en+f2", 45, 160, "female, soft, British"),
        "Achird": _v("en-us+m4", 50, 170, "male, friendly, American"),
        "Algenib": _v("en-us+m8", 25, 155, "male, gravelly, American", amplitude=150),
        "Algieba": _v("en+m6", 40, 165, "male, smooth, British"),
        "Alnilam": _v("en-us+klatt", 40, 170, "male, firm, American"),
        "Aoede": _v("en+f3", 60, 175, "female, breezy, British"),
        "Autonoe": _v("en-us+Annie", 65, 175, "female, bright, American"),
        "Callirrhoe": _v("en-us+f2", 45, 160, "female, easy-going, American"),
        "Charon": _v("en-gb-x-rp+m1", 20, 150, "male, deep and slow, informative, RP"),
        "Despina": _v("en-gb-x-rp+f4", 45, 165, "female, smooth, RP"),
        "Enceladus": _v("en+klatt4", 35, 158, "male, breathy, British"),
        "Erinome": _v("en+f1", 55, 170, "female, clear, British"),
        "Fenrir": _v("en-us+m7", 70, 185, "male, excitable, American"),
        "Gacrux": _v("en-gb-scotland+f1", 30, 155, "female, mature, Scottish"),
        "Iapetus": _v("en-us+m2", 50, 172, "male, clear, American"),
        "Kore": _v("en-us+f4", 40, 170, "female, firm, American"),
        "Laomedeia": _v("en-us+Andrea", 70, 182, "female, upbeat, American"),
        "Leda": _v("en-us+f5", 75, 180, "female, youthful, American"),
        "Orus": _v("en-gb-scotland+m2", 35, 165, "male, firm, Scottish"),
        "Pulcherrima": _v("en-029+f3", 55, 178, "female, forward, Caribbean"),
        "Puck": _v("en-us+m3", 60, 180, "male, upbeat, American"),
        "Rasalgethi": _v("en-gb-scotland+m4", 45, 162, "male, informative, Scottish"),
        "Sadachbia": _v("en-029+m3", 65, 182, "male, lively, Caribbean"),
        "Sadaltager": _v("en-gb-x-rp+m5", 40, 160, "male, knowledgeable, RP"),
        "Schedar": _v("en-us+klatt2", 45, 165, "male, even, American"),
        "Sulafat": _v("en-us+linda", 40, 160, "female, warm, American"),
        "Umbriel": _v("en-us-nyc+m6", 45, 160, "male, easy-going, New York"),
        "Vindemiatrix": _v("en-gb-x-rp+Alicia", 45, 155, "female, gentle, RP"),
        "Zephyr": _v("en-us+f3", 70, 178, "female, bright, American"),
        "Zubenelgenubi": _v("en-us+klatt3", 50, 175, "male, casual, American"),
    }
)

DEFAULT_VOICE = "Puck"

_BY_LOWER = {name.lower(): name for name in VOICES}


def resolve_voice_name(name: str | None) -> str:
    """Canonical spelling of a Gemini voice name (case-insensitive); ``None`` gives the default.

    Raises ``UnknownVoiceError`` for names that are not prebuilt voices.
    """
    if name is None:
        return DEFAULT_VOICE
    try:
        return _BY_LOWER[name.strip().lower()]
    except KeyError:
        raise UnknownVoiceError(f"unknown voice: {name!r}") from None


def voice_for(name: str | None) -> EspeakVoice:
    """espeak voice for a Gemini voice name (case-insensitive); ``None`` gives ``DEFAULT_VOICE``.

    Raises ``UnknownVoiceError`` for unknown names.
    """
    return VOICES[resolve_voice_name(name)]


def sanitize_text(text: str) -> str:
    """Text made safe to speak: control, format and unassigned code points become spaces.

    Whitespace runs collapse to one space and the ends are stripped. Raises ``ValueError`` if
    the result is longer than ``MAX_TEXT_CHARS``.
    """
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    cleaned = _WHITESPACE_RUN.sub(" ", cleaned).strip()
    if len(cleaned) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters ({len(cleaned)})")
    return cleaned


class _WavStream:
    """Incremental parser of a streamed WAV: yields payload bytes as soon as the header is past.

    espeak-ng writes a placeholder size (0x7FFFFFFF) because it cannot seek a pipe, so chunk
    sizes of ``data`` and ``RIFF`` are ignored and the payload runs to end of stream.
    """

    def __init__(self) -> None:
        self._header = bytearray()
        self.rate_hz: int | None = None
        self.in_data = False

    def feed(self, data: bytes) -> bytes:
        if self.in_data:
            return data
        self._header += data
        payload = self._parse()
        if payload is None and len(self._header) > _MAX_HEADER_BYTES:
            raise SynthesisError("espeak-ng WAV header too long or missing a data chunk")
        return payload or b""

    def _parse(self) -> bytes | None:
        buf = self._header
        if len(buf) < 12:
            return None
        if buf[0:4] != b"RIFF" or buf[8:12] != b"WAVE":
            raise SynthesisError("espeak-ng output is not a RIFF/WAVE stream")
        pos = 12
        while len(buf) >= pos + 8:
            chunk_id = bytes(buf[pos : pos + 4])
            size = int.from_bytes(buf[pos + 4 : pos + 8], "little")
            if chunk_id == b"data":
                if self.rate_hz is None:
                    raise SynthesisError("espeak-ng WAV has data before fmt")
                self.in_data = True
                payload = bytes(buf[pos + 8 :])
                buf.clear()
                return payload
            end = pos + 8 + size + (size & 1)
            if end > _MAX_HEADER_BYTES:
                raise SynthesisError(f"espeak-ng WAV chunk {chunk_id!r} too large")
            if len(buf) < end:
                return None
            if chunk_id == b"fmt ":
                self._parse_fmt(bytes(buf[pos + 8 : pos + 8 + size]))
            pos = end
        return None

    def _parse_fmt(self, fmt: bytes) -> None:
        if len(fmt) < 16:
            raise SynthesisError("espeak-ng WAV fmt chunk too short")
        audio_format = int.from_bytes(fmt[0:2], "little")
        channels = int.from_bytes(fmt[2:4], "little")
        rate = int.from_bytes(fmt[4:8], "little")
        bits = int.from_bytes(fmt[14:16], "little")
        if audio_format != 1 or channels != 1 or bits != 16 or not 8000 <= rate <= 96000:
            raise SynthesisError(
                f"unsupported espeak-ng WAV format {audio_format}/{channels}ch/{bits}bit/{rate}Hz"
            )
        self.rate_hz = rate


class Synthesizer:
    """Streams espeak-ng speech as 24 kHz mono PCM16 LE chunks.

    Each ``stream`` call runs its own espeak-ng process (about 400x faster than real time), so
    calls are independent and may run concurrently on one event loop. The process is always
    killed and reaped when the stream ends, fails, is closed early or is cancelled.
    """

    def __init__(self, *, executable: str = "espeak-ng", chunk_ms: int = 40) -> None:
        if not 10 <= chunk_ms <= 1000:
            raise ValueError(f"chunk_ms must be 10-1000, got {chunk_ms}")
        self._executable = executable
        self.chunk_ms = chunk_ms
        self._chunk_bytes = bytes_for_ms(chunk_ms, OUTPUT_RATE_HZ)
        self._procs: set[asyncio.subprocess.Process] = set()

    def available(self) -> bool:
        """Whether the espeak-ng executable can be found (a quick PATH lookup)."""
        return shutil.which(self._executable) is not None

    def active_pids(self) -> frozenset[int]:
        """PIDs of espeak-ng processes this synthesizer is currently running (diagnostics)."""
        return frozenset(proc.pid for proc in self._procs)

    async def synthesize(self, text: str, voice: EspeakVoice) -> bytes:
        """Whole utterance as 24 kHz mono PCM16 LE bytes (empty for text with nothing to say)."""
        return b"".join([chunk async for chunk in self.stream(text, voice)])

    async def stream(self, text: str, voice: EspeakVoice) -> AsyncGenerator[bytes, None]:
        """Speak ``text``, yielding 24 kHz mono PCM16 LE chunks of ``chunk_ms`` as they are made.

        Every chunk but the last is exactly ``chunk_ms`` long. The first one is yielded as soon
        as espeak-ng has written enough audio for it (a few ms after start). Text is sanitised
        with ``sanitize_text`` and passed as one argv element after ``--``, never via a shell;
        text that is empty after sanitising yields nothing. Raises ``ValueError`` for text over
        ``MAX_TEXT_CHARS`` and ``SynthesisError`` if espeak-ng is missing, exits non-zero,
        stalls or writes malformed output. Close the iterator (``aclose``, or cancel the
        consuming task) to stop early; the process is then killed and reaped.
        """
        clean = sanitize_text(text)
        if not clean:
            return
        try:
            proc = await asyncio.create_subprocess_exec(
                self._executable,
                *voice.argv(),
                "--stdout",
                "--",
                clean,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SynthesisError(f"cannot start {self._executable!r}: {exc}") from exc
        self._procs.add(proc)
        assert proc.stdout is not None and proc.stderr is not None
        # Drained concurrently so a chatty stderr can never fill its pipe and block espeak-ng.
        stderr_task = asyncio.create_task(_read_capped(proc.stderr), name="espeak-ng-stderr")
        try:
            wav = _WavStream()
            resampler: Resampler | None = None
            pending = bytearray()
            while True:
                try:
                    async with asyncio.timeout(_STALL_TIMEOUT_S):
                        data = await proc.stdout.read(_READ_SIZE)
                except TimeoutError:
                    raise SynthesisError(f"espeak-ng stalled for {_STALL_TIMEOUT_S} s") from None
                if not data:
                    break
                pcm = wav.feed(data)
                if not pcm:
                    continue
                if resampler is None:
                    assert wav.rate_hz is not None
                    resampler = Resampler(wav.rate_hz, OUTPUT_RATE_HZ)
                pending += resampler.process(pcm)
                while len(pending) >= self._chunk_bytes:
                    chunk = bytes(pending[: self._chunk_bytes])
                    del pending[: self._chunk_bytes]
                    yield chunk
            await self._finish(proc, stderr_task, wav)
            if resampler is not None:
                pending += resampler.process(b"", last=True)
            for start in range(0, len(pending), self._chunk_bytes):
                yield bytes(pending[start : start + self._chunk_bytes])
        finally:
            await self._reap(proc, stderr_task)

    async def _finish(
        self, proc: asyncio.subprocess.Process, stderr_task: asyncio.Task[bytes], wav: _WavStream
    ) -> None:
        """After stdout EOF: wait (bounded) for exit and turn failure into ``SynthesisError``."""
        try:
            async with asyncio.timeout(_REAP_TIMEOUT_S):
                returncode = await proc.wait()
                stderr = await stderr_task
        except TimeoutError:
            raise SynthesisError("espeak-ng did not exit after closing its output") from None
        message = stderr.decode("utf-8", "replace").strip()
        if returncode != 0:
            raise SynthesisError(f"espeak-ng exited with status {returncode}: {message}")
        if message:
            # espeak-ng reports some problems (an unknown voice variant) yet exits 0.
            logger.warning("espeak-ng: %s", message)
        if not wav.in_data:
            raise SynthesisError("espeak-ng produced no WAV data")

    async def _reap(
        self, proc: asyncio.subprocess.Process, stderr_task: asyncio.Task[bytes]
    ) -> None:
        """Kill if still running, drain the pipes so their transports close, and wait (bounded)."""
        try:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            assert proc.stdout is not None
            async with asyncio.timeout(_REAP_TIMEOUT_S):
                while await proc.stdout.read(_READ_SIZE):
                    pass
                await proc.wait()
                await asyncio.wait([stderr_task])
        except TimeoutError:
            logger.error("espeak-ng pid %d was not reaped within %s s", proc.pid, _REAP_TIMEOUT_S)
        finally:
            stderr_task.cancel()
            self._procs.discard(proc)


async def _read_capped(stream: asyncio.StreamReader) -> bytes:
    """Read a stream to EOF, keeping only its last ``_STDERR_KEEP_BYTES`` bytes."""
    kept = b""
    while data := await stream.read(_READ_SIZE):
        kept = (kept + data)[-_STDERR_KEEP_BYTES:]
    return kept
