"""Browser latency: mouth to ear, barge-in and lip-sync, measured inside headless Chromium.

`python -m bench.browser_latency --json` starts `liveavatar up` (emulator, backend, static
frontend) as a child process on free ports and opens the real page in Chromium whose
fake microphone plays one generated WAV: 1 s of silence, then blocks of speech (espeak-ng,
or Piper's neural voice with `--voice piper`) separated by long silences. A "plain" block
is one short question; a "barge-in" block is "tell me a joke" followed, 1.4 s after it
ended (about a second into the answer), by a short question spoken over the avatar. Each
phrase is trimmed to its loud part (the first to the last 20 ms frame above -40 dBFS), so
its offsets in the file are where speech starts and ends.

Time is the page's `performance.now()`. Chromium starts the WAV when getUserMedia opens
the device, so a phrase ends at `mic-started` (the app's event) + its offset in the file.
An init script samples `__liveavatar.outputLevel()` (RMS of the player's AnalyserNode,
1024 samples), `mouthOpenness()` and the state every 5 ms. From those series:

- `mouth_to_ear_ms`: end of speech → first non-silent output sample (the first poll whose
  level is not zero; the app's output is digital silence between answers);
- `barge_in_ms`: start of the speech that overlaps an answer → output silent (after the
  last non-silent poll before the next answer, minus the analyser window, since the RMS
  of the last 1024 samples only reaches zero that long after the last sample played);
- `lipsync_offset_ms`: per answer, the lag that best aligns the mouth with the voice as
  heard and seen (cross-correlation of mouthOpenness() with the openness the level asks
  for, ±5 ms steps refined by a parabola); positive = audio ahead of the mouth. The level
  is moved to when it is heard: the analyser holds what was rendered, which the output
  device plays `renderAheadMs` later (the AudioContext's currentTime minus its output
  timestamp, sampled every 23 ms by the bench script, median), minus half the analyser
  window (its centre); the mouth is moved to when it is seen, one display refresh after
  it is drawn (the median spacing of animation frames). `lipsync_offset_rendered_ms` is
  the same lag without either move (the figure this bench reported before the page drove
  the mouth from its playback clock). `lipsync_page_reported_ms`: the offsets the page
  measured itself, one per answer, as it reports them to the backend. `lipsync_onset_ms`
  is the rendered lag from onsets (level above -48 dBFS vs mouth above 0.06, its
  drawn-open threshold). `lipsync_window` checks the heard/seen offsets against ITU-R
  BT.1359's detectability window: audio at most 45 ms ahead, at most 125 ms behind, i.e.
  [-125, +45] in this convention;
- `playback_underruns`: `__liveavatar.underruns()` at the end;
- `browser_share_ms`: the 20 ms capture block plus the player's pre-buffer (prebufferMs()).

A second init script (bench only, `_page_instruments`) records the AudioContext the app
creates (its output latency) and taps the microphone stream with its own AnalyserNode, to
check the "mic-started + offset" clock against when each phrase's sound actually reached
the page (`mic_alignment_ms`: observed onset - assumed onset). The WAV's phrases and
pauses are in `_latency_wav`.

`--turn-detection server smart` runs the whole measurement once per mode (the persona's
`turn_detection`, stored before the stack starts) and prints both, keyed by mode.

`--avatar native` measures the native avatar instead (the persona's `avatar_mode:
native` with the prebuilt avatar "Kira", the emulator streaming fragmented MP4): mouth to
ear to the answer's first video frame with sound and barge-in to the video stopping, from
the page's `<video>` (bench/_native_latency.py says exactly what is timed). `--avatar
drawn native` runs both on the same WAV, one after the other, keyed by avatar. The drawn
mode's figures are computed as before.

Only the JSON object goes to stdout; the children's logs go to files in a temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from liveavatar.child_lifetime import sigterm_as_interrupt
from liveavatar.live.persona import Persona
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore
from liveavatar.turn.settings import TURN_DETECTIONS, TurnDetection

from ._browser import PROBE_SCRIPT, MicAudio, launch_options, liveavatar_up, summary
from ._drawn_latency import ANALYSER_FFT, CAPTURE_BLOCK_MS, Utterance, analyse, mic_alignment
from ._latency_wav import VOICES, build_audio
from ._native_latency import NATIVE_SCRIPT, analyse_native
from ._page_instruments import BENCH_SCRIPT

AVATARS = ("drawn", "native")
#: The emulator's prebuilt native avatar the bench asks for.
NATIVE_AVATAR = "Kira"


def save_persona(data_dir: Path, mode: TurnDetection, avatar: str = "drawn") -> None:
    """Store the built-in persona with `turn_detection: mode` (and for `avatar` "native",
    the native avatar) where the stack will read it."""
    live = Persona()
    config = PersonaConfig(
        name=live.name,
        model=live.model,
        voice=live.voice,
        system_instruction=live.system_instruction,
        tools=list(live.tools),
        turn_detection=mode,
    )
    if avatar == "native":
        config = config.model_copy(update={"avatar_mode": "native", "native_avatar": NATIVE_AVATAR})

    async def save() -> None:
        store = SQLiteStore(data_dir / DB_FILENAME)
        try:
            await store.put_persona(config, expected_version=None)
        finally:
            await store.close()

    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(save())


def run(
    blocks: int,
    workdir: Path,
    turn_detection: TurnDetection = "server",
    avatar: str = "drawn",
    voice: str = "espeak",
) -> dict[str, Any]:
    audio, utterances = build_audio(blocks, voice)
    wav = audio.write(workdir / "mic.wav")
    native = avatar == "native"
    if turn_detection != "server" or native:
        save_persona(workdir / "stack" / "data", turn_detection, avatar)
    with liveavatar_up(workdir / "stack") as stack, sync_playwright() as p:
        browser = p.chromium.launch(**launch_options(wav))
        try:
            page = browser.new_page()
            if native:
                # First: it keeps the AudioContext the bench's wrapper replaces.
                page.add_init_script(NATIVE_SCRIPT)
            page.add_init_script(BENCH_SCRIPT)
            page.add_init_script(PROBE_SCRIPT)
            # Native: the page follows the persona (`auto`), as a visitor's page does.
            page.goto(stack.page_url(avatar="auto") if native else stack.page_url())
            page.wait_for_function(
                "() => (window.__liveavatar?.events ?? []).some((e) => e.type === 'mic-started')",
                timeout=30_000,
            )
            # Until the WAV has played and the last answer is over (or a deadline passed:
            # a misheard phrase shows up as unanswered rather than as a hang).
            done = """([turns, endMs]) => {
              const h = window.__liveavatar;
              const mic = h.events.find((e) => e.type === 'mic-started');
              const complete = h.events.filter((e) => e.type === 'turn_complete').length;
              return performance.now() > mic.t + endMs && complete >= turns
                && h.state === 'listening' && h.mouthOpenness() < 0.05;
            }"""
            finished = True
            try:
                page.wait_for_function(
                    done,
                    arg=[len(utterances), audio.duration_ms],
                    timeout=audio.duration_ms + 30_000,
                    polling=100,
                )
            except PlaywrightError:
                finished = False  # analysed as far as it got; the turns show what is missing
            state = page.evaluate(
                """() => {
                  const h = window.__liveavatar;
                  const ctx = window.__bench.contexts[0];
                  return {
                    events: h.events, probe: window.__probe, mic: window.__bench.mic,
                    native: window.__native ?? null,
                    clock: window.__bench.clock,
                    underruns: h.underruns(), prebufferMs: h.prebufferMs(),
                    sampleRate: ctx ? ctx.sampleRate : 48000,
                    baseLatency: ctx ? ctx.baseLatency : null,
                    outputLatency: ctx ? ctx.outputLatency : null,
                  };
                }"""
            )
        finally:
            browser.close()
    # What the page recorded, for a second look (kept with --keep).
    (workdir / "page-state.json").write_text(json.dumps(state))
    if native:
        return native_result(state, utterances, audio, turn_detection, finished)
    sample_rate = float(state["sampleRate"])
    ahead = state["clock"]["renderAheadMs"]
    frames = state["clock"]["frameMs"]
    render_ahead = float(np.median(ahead)) if ahead else 0.0
    refresh = float(np.median(frames)) if frames else 1000 / 60
    result = analyse(
        utterances,
        state["events"],
        state["probe"],
        state["mic"],
        sample_rate,
        heard_after_ms=render_ahead - ANALYSER_FFT / sample_rate * 1000 / 2,
        seen_after_ms=refresh,
    )
    prebuffer = float(state["prebufferMs"])
    mic = state["mic"]
    ttfa = [
        float(e["time_to_first_audio_ms"])
        for e in state["events"]
        if e["type"] == "metrics" and e.get("time_to_first_audio_ms") is not None
    ]
    result["breakdown"]["backend_time_to_first_audio_ms"] = summary(ttfa)
    page_av = [
        float(e["av_offset_ms"])
        for e in state["events"]
        if e["type"] == "heard" and e.get("av_offset_ms") is not None
    ]
    ordered = {
        "mouth_to_ear_ms": result.pop("mouth_to_ear_ms"),
        "barge_in_ms": result.pop("barge_in_ms"),
        "playback_underruns": int(state["underruns"]),
        "lipsync_offset_ms": result.pop("lipsync_offset_ms"),
        "lipsync_offset_rendered_ms": result.pop("lipsync_offset_rendered_ms"),
        # What the page itself measured and reported with each answer (`played`).
        "lipsync_page_reported_ms": summary(page_av),
        "browser_share_ms": {
            "capture_block_ms": CAPTURE_BLOCK_MS,
            "prebuffer_ms": prebuffer,
            "total_ms": CAPTURE_BLOCK_MS + prebuffer,
        },
        **result,
        "audio_context": {
            "sample_rate": state["sampleRate"],
            "base_latency_ms": _ms(state["baseLatency"]),
            "output_latency_ms": _ms(state["outputLatency"]),
        },
        "getusermedia_ms": (
            round(mic["resolvedAt"] - mic["calledAt"], 1)
            if mic.get("resolvedAt") is not None and mic.get("calledAt") is not None
            else None
        ),
        "turn_detection": turn_detection,
        "finished": finished,
        "wav_s": round(audio.duration_ms / 1000, 1),
        "cpu_count": os.cpu_count(),
    }
    return {"avatar": "drawn", **ordered}


def native_result(
    state: dict[str, Any],
    utterances: Sequence[Utterance],
    audio: MicAudio,
    turn_detection: TurnDetection,
    finished: bool,
) -> dict[str, Any]:
    """The native avatar's figures (the drawn mode's level, mouth and lip-sync do not apply:
    the voice is in the video)."""
    result = analyse_native(
        utterances, state["events"], state["native"] or {"frames": []}, state["mic"]
    )
    mic_started = next(e["t"] for e in state["events"] if e["type"] == "mic-started")
    ttfa = [
        float(e["time_to_first_audio_ms"])
        for e in state["events"]
        if e["type"] == "metrics" and e.get("time_to_first_audio_ms") is not None
    ]
    return {
        "avatar": "native",
        **result,
        "breakdown": {"backend_time_to_first_media_ms": summary(ttfa)},
        "mic_alignment_ms": summary(mic_alignment(utterances, mic_started, state["mic"])),
        "turn_detection": turn_detection,
        "finished": finished,
        "wav_s": round(audio.duration_ms / 1000, 1),
        "cpu_count": os.cpu_count(),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument(
        "--blocks",
        type=int,
        default=5,
        help="plain + barge-in block pairs (each pair is 3 timed turns; default 5)",
    )
    parser.add_argument("--keep", type=Path, help="keep the WAV and child logs in this folder")
    parser.add_argument("--detail", action="store_true", help="add every turn's figures")
    parser.add_argument(
        "--turn-detection",
        nargs="+",
        choices=TURN_DETECTIONS,
        default=["server"],
        help="the persona's turn detection; several: one run each, side by side in one "
        "object keyed by mode (default: server)",
    )
    parser.add_argument(
        "--avatar",
        nargs="+",
        choices=AVATARS,
        default=["drawn"],
        help="the avatar measured; several: one run each on the same WAV, side by side in "
        "one object keyed by avatar (default: drawn)",
    )
    parser.add_argument(
        "--voice",
        choices=VOICES,
        default="espeak",
        help="who speaks into the fake microphone: espeak-ng en-us+klatt4 (default) or "
        "Piper's neural voice en_US-joe-medium (the dev extra's piper-tts)",
    )
    parser.add_argument(
        "--min-blocks",
        type=int,
        default=4,
        help="the floor on --blocks (default 4: at least 12 timed turns; lower only for a "
        "quick check of the bench itself)",
    )
    args = parser.parse_args(argv)
    blocks = max(args.blocks, args.min_blocks, 1)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    # SIGTERM (`kill`, or `kill -- -PGID`) and Ctrl-C both leave through `liveavatar_up`'s
    # `finally`, which stops the stack: it runs in a session of its own, out of their reach.
    try:
        with sigterm_as_interrupt():
            for avatar in args.avatar:
                for mode in args.turn_detection:
                    result = _run_one(args, blocks, avatar, mode)
                    results.setdefault(avatar, {})[mode] = result
    except KeyboardInterrupt:
        return 130
    print(json.dumps(_shape(results)))
    return 0


def _run_one(
    args: argparse.Namespace, blocks: int, avatar: str, mode: TurnDetection
) -> dict[str, Any]:
    """One measurement (`avatar`, `mode`), in --keep's folder or a temporary one."""
    name = mode if avatar == "drawn" else f"{avatar}-{mode}"
    if args.keep:
        (args.keep / name).mkdir(parents=True, exist_ok=True)
        result = run(blocks, args.keep / name, mode, avatar, args.voice)
    else:
        with tempfile.TemporaryDirectory(prefix="browser-latency-") as tmp:
            result = run(blocks, Path(tmp), mode, avatar, args.voice)
    result["voice"] = args.voice
    if not args.detail:
        result.pop("per_turn")
    return result


def _shape(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """One run: its object; several turn detections: keyed by mode; several avatars:
    keyed by avatar (then by mode when there are several of those too)."""
    by_avatar = {
        avatar: next(iter(modes.values())) if len(modes) == 1 else modes
        for avatar, modes in results.items()
    }
    return next(iter(by_avatar.values())) if len(by_avatar) == 1 else by_avatar


if __name__ == "__main__":
    sys.exit(main())
