"""Browser latency: mouth to ear, barge-in and lip-sync, measured inside headless Chromium.

`python -m bench.browser_latency --json` starts `liveavatar up` (emulator, backend, static
frontend) as a child process on free ports and opens the real page in Chromium whose
fake microphone plays one generated WAV: 1 s of silence, then blocks of espeak-ng speech
separated by long silences. A "plain" block is one short question; a "barge-in" block is
"tell me a joke" followed, 1.4 s after it ended (about a second into the answer), by a
short question spoken over the avatar. Each phrase is trimmed to its loud part (the first
to the last 20 ms frame above -40 dBFS), so its offsets in the file are where speech
starts and ends.

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

A second init script (bench only) records the AudioContext the app creates (its output
latency) and taps the microphone stream with its own AnalyserNode, to check the
"mic-started + offset" clock against when each phrase's sound actually reached the page
(`mic_alignment_ms`: observed onset - assumed onset).

`--turn-detection server smart` runs the whole measurement once per mode (the persona's
`turn_detection`, stored before the stack starts) and prints both, keyed by mode.

Only the JSON object goes to stdout; the children's logs go to files in a temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from liveavatar.live.persona import Persona
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore
from liveavatar.turn.settings import TURN_DETECTIONS, TurnDetection

from ._browser import PROBE_SCRIPT, MicAudio, launch_options, liveavatar_up
from ._loadgen import percentile

PLAIN = ["what is your name", "thank you", "how are you", "good morning", "who are you"]
BARGE_QUESTION = "tell me a joke"
OVERLAPS = ["what is your name", "thank you", "who are you", "what is your name", "thanks"]
#: The overlapping phrase starts this long after the question ends: the answer starts about
#: 0.4 s after the end of speech, so the user cuts in about a second into it.
OVERLAP_AFTER_END_MS = 1_400
#: Silence after a plain question: its answer (≤ 3.2 s) plus margin, so that answers never
#: overlap the next phrase unless meant to.
PLAIN_GAP_MS = 5_000
OVERLAP_GAP_MS = 4_500

CAPTURE_BLOCK_MS = 20.0  # the capture worklet's block (320 samples at 16 kHz)
ANALYSER_FFT = 1024  # frontend/js/player.js: the AnalyserNode outputLevel() reads
#: lipsync.js: levelToOpenness maps -50..-16 dBFS to 0..1; the mouth is drawn open at 0.06.
FLOOR_DB, FULL_DB, MOUTH_OPEN = -50.0, -16.0, 0.06
LIPSYNC_LEVEL = 10 ** ((FLOOR_DB + MOUTH_OPEN * (FULL_DB - FLOOR_DB)) / 20)  # ≈ -48 dBFS
LIPSYNC_WINDOW = (-125.0, 45.0)  # ITU-R BT.1359 detectability, + = audio ahead
MIC_ONSET_LEVEL = 0.01  # -40 dBFS, the threshold the phrases were trimmed with
MAX_LAG_MS = 200.0
GRID_MS = 5.0

#: Bench-only instrumentation, installed before the app's scripts run. It leaves the app's
#: behaviour alone: the subclass only remembers the contexts, and the microphone tap is
#: an extra AnalyserNode on the same stream.
BENCH_SCRIPT = """
(() => {
  const contexts = [];
  const mic = { calledAt: null, resolvedAt: null, t: [], level: [] };
  // How far the rendered audio (currentTime, what the analyser sees) runs ahead of the
  // heard audio (the output timestamp), and the spacing of animation frames.
  const clock = { renderAheadMs: [], frameMs: [] };
  window.__bench = { contexts, mic, clock };
  setInterval(() => {
    const ctx = contexts[contexts.length - 1];
    if (!ctx || ctx.state !== 'running' || !ctx.getOutputTimestamp) return;
    const ts = ctx.getOutputTimestamp();
    if (!(ts.performanceTime > 0)) return;
    const heard = ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
    clock.renderAheadMs.push((ctx.currentTime - heard) * 1000);
  }, 23);
  let lastFrame = 0;
  const onFrame = (now) => {
    if (lastFrame) clock.frameMs.push(now - lastFrame);
    lastFrame = now;
    if (clock.frameMs.length < 2000) requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
  const Base = window.AudioContext;
  if (typeof Base === 'function') {
    window.AudioContext = class extends Base {
      constructor(...args) { super(...args); contexts.push(this); }
    };
  }
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (constraints) => {
    mic.calledAt = performance.now();
    const stream = await gum(constraints);
    mic.resolvedAt = performance.now();
    const ctx = contexts[contexts.length - 1];
    if (ctx && constraints && constraints.audio) {
      const an = new AnalyserNode(ctx, { fftSize: 256, smoothingTimeConstant: 0 });
      new MediaStreamAudioSourceNode(ctx, { mediaStream: stream }).connect(an);
      const buf = new Float32Array(an.fftSize);
      setInterval(() => {
        an.getFloatTimeDomainData(buf);
        let s = 0;
        for (let i = 0; i < buf.length; i++) s += buf[i] * buf[i];
        mic.t.push(performance.now());
        mic.level.push(Math.sqrt(s / buf.length));
      }, 5);
    }
    return stream;
  };
})();
"""

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Utterance:
    """A phrase of the WAV and whether it is meant to be spoken over an answer."""

    text: str
    start_ms: float
    end_ms: float
    overlaps: bool


def build_audio(blocks: int) -> tuple[MicAudio, list[Utterance]]:
    """Alternate plain and barge-in blocks; `blocks` of each."""
    audio = MicAudio().pause(1_000)
    overlapping: set[int] = set()
    for b in range(blocks):
        audio.say(PLAIN[b % len(PLAIN)]).pause(PLAIN_GAP_MS)
        audio.say(BARGE_QUESTION).pause(OVERLAP_AFTER_END_MS)
        overlapping.add(len(audio.phrases))
        audio.say(OVERLAPS[b % len(OVERLAPS)]).pause(OVERLAP_GAP_MS)
    utterances = [
        Utterance(p.text, p.start_ms, p.end_ms, i in overlapping)
        for i, p in enumerate(audio.phrases)
    ]
    return audio, utterances


# ---- analysis (pure) ------------------------------------------------------------------------


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95 (linear interpolation) rounded to 0.1 ms, and the count."""
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 0.5), 1),
        "p95": round(percentile(ordered, 0.95), 1),
        "n": len(ordered),
    }


def openness_target(level: FloatArray) -> FloatArray:
    """lipsync.js levelToOpenness: the openness the level asks for (before smoothing)."""
    db = 20 * np.log10(np.maximum(level, 1e-12))
    return np.clip((db - FLOOR_DB) / (FULL_DB - FLOOR_DB), 0.0, 1.0)


def xcorr_lag_ms(t: FloatArray, x: FloatArray, y: FloatArray) -> float | None:
    """The lag (ms) of `y` behind `x` that maximises their normalised cross-correlation.

    Both series are resampled to a 5 ms grid first (the probe's timer jitters); the best
    lag is refined with a parabola through its neighbours.
    """
    if len(t) < 8 or t[-1] - t[0] < 3 * MAX_LAG_MS:
        return None
    grid = np.arange(t[0], t[-1], GRID_MS)
    xs = np.interp(grid, t, x)
    ys = np.interp(grid, t, y)
    xs, ys = xs - xs.mean(), ys - ys.mean()
    if not (xs.any() and ys.any()):
        return None
    max_lag = int(MAX_LAG_MS / GRID_MS)
    scores = []
    for lag in range(-max_lag, max_lag + 1):
        a = xs[: len(xs) - lag] if lag >= 0 else xs[-lag:]
        b = ys[lag:] if lag >= 0 else ys[: len(ys) + lag]
        denom = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
        scores.append(float(np.dot(a, b)) / denom if denom > 0 else 0.0)
    best = int(np.argmax(scores))
    shift = 0.0
    if 0 < best < len(scores) - 1:
        left, mid, right = scores[best - 1], scores[best], scores[best + 1]
        curve = left - 2 * mid + right
        if curve < 0:
            shift = 0.5 * (left - right) / curve
    return (best - max_lag + shift) * GRID_MS


def first_index(mask: NDArray[np.bool_], start: int, stop: int | None = None) -> int | None:
    """Index of the first true value of `mask[start:stop]`, or None."""
    hits = np.flatnonzero(mask[start:stop])
    return int(hits[0]) + start if hits.size else None


def cut_answer_end(
    t: FloatArray,
    sound: NDArray[np.bool_],
    speaking: NDArray[np.bool_],
    events: Sequence[dict[str, Any]],
    i_start: int,
    start_t: float,
    limit_t: float,
) -> int | None:
    """Index of the last sounding sample of an answer cut by speech starting at `start_t`.

    None unless the avatar was speaking when that speech began and the page got an
    `interrupted` for it. Found backwards from the next answer's `playback-started`: past
    that answer's first samples, across the silence, to the cut answer's last sound; so a
    pause inside the cut answer is not mistaken for the end of playback.
    """
    if i_start >= len(t) or not speaking[i_start]:
        return None
    cut_at = next(
        (e["t"] for e in events if e["type"] == "interrupted" and start_t <= e["t"] <= limit_t),
        None,
    )
    if cut_at is None:
        return None
    next_play = next(
        (e["t"] for e in events if e["type"] == "playback-started" and cut_at < e["t"] <= limit_t),
        limit_t,
    )
    i = min(int(np.searchsorted(t, next_play)), len(t)) - 1
    while i > i_start and sound[i]:
        i -= 1  # the next answer's first samples (its event comes a report later)
    while i > i_start and not sound[i]:
        i -= 1  # the silence between the two answers
    return i if sound[i] and i + 1 < len(t) else None


def analyse(
    utterances: Sequence[Utterance],
    events: Sequence[dict[str, Any]],
    probe: dict[str, Any],
    mic: dict[str, Any],
    sample_rate: float,
    *,
    heard_after_ms: float = 0.0,
    seen_after_ms: float = 0.0,
) -> dict[str, Any]:
    """Turn the page's event log and 5 ms samples into the benchmark's figures.

    `heard_after_ms`: how long after a probe the level it read is heard (the render's lead
    over the output, minus half the analyser window); `seen_after_ms`: how long after a
    probe the mouth it read is on screen (one display refresh).
    """
    mic_started = next(e["t"] for e in events if e["type"] == "mic-started")
    t = np.asarray(probe["t"], dtype=np.float64)
    level = np.asarray(probe["level"], dtype=np.float64)
    mouth = np.asarray(probe["mouth"], dtype=np.float64)
    speaking = np.asarray(probe["speaking"], dtype=np.float64) > 0
    # Between answers the output is digital silence (exactly 0); inside an answer even
    # its pauses carry ±1 LSB, so "not silent" is simply "not zero".
    sound = level > 0
    window_ms = ANALYSER_FFT / sample_rate * 1000
    user_finals = [
        e["t"] for e in events if e["type"] == "transcript" and e["role"] == "user" and e["final"]
    ]
    interrupted = sum(e["type"] == "interrupted" for e in events)

    mouth_to_ear: list[float] = []
    barge_in: list[float] = []
    lipsync_xcorr: list[float] = []
    lipsync_heard: list[float] = []
    lipsync_onset: list[float] = []
    to_final: list[float] = []
    final_to_output: list[float] = []
    unanswered: list[str] = []
    untimed: list[str] = []
    not_interrupted: list[str] = []
    in_a_pause = 0
    per_turn: list[dict[str, Any]] = []
    for n, u in enumerate(utterances):
        detail: dict[str, Any] = {"text": u.text, "overlaps": u.overlaps}
        per_turn.append(detail)
        start_t, end_t = mic_started + u.start_ms, mic_started + u.end_ms
        limit_t = mic_started + utterances[n + 1].start_ms if n + 1 < len(utterances) else t[-1]
        i_start, i_end = (int(i) for i in np.searchsorted(t, [start_t, end_t]))
        limit = int(np.searchsorted(t, limit_t))
        if i_end >= len(t):
            unanswered.append(u.text)
            continue
        base = i_end
        if u.overlaps:
            cut = cut_answer_end(t, sound, speaking, events, i_start, start_t, limit_t)
            before = level[int(np.searchsorted(t, start_t - 100)) : i_start + 1]
            if before.size and before.max() < LIPSYNC_LEVEL:
                in_a_pause += 1  # still timed: the flush, not the pause, ends the output
            if cut is None:
                not_interrupted.append(u.text)
            else:
                barge_in.append(t[cut + 1] - window_ms - start_t)
                detail["barge_in_ms"] = round(barge_in[-1], 1)
                base = max(base, cut + 1)
        if sound[base]:
            untimed.append(u.text)  # an earlier answer still playing: no onset to time
            continue
        onset = first_index(sound, base, limit)
        if onset is None:
            unanswered.append(u.text)
            continue
        mouth_to_ear.append(t[onset] - end_t)
        detail["mouth_to_ear_ms"] = round(mouth_to_ear[-1], 1)
        final = next((x for x in user_finals if end_t - 500 <= x <= t[onset]), None)
        if final is not None:
            to_final.append(final - end_t)
            final_to_output.append(t[onset] - final)
        # Lip-sync over this answer, up to the next phrase plus the mouth's release (for a
        # cut answer, that is until just after the cut).
        seg = slice(max(onset - 20, 0), int(np.searchsorted(t, limit_t + 300)))
        lag = xcorr_lag_ms(t[seg], openness_target(level[seg]), mouth[seg])
        if lag is not None:
            lipsync_xcorr.append(lag)
            lipsync_heard.append(lag + seen_after_ms - heard_after_ms)
            detail["lipsync_offset_ms"] = round(lipsync_heard[-1], 1)
            detail["lipsync_offset_rendered_ms"] = round(lag, 1)
        a = first_index(level >= LIPSYNC_LEVEL, onset, limit)
        m = first_index(mouth >= MOUTH_OPEN, onset, limit)
        if a is not None and m is not None:
            lipsync_onset.append(t[m] - t[a])
            detail["lipsync_onset_ms"] = round(lipsync_onset[-1], 1)

    mic_t = np.asarray(mic.get("t", []), dtype=np.float64)
    mic_level = np.asarray(mic.get("level", []), dtype=np.float64)
    alignment: list[float] = []
    for u in utterances:
        assumed = mic_started + u.start_ms
        i = first_index(mic_level >= MIC_ONSET_LEVEL, int(np.searchsorted(mic_t, assumed - 300)))
        if i is not None and mic_t[i] < assumed + 500:
            alignment.append(mic_t[i] - assumed)

    def within(values: Sequence[float]) -> dict[str, Any]:
        lo, hi = LIPSYNC_WINDOW
        inside = [v for v in values if lo <= v <= hi]
        med = summary(values)["p50"]
        return {
            "fraction_within": round(len(inside) / len(values), 2) if values else None,
            "p50_within": med is not None and lo <= float(med) <= hi,
        }

    gaps = np.diff(t)
    return {
        "mouth_to_ear_ms": summary(mouth_to_ear),
        "barge_in_ms": summary(barge_in),
        "lipsync_offset_ms": {
            **summary(lipsync_heard),
            "method": "cross-correlation, as heard and seen",
            "heard_after_ms": round(heard_after_ms, 1),
            "seen_after_ms": round(seen_after_ms, 1),
        },
        "lipsync_offset_rendered_ms": {
            **summary(lipsync_xcorr),
            "method": "cross-correlation, analyser level vs mouth when drawn",
        },
        "lipsync_onset_ms": {**summary(lipsync_onset), "method": "onsets, as rendered"},
        "lipsync_window": {
            "range_ms": list(LIPSYNC_WINDOW),
            "convention": "positive = audio ahead of the mouth (ITU-R BT.1359 detectability)",
            "offset": within(lipsync_heard),
            "onset": within(lipsync_onset),
        },
        "breakdown": {
            "end_of_speech_to_user_final_ms": summary(to_final),
            "user_final_to_output_ms": summary(final_to_output),
        },
        "mic_alignment_ms": summary(alignment),
        "per_turn": per_turn,
        "turns": {
            "phrases": len(utterances),
            "overlapping": sum(u.overlaps for u in utterances),
            "unanswered": unanswered,
            "untimed": untimed,
            "not_interrupted": not_interrupted,
            "overlaps_starting_in_a_pause": in_a_pause,
            "interrupted_events": interrupted,
        },
        "probe_interval_ms": {
            "p50": round(float(np.median(gaps)), 1) if gaps.size else None,
            "p99": round(float(np.percentile(gaps, 99)), 1) if gaps.size else None,
        },
    }


# ---- the run ---------------------------------------------------------------------------------


def save_turn_detection(data_dir: Path, mode: TurnDetection) -> None:
    """Store the built-in persona with `turn_detection: mode` where the stack will read it."""
    live = Persona()
    config = PersonaConfig(
        name=live.name,
        model=live.model,
        voice=live.voice,
        system_instruction=live.system_instruction,
        tools=list(live.tools),
        turn_detection=mode,
    )

    async def save() -> None:
        store = SQLiteStore(data_dir / DB_FILENAME)
        try:
            await store.put_persona(config, expected_version=None)
        finally:
            await store.close()

    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(save())


def run(blocks: int, workdir: Path, turn_detection: TurnDetection = "server") -> dict[str, Any]:
    audio, utterances = build_audio(blocks)
    wav = audio.write(workdir / "mic.wav")
    if turn_detection != "server":
        save_turn_detection(workdir / "stack" / "data", turn_detection)
    with liveavatar_up(workdir / "stack") as stack, sync_playwright() as p:
        browser = p.chromium.launch(**launch_options(wav))
        try:
            page = browser.new_page()
            page.add_init_script(BENCH_SCRIPT)
            page.add_init_script(PROBE_SCRIPT)
            page.goto(stack.page_url())
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
    return ordered


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
    args = parser.parse_args(argv)
    blocks = max(args.blocks, 4)  # at least 12 timed turns
    results: dict[str, dict[str, Any]] = {}
    for mode in args.turn_detection:
        if args.keep:
            (args.keep / mode).mkdir(parents=True, exist_ok=True)
            result = run(blocks, args.keep / mode, mode)
        else:
            with tempfile.TemporaryDirectory(prefix="browser-latency-") as tmp:
                result = run(blocks, Path(tmp), mode)
        if not args.detail:
            result.pop("per_turn")
        results[mode] = result
    one = len(results) == 1
    print(json.dumps(next(iter(results.values())) if one else results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
