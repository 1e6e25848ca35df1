"""What the user said lately, for the next Live connection of a rotation (`link.py`).

A rotation opens the next connection in the background and switches at a turn boundary;
what the user said since the rotation began, and the second before it, is replayed into
the new connection so that no word falls between the two.
"""

from __future__ import annotations

from collections import deque

from .held_input import REPLAY_MAX_BYTES, HeldInput

PREROLL_BYTES = 32_000  # 1 s of 16 kHz PCM16 kept for replay into the next connection


class RecentAudio:
    """The last PREROLL_BYTES of microphone audio and, while a rotation is under way,
    everything said since it began (REPLAY_MAX_BYTES at most)."""

    def __init__(self, *, keep_unanswered: bool = False) -> None:
        """`keep_unanswered`: also keep what the user said since the model last ended a
        turn, for `take_unanswered`."""
        self._recent: deque[bytes] = deque()
        self._recent_bytes = 0
        self._replay: list[bytes] | None = None  # recording while the next connection opens
        self._unanswered = HeldInput() if keep_unanswered else None

    def remember(self, pcm: bytes) -> None:
        self._recent.append(pcm)
        self._recent_bytes += len(pcm)
        while self._recent_bytes > PREROLL_BYTES and len(self._recent) > 1:
            self._recent_bytes -= len(self._recent.popleft())
        if self._replay is not None and sum(map(len, self._replay)) < REPLAY_MAX_BYTES:
            self._replay.append(pcm)

    def utterance_ended(self) -> None:
        """The microphone went off: what was said before ended on the current connection
        and is not replayed (it would be a second utterance)."""
        self._recent.clear()
        self._recent_bytes = 0
        if self._replay is not None:
            self._replay = []

    def start_replay(self) -> None:
        """A rotation began: record from the last second on."""
        self._replay = list(self._recent)

    def take_replay(self) -> list[bytes]:
        """What to replay into the next connection; recording stops."""
        replay, self._replay = self._replay or [], None
        return replay

    def drop_replay(self) -> None:
        """The rotation did not happen: nothing to replay."""
        self._replay = None

    # ---- since the model last ended a turn (a link with the native avatar only) ------

    # What reached a connection only: what did not is held for the next one
    # (`held_input.py`), and kept here too it would be said twice.

    def sent(self, pcm: bytes | None) -> None:
        """Audio sent on the current connection; None: the microphone went off there."""
        if self._unanswered is None:
            return
        if pcm is None:
            self._unanswered.stream_end()  # still unanswered, and ended there
        else:
            self._unanswered.audio(pcm)

    def asked(self, text: str) -> None:
        """Typed text sent on the current connection."""
        if self._unanswered is not None:
            self._unanswered.text(text)

    def turn_ended(self) -> None:
        """The model ended a turn (or was interrupted): what came before is answered."""
        if self._unanswered is not None:
            self._unanswered = HeldInput()

    def take_unanswered(self) -> HeldInput:
        """What the user said and typed since the model last ended a turn (the newest
        REPLAY_MAX_BYTES of audio); keeping stops. A connection Live refused the avatar on
        has no handle to resume, so the audio connection after it has to hear this again."""
        unanswered, self._unanswered = self._unanswered or HeldInput(), None
        return unanswered
