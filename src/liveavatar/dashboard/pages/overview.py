"""The Overview page (drawn in full by a later change)."""

from __future__ import annotations

import streamlit as st


def render() -> None:
    """Draw the page."""
    st.title("Overview")
