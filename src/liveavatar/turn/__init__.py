"""Semantic end-of-turn detection: a voice-activity detector and the smart-turn model."""
