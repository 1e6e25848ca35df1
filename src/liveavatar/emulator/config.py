"""Run-time options of one emulator server (built from Settings and CLI flags)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from liveavatar.settings import Settings

from .models import MODELS

# Every model the emulator serves, with its setup rules (models.py).
KNOWN_MODELS: frozenset[str] = frozenset(MODELS)


@dataclass(frozen=True)
class FaultConfig:
    """Injected failures for tests of reconnection and error handling.

    Attributes:
        close_after_s: once this many seconds have passed since setup, close with 1011 at
            the next moment a model turn is streaming audio.
        first_audio_delay_ms: extra wait before the first audio chunk of every turn.
        refuse_setup: answer setup with this close code (1008 unknown model, 1007 bad
            argument) instead of `setupComplete`.
        stall_after_s: after this many seconds, stop sending and reading without closing.
        refuse_avatar: answer a live-avatar (`VIDEO`) setup with this close code, as the
            service does for a project not allowed to use avatars (reference §14.1).
    """

    close_after_s: float | None = None
    first_audio_delay_ms: int = 0
    refuse_setup: Literal[1007, 1008] | None = None
    stall_after_s: float | None = None
    refuse_avatar: Literal[1007, 1008] | None = None


@dataclass(frozen=True)
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 9000
    tls: bool = True
    cert_dir: Path = Path(".data/emulator")
    api_key: str | None = None
    brain: Literal["script", "echo"] = "script"
    script_path: Path | None = None
    connection_lifetime_s: float = 600.0
    goaway_notice_s: float = 60.0
    text_frames: bool = False
    resumption_ttl_s: float = 7200.0
    max_message_bytes: int = 4 * 1024 * 1024
    models: frozenset[str] = KNOWN_MODELS
    faults: FaultConfig = field(default_factory=FaultConfig)

    @classmethod
    def from_settings(cls, s: Settings) -> EmulatorConfig:
        return cls(
            host=s.emulator_host,
            port=s.emulator_port,
            tls=s.emulator_tls,
            cert_dir=s.emulator_cert_dir,
            api_key=s.emulator_api_key.get_secret_value() if s.emulator_api_key else None,
            brain=s.emulator_brain,
            script_path=s.emulator_script,
            connection_lifetime_s=s.emulator_connection_lifetime_s,
            goaway_notice_s=s.emulator_goaway_notice_s,
            text_frames=s.emulator_text_frames,
            faults=FaultConfig(
                close_after_s=s.emulator_fault_close_after_s,
                first_audio_delay_ms=s.emulator_fault_first_audio_delay_ms,
                refuse_setup=s.emulator_fault_refuse_setup,
                stall_after_s=s.emulator_fault_stall_after_s,
                refuse_avatar=s.emulator_fault_refuse_avatar,
            ),
        )

    def model_id(self, model: str) -> str | None:
        """The bare model id if `model` names a known model in any accepted form."""
        bare = model.rsplit("/", 1)[-1]
        return bare if bare in self.models else None
