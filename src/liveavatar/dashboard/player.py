"""A recording played beside its transcript, the line of the current moment highlighted.

The page embeds the audio as a data: URL, so the recording is only ever reachable through
the guarded dashboard, never by a URL of its own. Each transcript line is a cue at its
offset from the recording's start; the script highlights the last cue reached on every
`timeupdate`, and clicking a line seeks to it. All text reaches the page as JSON and is
set with `textContent`, never parsed as HTML.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from liveavatar.store.models import TurnRecord

_LINE_PX = 26
_MIN_HEIGHT_PX = 140
_MAX_HEIGHT_PX = 520


@dataclass(frozen=True)
class Cue:
    """One transcript line, `offset_s` seconds into the recording."""

    offset_s: float
    role: Literal["user", "model"]
    text: str


def cues_for(
    turns: Sequence[TurnRecord], start: dt.datetime, end: dt.datetime | None = None
) -> list[Cue]:
    """The lines of the turns that began in [start, end), timed from `start`.

    A user's line starts when the turn began; the model's when its first audio came
    (time to first audio after the turn's start), or when the turn ended if it had none.
    """
    cues: list[Cue] = []
    for turn in turns:
        if turn.started_at < start or (end is not None and turn.started_at >= end):
            continue
        if turn.user_text:
            cues.append(Cue(_offset(turn.started_at, start), "user", turn.user_text))
        if turn.model_text:
            spoke = turn.ended_at
            if turn.time_to_first_audio_ms is not None:
                first_audio = turn.started_at + dt.timedelta(
                    milliseconds=turn.time_to_first_audio_ms
                )
                spoke = min(first_audio, turn.ended_at)
            cues.append(Cue(_offset(spoke, start), "model", turn.model_text))
    return sorted(cues, key=lambda c: c.offset_s)


def player_height(cues: Sequence[Cue]) -> int:
    """Pixels the player's frame needs for the audio bar and the lines (bounded)."""
    return max(_MIN_HEIGHT_PX, min(_MAX_HEIGHT_PX, 70 + _LINE_PX * len(cues)))


def player_html(audio: bytes, cues: Sequence[Cue], *, mime: str = "audio/ogg") -> str:
    """A self-contained page: the audio element and the highlighted transcript."""
    source = f"data:{mime};base64,{base64.b64encode(audio).decode('ascii')}"
    return _TEMPLATE.replace("__SRC__", json.dumps(source)).replace(
        "__CUES__", _script_json([asdict(c) for c in cues])
    )


def _offset(at: dt.datetime, start: dt.datetime) -> float:
    return round(max(0.0, (at - start).total_seconds()), 3)


def _script_json(value: object) -> str:
    # Inside <script>, "</script>" or "<!--" in a transcript must not end the element.
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><style>
body { font-family: sans-serif; margin: 0; color: #222; }
audio { width: 100%; }
ol { list-style: none; margin: 6px 0 0; padding: 0; }
li { padding: 3px 6px; border-radius: 4px; cursor: pointer; line-height: 20px; }
li .who { font-weight: 600; margin-right: 6px; }
li .at { color: #888; font-size: 12px; margin-right: 6px; }
li.now { background: #fde68a; }
</style></head><body>
<audio id="recording" controls preload="metadata"></audio>
<ol id="transcript"></ol>
<script>
(function () {
  const cues = __CUES__;
  const audio = document.getElementById("recording");
  const list = document.getElementById("transcript");
  audio.src = __SRC__;
  const items = cues.map(function (cue) {
    const li = document.createElement("li");
    li.dataset.offset = String(cue.offset_s);
    const at = document.createElement("span");
    at.className = "at";
    const s = Math.floor(cue.offset_s);
    at.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = cue.role === "user" ? "User" : "Avatar";
    li.append(at, who, document.createTextNode(cue.text));
    li.addEventListener("click", function () {
      audio.currentTime = cue.offset_s;
      audio.play();
    });
    list.append(li);
    return li;
  });
  let current = -1;
  audio.addEventListener("timeupdate", function () {
    let found = -1;
    for (let i = 0; i < cues.length && cues[i].offset_s <= audio.currentTime; i++) found = i;
    if (found === current) return;
    if (current >= 0) items[current].classList.remove("now");
    current = found;
    if (current >= 0) {
      items[current].classList.add("now");
      items[current].scrollIntoView({ block: "nearest" });
    }
  });
})();
</script></body></html>
"""
