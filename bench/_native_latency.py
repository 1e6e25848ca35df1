"""Native avatar mode of `bench.browser_latency`: mouth to ear to the answer's first video
frame with sound, and barge-in to the video stopping, measured in the page's `<video>`.

In native mode the answer is one fragmented MP4 (H.264 video, the voice muxed in as AAC)
played by the page's MsePlayer in `video.avatar-native`; there is no PCM player, so the
drawn mode's analyser level is not the answer. `NATIVE_SCRIPT` (bench only, installed
before the app's scripts) watches that element:

- every presented frame through `requestVideoFrameCallback`: its `presentationTime` (when
  Chromium handed the frame to the compositor, on the `performance.now()` clock), its
  `expectedDisplayTime`, its `mediaTime`, and the element's state at that frame (paused,
  readyState, muted, volume);
- every 5 ms: the element's `currentTime`, paused, readyState, how much media is buffered
  ahead of the play head, and the level of its sound, tapped from `captureStream()` (which
  leaves the element's own output alone) with an AnalyserNode of 256 samples, summing
  every audio track the captured stream is given (Chromium can move the sound to a track
  it adds once playback starts).

From those:

- `mouth_to_ear_ms`: end of speech → the `presentationTime` of the first frame of the
  answer presented while the element plays with its sound on (not paused, readyState at
  least HAVE_FUTURE_DATA, not muted, volume above 0), its media time past every frame
  presented before the end of speech. `…_expected_display_ms` is the same frame's
  `expectedDisplayTime` (one vsync later, when it is expected on screen);
  `first_sound_ms` is the end of speech → the first 5 ms sample of the tap above
  -48 dBFS after that answer began (the voice's first audible samples, which may come a
  little after the first frame when the answer starts with a breath of silence).
- `barge_in_ms`: start of the overlapping speech → the video stopping: the first sample,
  from the page's `interrupted` on, from which `currentTime` no longer advances for at
  least `STALL_MS` (the play head stuck at the cut, until the next answer's media moves
  it on). `barge_in_cleared_ms`: → the first sample from `interrupted` on with less than
  a frame (1/24 s) buffered ahead of the play head (the MSE queue cleared);
  `barge_in_silent_ms`: → the tap's level below -48 dBFS for good (from then until the
  next answer, minus the tap's 256-sample window). `interrupted_to_stop_ms` is the page's
  own part: `interrupted` received → the video stopping, as above.
- `mic_during_answer`: the share of 5 ms samples of the page's microphone stream (the
  bench's tap after the browser's echo cancellation) above -40 dBFS during each phrase,
  for the phrases spoken over an answer against the others: the overlapping speech the
  page could pass on at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._browser import summary
from ._drawn_latency import Utterance

FloatArray = NDArray[np.float64]

#: The play head has stopped once currentTime has not moved for this long.
STALL_MS = 100.0
#: Less than one 24 fps frame left ahead of the play head: nothing more will be shown.
FRAME_S = 1 / 24
#: -48 dBFS, the level the drawn mode counts as the mouth's threshold.
SOUND_LEVEL = 10 ** (-48 / 20)
TAP_FFT = 256
MIC_LEVEL = 0.01  # -40 dBFS, the threshold the phrases were trimmed with
#: Frames presented this shortly before the end of speech mean an earlier answer still plays.
STILL_PLAYING_MS = 100.0

NATIVE_SCRIPT = """
(() => {
  const Ctx = window.AudioContext; // the original, before the bench's wrapper
  const native = (window.__native = { frames: [], t: [], time: [], paused: [], ready: [],
    ahead: [], level: [], ranges: [], tapError: null, elements: 0 });
  let lastRanges = null;
  let video = null;
  let analyser = null;
  const buf = new Float32Array(256);
  const watch = (v) => {
    video = v;
    analyser = null;
    native.elements += 1;
    const onFrame = (now, meta) => {
      if (video !== v) return;
      native.frames.push({
        now, presentation: meta.presentationTime, expected: meta.expectedDisplayTime,
        media: meta.mediaTime, presented: meta.presentedFrames,
        paused: v.paused, ready: v.readyState, muted: v.muted, volume: v.volume,
        audioBytes: v.webkitAudioDecodedByteCount ?? null,
      });
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  };
  const tap = (v) => {
    try {
      const ctx = new Ctx();
      // Made outside a user gesture, the context may start suspended: its analyser then
      // reads silence for the whole run.
      if (ctx.state !== 'running') ctx.resume().catch(() => {});
      const an = new AnalyserNode(ctx, { fftSize: 256, smoothingTimeConstant: 0 });
      native.tapRate = ctx.sampleRate;
      // Chromium may add a second audio track to the captured stream once playback
      // starts and carry the sound on that one, the first staying live but silent: every
      // audio track the stream ever has is summed into the analyser.
      const stream = v.captureStream();
      const joined = new Set();
      const join = () => {
        for (const track of stream.getAudioTracks()) {
          if (joined.has(track.id)) continue;
          joined.add(track.id);
          // One stream per track (Chromium has no MediaStreamTrackAudioSourceNode).
          const one = new MediaStream([track]);
          new MediaStreamAudioSourceNode(ctx, { mediaStream: one }).connect(an);
          native.tapTracks = joined.size;
        }
      };
      stream.addEventListener('addtrack', join);
      join();
      return an;
    } catch (err) {
      native.tapError = String(err && err.message || err);
      return null;
    }
  };
  setInterval(() => {
    const v = document.querySelector('video.avatar-native');
    if (v && v !== video) watch(v);
    if (!video) return;
    // The tap once the element has a track to capture (after its first media).
    if (!analyser && !native.tapError && video.readyState >= 1) analyser = tap(video);
    let level = 0;
    if (analyser) {
      try {
        analyser.getFloatTimeDomainData(buf);
        let s = 0;
        for (let i = 0; i < buf.length; i++) s += buf[i] * buf[i];
        level = Math.sqrt(s / buf.length);
      } catch (err) { level = 0; }
    }
    const b = video.buffered;
    native.t.push(performance.now());
    native.time.push(video.currentTime);
    native.paused.push(video.paused ? 1 : 0);
    native.ready.push(video.readyState);
    native.ahead.push(b.length ? b.end(b.length - 1) - video.currentTime : 0);
    native.level.push(level);
    // The buffered ranges each time they change (for a second look with --keep).
    const r = [];
    for (let i = 0; i < b.length; i++) r.push(`${b.start(i).toFixed(3)}-${b.end(i).toFixed(3)}`);
    const key = r.join(' ');
    if (key !== lastRanges) {
      lastRanges = key;
      native.ranges.push([performance.now(), video.currentTime, key]);
    }
  }, 5);
})();
"""


def still_playing(frames: Sequence[dict[str, Any]], at: float) -> bool:
    """Whether frames were being presented just before `at` (an answer still playing)."""
    before = [f["presentation"] for f in frames if f["presentation"] <= at]
    return bool(before) and before[-1] > at - STILL_PLAYING_MS


def first_frame(
    frames: Sequence[dict[str, Any]], end_t: float, limit_t: float, *, after_cut: bool = False
) -> dict[str, Any] | None:
    """The answer's first frame presented after `end_t` (and before `limit_t`) while the
    element played with sound, its media time past every frame presented before `end_t`.

    None when frames were still being presented just before `end_t` (an earlier answer
    still playing: nothing to time; unless `end_t` is where a cut answer's video stopped)
    or when no such frame came.
    """
    if not after_cut and still_playing(frames, end_t):
        return None
    before = [f for f in frames if f["presentation"] <= end_t]
    seen = max((f["media"] for f in before), default=-1.0)
    for f in frames:
        if not end_t < f["presentation"] <= limit_t:
            continue
        audible = not f["muted"] and f["volume"] > 0
        if f["media"] > seen and not f["paused"] and f["ready"] >= 3 and audible:
            return f
    return None


def stall_start(t: FloatArray, time: FloatArray, start: int, stop: int) -> int | None:
    """Index of the first sample in `[start, stop)` from which `time` does not move for at
    least STALL_MS (or until `stop`, if that comes first and is at least STALL_MS away)."""
    i = start
    while i < stop:
        j = i
        while j + 1 < stop and time[j + 1] <= time[i] + 1e-6:
            j += 1
        if t[j] - t[i] >= STALL_MS:
            return i
        i = j + 1
    return None


def mic_share(
    utterances: Sequence[Utterance], mic_started: float, mic: dict[str, Any]
) -> dict[str, float | None]:
    """Median share of microphone samples above -40 dBFS during the phrases spoken over an
    answer and during the others."""
    t = np.asarray(mic.get("t", []), dtype=np.float64)
    level = np.asarray(mic.get("level", []), dtype=np.float64)
    shares: dict[bool, list[float]] = {True: [], False: []}
    for u in utterances:
        sel = (t >= mic_started + u.start_ms) & (t < mic_started + u.end_ms)
        if sel.any():
            shares[bool(u.overlaps)].append(float((level[sel] >= MIC_LEVEL).mean()))
    return {
        "overlapping": round(float(np.median(shares[True])), 2) if shares[True] else None,
        "others": round(float(np.median(shares[False])), 2) if shares[False] else None,
    }


def analyse_native(
    utterances: Sequence[Utterance],
    events: Sequence[dict[str, Any]],
    native: dict[str, Any],
    mic: dict[str, Any],
) -> dict[str, Any]:
    """The native mode's figures from the page's events and `window.__native`."""
    mic_started = next(e["t"] for e in events if e["type"] == "mic-started")
    frames: list[dict[str, Any]] = sorted(native["frames"], key=lambda f: f["presentation"])
    t = np.asarray(native["t"], dtype=np.float64)
    time = np.asarray(native["time"], dtype=np.float64)
    ahead = np.asarray(native["ahead"], dtype=np.float64)
    level = np.asarray(native["level"], dtype=np.float64)
    loud = level >= SOUND_LEVEL
    tap_window_ms = TAP_FFT / float(native.get("tapRate") or 48_000) * 1000

    mouth_to_ear: list[float] = []
    expected: list[float] = []
    first_sound: list[float] = []
    barge_in: list[float] = []
    page_part: list[float] = []
    cleared: list[float] = []
    silent: list[float] = []
    unanswered: list[str] = []
    untimed: list[str] = []
    not_interrupted: list[str] = []
    per_turn: list[dict[str, Any]] = []
    for n, u in enumerate(utterances):
        detail: dict[str, Any] = {"text": u.text, "overlaps": u.overlaps}
        per_turn.append(detail)
        start_t, end_t = mic_started + u.start_ms, mic_started + u.end_ms
        last = float(t[-1]) if t.size else end_t
        limit_t = mic_started + utterances[n + 1].start_ms if n + 1 < len(utterances) else last
        after_cut = end_t
        if u.overlaps:
            cut_at = next(
                (e["t"] for e in events if e["type"] == "interrupted" and start_t <= e["t"]),
                None,
            )
            if cut_at is None or cut_at > limit_t:
                not_interrupted.append(u.text)
            else:
                i0 = int(np.searchsorted(t, cut_at))
                i1 = int(np.searchsorted(t, limit_t))
                stall = stall_start(t, time, i0, i1)
                if stall is not None:
                    barge_in.append(float(t[stall]) - start_t)
                    page_part.append(float(t[stall]) - cut_at)
                    detail["barge_in_ms"] = round(barge_in[-1], 1)
                    after_cut = max(after_cut, float(t[stall]))
                hits = np.flatnonzero(ahead[i0:i1] < FRAME_S)
                if hits.size:
                    cleared.append(float(t[i0 + hits[0]]) - start_t)
                # The tap's last loud sample before the answer that follows the cut.
                nxt = _next_answer_start(frames, max(cut_at, after_cut), limit_t)
                j1 = int(np.searchsorted(t, nxt)) if nxt is not None else i1
                loud_idx = np.flatnonzero(loud[i0:j1])
                if loud_idx.size and i0 + loud_idx[-1] + 1 < len(t):
                    quiet_t = float(t[i0 + loud_idx[-1] + 1]) - tap_window_ms
                    silent.append(quiet_t - start_t)
        cut = after_cut > end_t
        frame = first_frame(frames, after_cut, limit_t, after_cut=cut)
        if frame is None:
            if not cut and still_playing(frames, after_cut):
                untimed.append(u.text)
            else:
                unanswered.append(u.text)
            continue
        mouth_to_ear.append(frame["presentation"] - end_t)
        expected.append(frame["expected"] - end_t)
        detail["mouth_to_ear_ms"] = round(mouth_to_ear[-1], 1)
        k0 = int(np.searchsorted(t, frame["presentation"] - 50))
        k1 = int(np.searchsorted(t, limit_t))
        sound = np.flatnonzero(loud[k0:k1])
        if sound.size:
            first_sound.append(float(t[k0 + sound[0]]) - end_t)

    presented = [f for f in frames if not f["paused"]]
    audio_bytes = [f["audioBytes"] for f in frames if f.get("audioBytes") is not None]
    return {
        "mouth_to_ear_ms": summary(mouth_to_ear),
        "mouth_to_ear_expected_display_ms": summary(expected),
        "first_sound_ms": summary(first_sound),
        "barge_in_ms": summary(barge_in),
        "barge_in_cleared_ms": summary(cleared),
        "barge_in_silent_ms": summary(silent),
        "interrupted_to_stop_ms": summary(page_part),
        "mic_during_answer": mic_share(utterances, mic_started, mic),
        "per_turn": per_turn,
        "turns": {
            "phrases": len(utterances),
            "overlapping": sum(u.overlaps for u in utterances),
            "unanswered": unanswered,
            "untimed": untimed,
            "not_interrupted": not_interrupted,
            "interrupted_events": sum(e["type"] == "interrupted" for e in events),
        },
        "video": {
            "frames_presented": len(presented),
            "elements": native.get("elements", 0),
            "audio_decoded_bytes": max(audio_bytes) if audio_bytes else None,
            "sound_tap": native.get("tapError") or "captureStream",
            "tap_audio_tracks": native.get("tapTracks", 0),
        },
    }


def _next_answer_start(
    frames: Sequence[dict[str, Any]], after: float, limit: float
) -> float | None:
    """When the next answer's frames begin after a cut: the first frame presented after a
    pause of at least STALL_MS without frames."""
    prev: float | None = None
    for f in frames:
        p = f["presentation"]
        if p <= after:
            prev = p
            continue
        if p > limit:
            return None
        if prev is None or p - prev >= STALL_MS:
            return float(p)
        prev = p
    return None
