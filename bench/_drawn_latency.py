"""The drawn avatar's figures in `bench.browser_latency`: mouth to ear, barge-in and
lip-sync from the page's 5 ms samples of its output level and mouth (pure analysis; the
module docstring of `bench.browser_latency` says what each figure measures)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._browser import summary

CAPTURE_BLOCK_MS = 20.0  # the capture worklet's block (320 samples at 16 kHz)
ANALYSER_FFT = 1024  # frontend/js/player.js: the AnalyserNode outputLevel() reads
#: lipsync.js: levelToOpenness maps -50..-16 dBFS to 0..1; the mouth is drawn open at 0.06.
FLOOR_DB, FULL_DB, MOUTH_OPEN = -50.0, -16.0, 0.06
LIPSYNC_LEVEL = 10 ** ((FLOOR_DB + MOUTH_OPEN * (FULL_DB - FLOOR_DB)) / 20)  # ≈ -48 dBFS
LIPSYNC_WINDOW = (-125.0, 45.0)  # ITU-R BT.1359 detectability, + = audio ahead
MIC_ONSET_LEVEL = 0.01  # -40 dBFS, the threshold the phrases were trimmed with
MAX_LAG_MS = 200.0
GRID_MS = 5.0

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Utterance:
    """A phrase of the WAV and whether it is meant to be spoken over an answer."""

    text: str
    start_ms: float
    end_ms: float
    overlaps: bool


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


def mic_alignment(
    utterances: Sequence[Utterance], mic_started: float, mic: dict[str, Any]
) -> list[float]:
    """Per phrase: when its sound reached the page's microphone tap minus when the bench
    assumes it did (`mic-started` + its offset in the WAV)."""
    mic_t = np.asarray(mic.get("t", []), dtype=np.float64)
    mic_level = np.asarray(mic.get("level", []), dtype=np.float64)
    alignment: list[float] = []
    for u in utterances:
        assumed = mic_started + u.start_ms
        i = first_index(mic_level >= MIC_ONSET_LEVEL, int(np.searchsorted(mic_t, assumed - 300)))
        if i is not None and mic_t[i] < assumed + 500:
            alignment.append(mic_t[i] - assumed)
    return alignment


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

    alignment = mic_alignment(utterances, mic_started, mic)

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
