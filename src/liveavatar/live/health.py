"""What this process has lately seen of the Live endpoint, for `/readyz` and metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

# How long one stall keeps readiness down when no connection opens after it: an instance
# nobody is routed to opens no connections, so a stall must not make it unready for good.
STALL_MEMORY_S = 30.0

StallStage = Literal["open", "connection"]
LiveState = Literal["reachable", "unreachable", "stalled"]


class LiveHealth:
    """Stall reports from every Live link of the process (one object per app).

    A stall is an open that ran out of time or an open connection that stopped answering
    (see `live/guard.py`). The endpoint counts as stalled from then until a connection
    opens successfully, for at most `memory_s`. Safe on the event loop; never blocks.
    """

    def __init__(
        self,
        *,
        memory_s: float = STALL_MEMORY_S,
        clock: Callable[[], float] = time.monotonic,
        on_stall: Callable[[StallStage], None] | None = None,
    ) -> None:
        self._memory_s = memory_s
        self._clock = clock
        self._on_stall = on_stall
        self._stalled_at: float | None = None

    def stalled(self, stage: StallStage) -> None:
        """A connection stopped answering (`connection`) or an open timed out (`open`)."""
        self._stalled_at = self._clock()
        if self._on_stall is not None:
            self._on_stall(stage)

    def opened(self) -> None:
        """A connection completed setup: the endpoint answers again."""
        self._stalled_at = None

    @property
    def is_stalled(self) -> bool:
        at = self._stalled_at
        return at is not None and self._clock() - at < self._memory_s
