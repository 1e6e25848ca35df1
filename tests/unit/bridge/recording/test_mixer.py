"""The mixer: both sides on one timeline as the user heard them, checked sample by sample
on its output and by ear (energy per 20 ms) in the decoded Opus file."""

from __future__ import annotations

import numpy as np

from liveavatar.bridge.recording.encoder import OpusStreamEncoder
from liveavatar.bridge.recording.mixer import StereoMixer

from .support import decode, frames, loud_between, tone

RATE = 24_000


def ones(seconds: float, value: int = 1000, rate: int = RATE) -> bytes:
    return np.full(round(seconds * rate), value, dtype="<i2").tobytes()


def span(channel: np.ndarray, value: int = 1000) -> tuple[int, int]:
    """First and one-past-last sample equal to `value`."""
    where = np.flatnonzero(channel == value)
    return int(where[0]), int(where[-1]) + 1


def test_model_audio_goes_on_a_playback_cursor_and_gaps_are_silence() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE)
    mixer.model(1.0, ones(1.0))  # plays 1.0 .. 2.0
    mixer.model(1.2, ones(0.5, 2000))  # arrives while the first plays: 2.0 .. 2.5
    mixer.model(4.0, ones(0.25, 3000))  # after a pause: at its arrival
    out = mixer.finish(5.0)
    right = out[:, 1]
    assert len(out) == 5 * RATE
    assert span(right, 1000) == (RATE, 2 * RATE)
    assert span(right, 2000) == (2 * RATE, 2 * RATE + RATE // 2)
    assert span(right, 3000) == (4 * RATE, 4 * RATE + RATE // 4)
    assert not right[:RATE].any() and not right[2 * RATE + RATE // 2 : 4 * RATE].any()
    assert not out[:, 0].any()


def test_an_interruption_drops_the_model_audio_scheduled_after_it() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE)
    mixer.model(1.0, ones(3.0))  # would play 1.0 .. 4.0
    mixer.interrupt(2.0)
    mixer.model(3.0, ones(0.5, 2000))  # the next answer starts at its arrival
    out = mixer.finish(4.0)[:, 1]
    assert span(out, 1000) == (RATE, 2 * RATE)
    assert span(out, 2000) == (3 * RATE, 3 * RATE + RATE // 2)
    assert mixer.stats.model_interrupted_s == 2.0


def test_the_session_end_cuts_what_was_never_played() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE)
    mixer.model(0.5, ones(10.0))
    out = mixer.finish(2.0)
    assert len(out) == 2 * RATE
    assert span(out[:, 1]) == (RATE // 2, 2 * RATE)


def test_model_audio_scheduled_too_far_ahead_is_capped() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE, ahead_cap_s=2.0)
    mixer.model(0.0, ones(1.5))
    mixer.model(0.1, ones(1.5))  # only 0.6 s of it fits under now + 2 s
    assert mixer.stats.model_over_cap_s == 0.9
    assert mixer.held_samples == round(2.1 * RATE)
    assert span(mixer.finish(3.0)[:, 1]) == (0, round(2.1 * RATE))


def test_mic_frames_within_the_jitter_are_laid_end_to_end() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE, jitter_s=0.05)
    rng = np.random.default_rng(1)
    t = 0.0
    for frame in frames(ones(1.0), RATE):
        t += 0.02
        mixer.mic(t + float(rng.uniform(0, 0.04)), frame)  # late by up to 40 ms
    out = mixer.finish(1.5)[:, 0]
    start, end = span(out)
    assert end - start == RATE and (out[start:end] == 1000).all()  # no hole, no overlap
    assert start <= round(0.04 * RATE)


def test_a_pause_of_the_microphone_is_a_silence() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE, jitter_s=0.05)
    for i, frame in enumerate(frames(ones(0.2), RATE)):
        mixer.mic(0.02 * (i + 1), frame)
    for i, frame in enumerate(frames(ones(0.2, 2000), RATE)):
        mixer.mic(1.0 + 0.02 * (i + 1), frame)  # push-to-talk pressed again at 1.0
    out = mixer.finish(1.5)[:, 0]
    assert span(out, 1000) == (0, round(0.2 * RATE))
    assert span(out, 2000) == (RATE, round(1.2 * RATE))


def test_after_a_burst_the_mic_catches_up_on_quiet_frames_only() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE, jitter_s=0.05)
    speech = frames(ones(0.5), RATE)
    for frame in speech:
        mixer.mic(0.6, frame)  # 0.5 s of speech stalled, then arrives at once
    quiet = frames(ones(1.0, 0), RATE)
    for i, frame in enumerate(quiet):
        mixer.mic(0.6 + 0.02 * (i + 1), frame)  # then silence, on time
    for i, frame in enumerate(frames(ones(0.1, 2000), RATE)):
        mixer.mic(1.6 + 0.02 * (i + 1), frame)
    out = mixer.finish(2.0)[:, 0]
    start, end = span(out, 1000)
    assert end - start == RATE // 2  # no speech dropped
    # On time again after the quiet, within the jitter allowance.
    assert 0 <= span(out, 2000)[0] - round(1.6 * RATE) <= round(0.05 * RATE)
    assert mixer.stats.mic_skipped_quiet_s > 0


def test_nothing_is_placed_before_what_was_handed_out() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=RATE, model_rate=RATE, hold_s=0.5)
    first = mixer.take(2.0)
    assert len(first) == round(1.5 * RATE) and not first.any()
    mixer.mic(1.1, ones(0.2))  # 0.9 .. 1.1: already final, so moved to 1.5
    mixer.model(1.0, ones(0.1))
    rest = mixer.finish(2.0)
    assert span(rest[:, 0]) == (0, round(0.2 * RATE))
    assert span(rest[:, 1]) == (0, round(0.1 * RATE))
    assert mixer.held_samples == 0


def test_the_mixer_holds_only_the_window_not_yet_final() -> None:
    mixer = StereoMixer(rate=RATE, mic_rate=16_000, model_rate=RATE)
    t = 0.0
    for _ in range(60):  # a minute of both sides, taken as it goes
        for frame in frames(tone(1.0, 16_000), 16_000):
            t += 0.02
            mixer.mic(t, frame)
        mixer.model(t, tone(1.0, RATE, 880))
        mixer.take(t)
        assert mixer.held_samples < 2.5 * RATE


def test_decoded_file_has_each_side_where_it_was_spoken() -> None:
    """Mic at 16 kHz (resampled) on the left, model on the right, in a real Opus file."""
    mixer = StereoMixer(rate=RATE, mic_rate=16_000, model_rate=RATE)
    encoder = OpusStreamEncoder(RATE)
    data = bytearray()
    for i, frame in enumerate(frames(tone(1.0, 16_000, 300), 16_000)):
        mixer.mic(0.5 + 0.02 * (i + 1), frame)  # the user speaks 0.5 .. 1.5
    data += encoder.encode(mixer.take(2.0))
    mixer.model(2.0, tone(2.0, RATE, 1000))  # the answer, 2.0 .. 4.0
    mixer.interrupt(3.0)  # barge-in at 3.0
    data += encoder.encode(mixer.take(3.5))
    data += encoder.encode(mixer.finish(4.0)) + encoder.close()
    audio, rate = decode(bytes(data))
    assert rate == RATE and audio.shape[1] == 2
    assert abs(len(audio) / RATE - 4.0) < 0.05
    left, right = audio[:, 0], audio[:, 1]
    assert loud_between(left, RATE, 0.55, 1.45) == 1.0
    assert loud_between(left, RATE, 1.6, 4.0) == 0.0
    assert loud_between(left, RATE, 0.0, 0.45) == 0.0
    assert loud_between(right, RATE, 2.05, 2.95) == 1.0
    assert loud_between(right, RATE, 3.1, 4.0) == 0.0  # cut by the barge-in
    assert loud_between(right, RATE, 0.0, 1.95) == 0.0
    assert encoder.late_seeks == 0
