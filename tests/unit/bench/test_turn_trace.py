"""bench.turn_trace: the debug marks of a run placed after each phrase's end of speech."""

from __future__ import annotations

import json
from pathlib import Path

from bench._drawn_latency import Utterance
from bench.turn_trace import marks, medians, turns


def _log(path: Path, records: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True)
    lines = ["not json", '{"message": "session ready"}']
    lines += [json.dumps({"message": "turn timing", **r}) for r in records]
    path.write_text("\n".join(lines) + "\n")


def test_each_step_is_timed_from_when_the_end_of_speech_reached_the_backend(
    tmp_path: Path,
) -> None:
    # 20 ms chunks (640 bytes) from t=100 s; the phrase ends 1000 ms into the WAV.
    times = [100 + i * 0.02 for i in range(200)]
    mic: list[dict[str, object]] = [
        {"timing": "mic_audio", "t_mono": t, "mic_bytes": 640 * (i + 1)}
        for i, t in enumerate(times)
    ]
    end = times[32_000 // 640 - 1]
    steps: list[dict[str, object]] = [
        {"timing": "activity_end_sent", "t_mono": end + 0.3, "queued_ms": 170.0, "silence_ms": 96},
        {"timing": "activity_end_received", "t_mono": end + 0.305},
        {"timing": "final_transcript", "t_mono": end + 0.4, "finish_ms": 40.0},
        {"timing": "first_audio", "t_mono": end + 0.43},
        # A mark before the end of speech belongs to the turn before.
        {"timing": "first_audio", "t_mono": end - 0.5},
    ]
    _log(tmp_path / "smart" / "stack" / "liveavatar-up.log", mic + steps)
    utterances = [
        Utterance("what time is it", 400, 1000, False),
        Utterance("unanswered", 2000, 2500, False),
    ]
    result = {"per_turn": [{"mouth_to_ear_ms": 480.0}, {}]}

    rows = turns(tmp_path / "smart", result, utterances)

    assert len(rows) == 1
    row = rows[0]
    assert row["activity_end_sent_ms"] == 300.0
    assert row["activity_end_sent.queued_ms"] == 170.0
    assert row["turn_over_ms"] == 305.0
    assert row["final_transcript_ms"] == 400.0
    assert row["final_transcript.finish_ms"] == 40.0
    assert row["first_audio_ms"] == 430.0
    assert row["first_audio_to_ear_ms"] == 50.0
    assert medians(rows)["first_audio_ms"] == 430.0
    assert len(marks(tmp_path / "smart" / "stack" / "liveavatar-up.log")) == len(mic) + 5
