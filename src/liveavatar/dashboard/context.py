"""What every dashboard page works with: settings, store, media, and a loop to run on.

Streamlit scripts are synchronous and run on a fresh thread per rerun, while the store and
media interfaces are coroutines bound to one event loop. The context owns that loop on a
thread of its own, so every page shares one store connection however many sessions run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import os
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from liveavatar.media import MediaStore, make_media_store
from liveavatar.settings import Settings, check_storage, load_settings
from liveavatar.store import Store, make_store

T = TypeVar("T")

# A query that takes longer than this is broken, not slow: the page says so instead of hanging.
DEFAULT_TIMEOUT_S = 30.0
_CLOSE_TIMEOUT_S = 10.0


class LoopThread:
    """An event loop running forever on a daemon thread, fed from other threads."""

    def __init__(self, name: str = "dashboard-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T], timeout: float | None = DEFAULT_TIMEOUT_S) -> T:
        """Run `coro` on the loop and wait for its result (at most `timeout` seconds)."""
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(coro), self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer in {timeout:g} s") from None

    def stop(self) -> None:
        """Stop the loop and join its thread (bounded)."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(_CLOSE_TIMEOUT_S)
        if not self._thread.is_alive():
            self.loop.close()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


@dataclass(frozen=True)
class DashboardContext:
    """The process-wide dashboard state every page reads (`get_context()`)."""

    settings: Settings
    store: Store
    media: MediaStore
    cache_s: float
    loop: LoopThread
    # Identifies the settings the context was built from, for cache keys: two contexts
    # (tests) never share cached figures.
    key: str = ""

    def run(self, coro: Awaitable[T], timeout: float | None = DEFAULT_TIMEOUT_S) -> T:
        """Run a coroutine on the dashboard's loop thread and return its result."""
        return self.loop.run(coro, timeout)

    def close(self) -> None:
        """Close the store and stop the loop (when the context is dropped)."""
        try:
            self.run(self.store.close(), _CLOSE_TIMEOUT_S)
        finally:
            self.loop.stop()


def build_context(settings: Settings, key: str = "") -> DashboardContext:
    """A context for these settings, with its own loop thread, store and media store.

    Raises ValueError for production settings whose store or media belong to one machine
    (the dashboard would show another store than the backend's), as `liveavatar
    dashboard` does before Streamlit starts.
    """
    check_storage(settings)
    loop = LoopThread()
    try:
        store = make_store(settings)
        media = make_media_store(settings)
    except BaseException:
        loop.stop()
        raise
    return DashboardContext(
        settings=settings,
        store=store,
        media=media,
        cache_s=settings.dashboard_cache_s,
        loop=loop,
        key=key,
    )


def _release(value: Any) -> None:
    if isinstance(value, DashboardContext):
        value.close()


# Keyed by the environment: settings come from it, and one process only ever sees a second
# environment under tests, where the previous context is then closed (max_entries=1).
@st.cache_resource(show_spinner=False, max_entries=1, on_release=_release)
def _context_for(env_key: str) -> DashboardContext:
    return build_context(load_settings(), env_key)


def _env_key() -> str:
    snapshot = json.dumps(sorted(os.environ.items()))
    return hashlib.sha256(snapshot.encode("utf-8")).hexdigest()


def get_context() -> DashboardContext:
    """The process-wide context, built once from the settings (`load_settings()`)."""
    return _context_for(_env_key())


__all__ = ["DashboardContext", "LoopThread", "build_context", "get_context"]
