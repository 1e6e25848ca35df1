"""Gemini Live Avatar: a self-hostable real-time talking avatar."""
