from __future__ import annotations

import base64
import datetime as dt
import json
import re

from liveavatar.dashboard.player import Cue, cues_for, player_height, player_html
from liveavatar.store.models import TurnRecord

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _turn(index: int, start_s: float, end_s: float, ttfa_ms: float | None, **kw: str) -> TurnRecord:
    return TurnRecord(
        index=index,
        user_text=kw.get("user", f"u{index}"),
        model_text=kw.get("model", f"m{index}"),
        started_at=T0 + dt.timedelta(seconds=start_s),
        ended_at=T0 + dt.timedelta(seconds=end_s),
        time_to_first_audio_ms=ttfa_ms,
        turn_latency_ms=(end_s - start_s) * 1000,
    )


def test_cues_are_offsets_from_the_recording_start() -> None:
    turns = [
        _turn(0, 1.0, 4.0, 500.0),
        _turn(1, 6.0, 9.0, None),
        _turn(2, 12.0, 13.0, 5000.0, user=""),
    ]
    assert cues_for(turns, T0) == [
        Cue(1.0, "user", "u0"),
        Cue(1.5, "model", "m0"),
        Cue(6.0, "user", "u1"),
        Cue(9.0, "model", "m1"),
        Cue(13.0, "model", "m2"),  # first audio after the turn's end is capped at its end
    ]


def test_cues_keep_to_their_part() -> None:
    turns = [_turn(0, 1.0, 2.0, 100.0), _turn(1, 30.0, 31.0, 100.0)]
    second = T0 + dt.timedelta(seconds=20)
    assert [c.text for c in cues_for(turns, T0, second)] == ["u0", "m0"]
    assert cues_for(turns, second)[0] == Cue(10.0, "user", "u1")


def test_html_embeds_the_audio_and_escapes_the_transcript() -> None:
    audio = b"OggS\x00fake"
    html = player_html(audio, [Cue(0.5, "user", "</script><b>hi</b> & <!--")])
    src = re.search(r'audio\.src = "([^"]+)"', html)
    assert src is not None
    assert src.group(1) == "data:audio/ogg;base64," + base64.b64encode(audio).decode()
    assert "</script><b>" not in html
    cues = re.search(r"const cues = (\[.*?\]);", html)
    assert cues is not None
    assert json.loads(cues.group(1)) == [
        {"offset_s": 0.5, "role": "user", "text": "</script><b>hi</b> & <!--"}
    ]
    assert 'id="recording"' in html and "timeupdate" in html


def test_height_is_bounded() -> None:
    assert player_height([]) == 140
    assert player_height([Cue(0, "user", "x")] * 100) == 520
