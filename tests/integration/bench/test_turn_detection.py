"""`python -m bench.turn_detection` on a few utterances, as `make test` runs it: both modes
scored on the same speech, in both corpora (Piper's neural voice and espeak-ng). Its
figures are checked for shape and sense, never for speed."""

from __future__ import annotations

from tests.support.bench_cli import run_bench

RUN_TIMEOUT_S = 300


def test_both_modes_are_scored_on_the_same_utterances_of_each_corpus() -> None:
    result = run_bench(
        "turn_detection", "--complete", "2", "--paused", "2", "--detail", timeout_s=RUN_TIMEOUT_S
    )
    assert result["model_ms"]["p50"] > 0
    for engine in ("piper", "espeak"):
        corpus = result[engine]
        assert (corpus["utterances"], corpus["with_pause"]) == (4, 2)
        assert all(voice.startswith(f"{engine}:") for voice in corpus["voices"])
        for mode in ("server", "smart"):
            scored = corpus[mode]
            assert scored["utterances"] == 4
            for rate in ("premature_end_rate", "premature_in_pause_rate", "missed_end_rate"):
                assert 0.0 <= scored[rate] <= 1.0
            delay = scored["end_delay_ms"]
            if delay["n"]:
                assert 0 <= delay["p50"] <= delay["p95"]
            assert len(scored["premature"]) == round(4 * scored["premature_end_rate"])
        # Live's emulated detector ends each paused utterance in its pause (300 ms < 400 ms):
        # the pause inserted into one rendering of the sentence is a true silence.
        assert corpus["server"]["premature_in_pause_rate"] == 1.0
        smart = corpus["smart"]
        assert smart["cpu_ms_per_audio_s"] > 0
        assert smart["judgements_per_utterance"] > 0
