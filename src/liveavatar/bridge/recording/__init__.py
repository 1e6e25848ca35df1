"""Conversation recordings: both sides mixed to stereo, Opus-encoded and streamed to the
media store as the session goes (docs/RECORDINGS.md)."""

from __future__ import annotations

from .writer import RecordingStats, SessionRecording

__all__ = ["RecordingStats", "SessionRecording"]
