"""Prometheus metrics of one backend process (a registry per app, never a global)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The backend's counters; every method is cheap and safe on the event loop."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.active_sessions = Gauge(
            "liveavatar_active_sessions", "Browser sessions currently connected", registry=r
        )
        self.sessions = Counter("liveavatar_sessions", "Browser sessions started", registry=r)
        self.turns = Counter("liveavatar_turns", "Model turns completed", ["outcome"], registry=r)
        self.ttfa = Histogram(
            "liveavatar_time_to_first_audio_seconds",
            "From the user's last input to the model's first audio, per turn",
            buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
            registry=r,
        )
        self.errors = Counter(
            "liveavatar_errors", "Errors by kind (client-visible code)", ["kind"], registry=r
        )
        self.live_reconnects = Counter(
            "liveavatar_live_reconnects", "Unexpected Live drops recovered", registry=r
        )
        self.live_stalls = Counter(
            "liveavatar_live_stalls",
            "Live connections that stopped answering (stage=connection) or opens that ran "
            "out of time (stage=open)",
            ["stage"],
            registry=r,
        )
        self.live_rotations = Counter(
            "liveavatar_live_rotations", "goAway rotations to a fresh connection", registry=r
        )
        self.tokens = Counter(
            "liveavatar_tokens",
            "Tokens reported by Live (prompt, response, thoughts, tool_use_prompt)",
            ["direction"],
            registry=r,
        )
        self.cost = Counter(
            "liveavatar_estimated_cost_usd",
            "Estimated cost of the turns, US dollars (the price table in settings)",
            registry=r,
        )
        self.dropped_audio = Counter(
            "liveavatar_dropped_audio_chunks",
            "Model audio chunks dropped because a browser read too slowly",
            registry=r,
        )
        # What the pages send, counted where it arrives: mute and push-to-talk are
        # visible here (no frames while muted, an end at each release), and sharing as
        # frames per source.
        self.browser_audio_frames = Counter(
            "liveavatar_browser_audio_frames",
            "Microphone audio frames received from browsers",
            registry=r,
        )
        self.browser_audio_ends = Counter(
            "liveavatar_browser_audio_ends",
            "Utterances ended by the browser (mute, push-to-talk released)",
            registry=r,
        )
        self.video_frames = Counter(
            "liveavatar_video_frames",
            "Camera and screen frames forwarded to Live",
            ["source"],
            registry=r,
        )
        self.dropped_video = Counter(
            "liveavatar_dropped_video_chunks",
            "Native avatar fMP4 chunks dropped because a browser read too slowly",
            registry=r,
        )
        self.dropped_video_bytes = Counter(
            "liveavatar_dropped_video_bytes",
            "Native avatar fMP4 bytes dropped because a browser read too slowly",
            registry=r,
        )
        self.avatar_fallbacks = Counter(
            "liveavatar_avatar_fallbacks",
            "Sessions that wanted the native avatar and went on with the drawn one",
            ["reason"],
            registry=r,
        )
        self.tool_calls = Counter(
            "liveavatar_tool_calls", "Server-side tool calls", ["tool", "outcome"], registry=r
        )
        # Smart turn detection (bridge/smart_turn.py): what ended each user turn, and the
        # CPU it cost (with the seconds of audio it heard: CPU per second of audio).
        self.smart_turn_ends = Counter(
            "liveavatar_smart_turn_ends",
            "User turns ended by smart turn detection",
            ["by"],  # model, max_silence, mic_off
            registry=r,
        )
        self.smart_turn_cpu = Counter(
            "liveavatar_smart_turn_cpu_seconds",
            "Worker-thread CPU time of smart turn detection",
            registry=r,
        )
        self.smart_turn_audio = Counter(
            "liveavatar_smart_turn_audio_seconds",
            "Microphone audio heard by smart turn detection",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
