"""How old a page's figures may be: cached queries, their age bound, and a Refresh button.

A cached query takes a `bucket` argument that changes every `cache_s` seconds, so a cached
answer is never older than the page says, whichever session asked first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st


def bucket(cache_s: float) -> int:
    """The current cache period; with no caching (0), a fresh value on every call."""
    if cache_s <= 0:
        return time.monotonic_ns()
    return int(time.time() // cache_s)


def freshness_bar(cache_s: float, *, key: str, clear: Callable[[], None]) -> None:
    """Say how old the figures may be, with a Refresh button that clears the page's cache."""
    left, right = st.columns([5, 1])
    if cache_s > 0:
        left.caption(f"Figures up to {cache_s:g} s old.")
    else:
        left.caption("Figures read fresh on every view.")
    if right.button("Refresh", key=key):
        clear()
