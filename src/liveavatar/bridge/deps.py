"""`BridgeDeps`: what every bridged session of one backend process shares, built once in
the app's lifespan and handed to each `BridgeSession`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from liveavatar.auth import Gatekeeper
from liveavatar.live.link import Opener
from liveavatar.live.persona import Persona
from liveavatar.live.pricing import PriceTable
from liveavatar.media import MediaStore
from liveavatar.metrics import Metrics
from liveavatar.personas import ActivePersona
from liveavatar.store import Store
from liveavatar.tools import ToolRegistry

from .handles import HandleDirectory
from .running import RunningSessions


@dataclass(frozen=True)
class BridgeDeps:
    """What every session of one backend process shares (built in the app's lifespan)."""

    opener_for: Callable[[Persona], Opener]
    personas: Callable[[], Awaitable[ActivePersona]]
    gate: Gatekeeper
    store: Store
    media: MediaStore
    tools: ToolRegistry
    metrics: Metrics
    handles: HandleDirectory
    shutting_down: asyncio.Event
    hello_timeout_s: float = 10.0
    running: RunningSessions = dataclasses.field(default_factory=RunningSessions)
    prices: PriceTable = dataclasses.field(default_factory=PriceTable)  # settings' LIVE_PRICES
    # The day's event counters (`day_counters.DayCounters.count`): never waits.
    count: Callable[[str], None] = lambda name: None
    # SOCKET_MAX_AGE_S (None: no limit) and SOCKET_CLOSE_WAIT_S, see `watchdogs.watch_age`.
    socket_max_age_s: float | None = None
    socket_close_wait_s: float = 30.0
    token_grace_s: float = 60.0  # AUTH_TOKEN_GRACE_S, see `token_watch.TokenWatch`
    native_avatar: bool = False  # the endpoint may render Gemini's own avatar (not the Gemini API)
