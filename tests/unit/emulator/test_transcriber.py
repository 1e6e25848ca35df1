"""The streaming transcriber: script phrases exact, other speech not forced into them,
partial words before the end, on espeak-ng speech through the real decoders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from liveavatar.emulator.stt import RecognizerPool
from liveavatar.emulator.transcriber import TranscriptUpdate
from tests.support.speech import silence, synthesize_pcm16
from tests.unit.emulator.test_stt import ACCEPTANCE_PHRASES, SCRIPT, hear_one, listen


@pytest.fixture(scope="module")
def pool() -> Iterator[RecognizerPool]:
    recognizers = RecognizerPool(max_decoders=2)
    recognizers.warm_up()
    yield recognizers
    recognizers.close()


@pytest.mark.slow
def test_script_phrases_are_transcribed_exactly_through_the_streaming_path(
    pool: RecognizerPool,
) -> None:
    results = {text: hear_one(pool, text) for text in ACCEPTANCE_PHRASES}

    exact = [t for t, h in results.items() if h.final == t and h.concatenated == t]
    report = {t: (h.final, h.concatenated) for t, h in results.items()}
    assert len(exact) >= 9, report


@pytest.mark.slow
def test_out_of_domain_speech_is_not_forced_into_a_script_phrase(pool: RecognizerPool) -> None:
    truth = "the quick brown fox jumps over the lazy dog"
    heard = hear_one(pool, truth)

    assert heard.final not in SCRIPT
    assert heard.concatenated == heard.final
    # The open-vocabulary decoder's text comes through, not script words.
    assert len(set(heard.final.split()) & set(truth.split())) >= 4, heard.final


def test_script_phrase_wins_even_when_the_big_lm_mishears_it(pool: RecognizerPool) -> None:
    # Without the script, the open-vocabulary decoder hears something else entirely.
    unbiased = hear_one(pool, "goodbye", phrases=[])
    assert unbiased.final != "goodbye"
    assert hear_one(pool, "goodbye").final == "goodbye"


def test_partial_words_arrive_before_finish(pool: RecognizerPool) -> None:
    heard = hear_one(pool, "set a timer for five minutes")

    assert len(heard.partial) >= 2
    assert heard.final == "set a timer for five minutes"
    assert heard.concatenated == heard.final


def test_one_transcriber_handles_consecutive_utterances(pool: RecognizerPool) -> None:
    transcriber = pool.transcriber(SCRIPT)
    try:
        assert [h.final for h in listen(transcriber, "what time is it")] == ["what time is it"]
        assert [h.final for h in listen(transcriber, "play some music")] == ["play some music"]
        assert transcriber.finish() == (TranscriptUpdate([]), "")  # nothing in progress
    finally:
        transcriber.close()


def test_finish_without_audio_gives_an_empty_transcript(pool: RecognizerPool) -> None:
    transcriber = pool.transcriber(SCRIPT)
    try:
        assert transcriber.feed(b"").words == []
        assert transcriber.feed(b"\x00" * 101).words == []  # under one frame, odd length
        update, final = transcriber.finish()
        assert (update.words, final) == ([], "")
        assert transcriber.feed(silence(100)).words == []  # held while measuring the level
        assert transcriber.finish()[1] == ""
    finally:
        transcriber.close()


def test_audio_without_vad_in_odd_sized_chunks_after_a_silent_start(pool: RecognizerPool) -> None:
    # Manual activity signals: the client's audio starts long before the user speaks.
    pcm = silence(2500) + synthesize_pcm16("what is your name") + silence(500)
    transcriber = pool.transcriber(SCRIPT)
    try:
        words: list[str] = []
        for start in range(0, len(pcm), 333):
            words += transcriber.feed(pcm[start : start + 333]).words
        update, final = transcriber.finish()
    finally:
        transcriber.close()
    assert final == "what is your name"
    assert words + update.words == final.split()
