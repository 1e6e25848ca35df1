"""Where mouth-to-ear goes, turn by turn: `python -m bench.turn_trace DIR RESULT.json
[--blocks N] [--voice piper]` after `LOG_LEVEL=DEBUG python -m bench.browser_latency
--turn-detection server smart --detail --keep DIR --json > RESULT.json` (the same
--blocks and --voice).

The backend and the emulator log a debug mark (`timing`) at each step from the end of
the user's speech to the reply: the bridge's smart-turn path when it has sent
`activityEnd` (with how long the batch waited and ran in the worker pool), the
emulator when `activityEnd` arrives or its own detector ends the utterance, when its
final transcript is ready (with the recogniser's `finish` time) and when the reply's
first audio goes out. The backend also marks each microphone chunk it
receives (`mic_audio`, with the bytes so far), so the phrase's end in the WAV is placed
on the same monotonic clock as every other mark. Each turn reads: end of speech reaches
the backend → (smart) activityEnd sent → emulator told the turn is over (or its own
detector ended it) → final transcript → first audio out; `first_audio_to_ear_ms` is the
page's mouth-to-ear minus all that (the reply's way to the ear plus the speech's way
from the WAV to the backend). Prints medians per mode and every
turn as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from ._drawn_latency import Utterance
from ._latency_wav import build_audio

STAGES = ("activity_end_sent", "turn_over", "final_transcript", "first_audio")
BYTES_PER_MS = 32  # the microphone's 16 kHz PCM16, as the backend receives it
EXTRAS = ("queued_ms", "pool_ms", "batch_ms", "finish_ms", "silence_ms")


def marks(log: Path) -> list[dict[str, Any]]:
    """The `timing` records of a stack's log (backend and emulator), by `t_mono`."""
    out: list[dict[str, Any]] = []
    for line in log.read_text(errors="replace").splitlines():
        if '"timing"' not in line:
            continue
        try:
            rec = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        if "timing" not in rec or "t_mono" not in rec:
            continue
        if rec["timing"] in ("activity_end_received", "vad_end"):
            rec["timing"] = "turn_over"
        out.append(rec)
    return sorted(out, key=lambda r: float(r["t_mono"]))


def turns(
    mode_dir: Path, result: dict[str, Any], utterances: list[Utterance]
) -> list[dict[str, Any]]:
    """Each timed turn: when its end of speech reached the backend (the microphone audio
    past the phrase's end in the WAV), then each step after it, in ms from that moment."""
    recs = marks(mode_dir / "stack" / "liveavatar-up.log")
    mic = [(int(r["mic_bytes"]), float(r["t_mono"])) for r in recs if r["timing"] == "mic_audio"]
    steps = [r for r in recs if r["timing"] in STAGES]
    rows: list[dict[str, Any]] = []
    for n, (u, detail) in enumerate(zip(utterances, result["per_turn"], strict=True)):
        m2e = detail.get("mouth_to_ear_ms")
        if m2e is None:
            continue
        end = next((t for b, t in mic if b >= u.end_ms * BYTES_PER_MS), None)
        if end is None:
            continue
        nxt = utterances[n + 1].start_ms if n + 1 < len(utterances) else None
        limit = next((t for b, t in mic if nxt is not None and b >= nxt * BYTES_PER_MS), end + 5.0)
        row: dict[str, Any] = {"text": u.text, "mouth_to_ear_ms": m2e}
        for stage in STAGES:
            rec = next(
                (r for r in steps if r["timing"] == stage and end <= r["t_mono"] <= limit), None
            )
            if rec is None:
                continue
            row[f"{stage}_ms"] = round((float(rec["t_mono"]) - end) * 1000, 1)
            row.update({f"{stage}.{x}": rec[x] for x in EXTRAS if x in rec})
        if "first_audio_ms" in row:
            # The rest: the reply's way to the page and its playback, plus the speech's
            # way from the WAV to the backend (the page's clock, not the backend's).
            row["first_audio_to_ear_ms"] = round(m2e - row["first_audio_ms"], 1)
        rows.append(row)
    return rows


def medians(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = sorted({k for r in rows for k in r if k != "text"})
    out: dict[str, float] = {}
    for k in keys:
        values = [float(r[k]) for r in rows if r.get(k) is not None]
        if values:
            out[k] = round(statistics.median(values), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--voice", default="espeak")
    args = parser.parse_args()
    _, utterances = build_audio(args.blocks, args.voice)
    results = json.loads(args.result.read_text())
    report: dict[str, Any] = {}
    for mode, result in results.items():
        rows = turns(args.dir / mode, result, utterances)
        report[mode] = {"median": medians(rows), "turns": rows}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
