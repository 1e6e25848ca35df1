"""The recognizer pool: decoders lent and returned, phrase LMs built once, on espeak-ng speech
through the real decoders. The helpers here are shared with the transcriber's tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from liveavatar.emulator.biaslm import Phrases
from liveavatar.emulator.phrases import tokenize
from liveavatar.emulator.stt import RecognizerPool
from liveavatar.emulator.toolvocab import phrases_for
from liveavatar.emulator.transcriber import StreamingTranscriber
from liveavatar.emulator.vad import SpeechEnded, SpeechStarted, StreamingVad, VadConfig
from liveavatar.emulator.wire import FunctionDeclaration
from tests.support.speech import chunks, silence, synthesize_pcm16

ACCEPTANCE_PHRASES = [
    "what time is it",
    "hello there",
    "tell me a joke",
    "what is the weather like",
    "turn on the lights",
    "play some music",
    "how are you today",
    "set a timer for five minutes",
    "good morning",
    "stop",
]
SCRIPT = [*ACCEPTANCE_PHRASES, "what is your name", "what do you see", "goodbye"]


@dataclass
class Heard:
    """What a client would see for one utterance."""

    partial: list[str] = field(default_factory=list)  # words emitted before finish()
    rest: list[str] = field(default_factory=list)
    final: str = ""

    @property
    def concatenated(self) -> str:
        return " ".join(self.partial + self.rest)


def listen(transcriber: StreamingTranscriber, text: str) -> list[Heard]:
    """Speak ``text`` into VAD -> 20 ms chunks -> transcriber, as the emulator does."""
    return stream(transcriber, silence(1000) + synthesize_pcm16(text) + silence(1000))


def stream(transcriber: StreamingTranscriber, pcm: bytes) -> list[Heard]:
    """Stream 16 kHz PCM through VAD -> 20 ms chunks -> transcriber, as the emulator does."""
    vad = StreamingVad(VadConfig())
    heard: list[Heard] = []
    for chunk in chunks(pcm, 20):
        for event in vad.process(chunk):
            if isinstance(event, SpeechStarted):
                heard.append(Heard())
                heard[-1].partial += transcriber.feed(event.preroll).words
            elif isinstance(event, SpeechEnded):
                update, heard[-1].final = transcriber.finish()
                heard[-1].rest = update.words
            else:
                heard[-1].partial += transcriber.feed(event).words
    return heard


def hear_one(pool: RecognizerPool, text: str, phrases: list[str] = SCRIPT) -> Heard:
    transcriber = pool.transcriber(phrases)
    try:
        (heard,) = listen(transcriber, text)
    finally:
        transcriber.close()
    return heard


@pytest.fixture(scope="module")
def pool() -> Iterator[RecognizerPool]:
    recognizers = RecognizerPool(max_decoders=2)
    recognizers.warm_up()
    yield recognizers
    recognizers.close()


def test_pool_hands_the_same_decoders_to_sequential_transcribers() -> None:
    with RecognizerPool(max_decoders=1) as pool:
        first = pool.transcriber(["hello there", "stop"])
        decoders = (first._big, first._small)
        assert [h.final for h in listen(first, "stop")] == ["stop"]
        with pytest.raises(TimeoutError):
            pool.transcriber(["stop"], timeout=0)  # the only pair is checked out
        first.close()
        first.close()  # idempotent

        second = pool.transcriber(["Stop!", "HELLO, there"])  # same set after normalising
        assert (second._big, second._small) == decoders
        assert [h.final for h in listen(second, "hello there")] == ["hello there"]
        second.close()
        with pytest.raises(RuntimeError):
            second.feed(b"\x00\x00")


class SignallingCondition(threading.Condition):
    """A condition variable that reports when someone starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_a_waiting_caller_gets_the_decoders_when_they_are_returned() -> None:
    with RecognizerPool(max_decoders=1) as pool:
        pool._cond = SignallingCondition()
        holder = pool.transcriber(["stop"])
        got: list[StreamingTranscriber] = []
        waiter = threading.Thread(target=lambda: got.append(pool.transcriber(["stop"])))
        waiter.start()
        assert pool._cond.waiting.wait(timeout=30)
        assert not got
        holder.close()
        waiter.join(timeout=30)
        assert len(got) == 1
        assert got[0]._big is holder._big
        got[0].close()


def test_close_removes_temporary_files_and_refuses_new_work() -> None:
    pool = RecognizerPool(max_decoders=1)
    transcriber = pool.transcriber(["turn on the lights"])
    tmp = pool._phrase_sets.directory
    assert tmp is not None
    assert any(tmp.iterdir())
    pool.close()
    assert not tmp.exists()
    transcriber.close()  # returning decoders to a closed pool is harmless
    with pytest.raises(RuntimeError):
        pool.transcriber(["stop"])


def test_phrases_are_normalised_like_spoken_words() -> None:
    assert tokenize("Set a timer for 5 minutes!") == "set a timer for five minutes".split()
    assert tokenize("getWeather / turn_on_lights") == "get weather turn on lights".split()
    assert tokenize("It's 21:45, isn't it?") == "it's twenty one forty five isn't it".split()
    assert tokenize("1200 ways") == "one thousand two hundred ways".split()


def test_words_missing_from_the_dictionary_are_dropped() -> None:
    with RecognizerPool(max_decoders=1) as pool:
        transcriber = pool.transcriber(["xqzzy stop", "!!!"])
        try:
            assert transcriber._phrases is not None
            assert transcriber._phrases.phrases == (("stop",),)
        finally:
            transcriber.close()


def test_transcribers_in_different_threads_work_at_the_same_time(pool: RecognizerPool) -> None:
    texts = ["tell me a joke", "how are you today"]
    results: dict[str, str] = {}

    def work(text: str) -> None:
        results[text] = hear_one(pool, text).final

    threads = [threading.Thread(target=work, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {text: text for text in texts}


def test_a_sessions_tool_model_is_built_once_per_declaration_set() -> None:
    weather = FunctionDeclaration(
        name="get_weather",
        description="Get the current weather for a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    with RecognizerPool(max_decoders=1) as pool:
        phrases: Phrases = [*SCRIPT, *phrases_for([weather])]
        built = pool._phrase_sets.get(phrases)
        assert built is not None and built.ctl_path is not None  # a class LM: [city]
        assert "[city]" in built.classes
        # Another session declaring the same function gets the same files and decoder.
        again: Phrases = [*SCRIPT, *phrases_for([weather.model_copy()])]
        assert pool._phrase_sets.get(again) is built
        first = pool.transcriber(phrases)
        small = first._small
        first.close()
        second = pool.transcriber(again)
        assert second._small is small
        second.close()
