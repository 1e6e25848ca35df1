"""The persona form's widgets: loading a version into them and reading an edit back.

Each widget's state lives under a stable `persona_*` key, set from a stored version when
the page first loads it (or after a save or rollback), so a rerun never drops an edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from liveavatar.live.avatar import PREBUILT_AVATARS
from liveavatar.live.models import THINKING_LEVELS
from liveavatar.media.avatar import CATEGORIES
from liveavatar.store.persona_config import PersonaConfig
from liveavatar.turn.settings import MIN_SHORT_SILENCE_MS, TURN_DETECTIONS

from .persona_edit import model_names, tool_names, voice_names

LOADED = "persona_loaded_version"  # the version the form's edit started from
_DEFAULT = "(model default)"
_NONE = "(none)"
_SWITCH = {_DEFAULT: None, "on": True, "off": False}


def load(config: PersonaConfig) -> None:
    """Put `config`'s settings into the form (before its widgets are drawn)."""
    s = st.session_state
    s[LOADED] = config.version
    s["persona_name"] = config.name
    s["persona_model"] = config.model
    s["persona_voice"] = config.voice
    s["persona_instruction"] = config.system_instruction
    s["persona_greeting"] = config.greeting
    s["persona_tools"] = list(config.tools)
    s["persona_google_search"] = config.google_search
    s["persona_vad_disabled"] = config.vad.disabled
    s["persona_vad_start"] = config.vad.start_sensitivity
    s["persona_vad_end"] = config.vad.end_sensitivity
    s["persona_vad_silence"] = config.vad.silence_duration_ms
    s["persona_vad_prefix"] = config.vad.prefix_padding_ms
    s["persona_turn_detection"] = config.turn_detection
    s["persona_turn_short"] = config.smart_turn.short_silence_ms
    s["persona_turn_max"] = config.smart_turn.max_silence_ms
    s["persona_turn_threshold"] = config.smart_turn.threshold
    s["persona_push_to_talk"] = config.push_to_talk
    s["persona_avatar_mode"] = config.avatar_mode
    s["persona_native_avatar"] = config.native_avatar or _NONE
    s["persona_native_image"] = config.native_avatar_image or _NONE
    for category in CATEGORIES:
        s[f"persona_clips_{category}"] = list(getattr(config.avatar_media, category))
    s["persona_recording"] = config.recording
    s["persona_retention"] = config.recording_retention_days or 0
    s["persona_thinking"] = config.thinking_level or _DEFAULT
    s["persona_media_resolution"] = config.media_resolution or _DEFAULT
    s["persona_affective"] = _switch_label(config.affective_dialog)
    s["persona_proactive"] = _switch_label(config.proactive_audio)
    s["persona_compression"] = config.context_compression
    s["persona_trigger_tokens"] = config.compression_trigger_tokens


def draw(clips: dict[str, list[str]], images: Sequence[str] = ()) -> dict[str, Any]:
    """Draw the widgets (`images`: the reference images on the Media page); the edit they
    hold, as `PersonaConfig` fields."""
    models, voices, tools = model_names(), voice_names(), tool_names()
    s = st.session_state
    # A stored value the lists no longer hold (a retired model) stays selectable, so the
    # form shows what is saved and the check names the problem.
    model = st.selectbox("Model", _with(models, s.get("persona_model")), key="persona_model")
    st.text_input("Name", key="persona_name", max_chars=80)
    st.selectbox("Voice", _with(voices, s.get("persona_voice")), key="persona_voice")
    st.text_area("System instruction", key="persona_instruction", height=160)
    st.text_input(
        "Greeting (said first in a new conversation; empty: wait)", key="persona_greeting"
    )
    st.multiselect("Tools", _with_all(tools, s.get("persona_tools")), key="persona_tools")
    st.checkbox("Google Search grounding", key="persona_google_search")
    st.markdown("**Voice activity detection**")
    a, b, c, d = st.columns(4)
    a.selectbox("Start sensitivity", ["HIGH", "LOW"], key="persona_vad_start")
    b.selectbox("End sensitivity", ["HIGH", "LOW"], key="persona_vad_end")
    c.number_input("Silence (ms)", min_value=0, step=50, key="persona_vad_silence")
    d.number_input("Prefix padding (ms)", min_value=0, step=10, key="persona_vad_prefix")
    st.checkbox("Server VAD off (the page marks turns)", key="persona_vad_disabled")
    st.radio("Turn detection (server: Live's detector, with the settings above; smart: "
             "our end-of-turn model, Live in manual activity mode)", list(TURN_DETECTIONS),
             key="persona_turn_detection", horizontal=True)  # fmt: skip
    t1, t2, t3 = st.columns(3)
    t1.number_input("Smart: short silence (ms)", min_value=MIN_SHORT_SILENCE_MS, step=16,
                    key="persona_turn_short")  # fmt: skip
    t2.number_input("Smart: max silence (ms)", min_value=MIN_SHORT_SILENCE_MS, step=50,
                    key="persona_turn_max")  # fmt: skip
    t3.number_input("Smart: model threshold", min_value=0.01, max_value=0.99, step=0.05,
                    key="persona_turn_threshold")  # fmt: skip
    st.checkbox("Push-to-talk by default", key="persona_push_to_talk")
    st.markdown("**Avatar**")
    st.radio("Avatar", ["drawn", "clips", "native"], key="persona_avatar_mode", horizontal=True)
    st.caption(
        "native: Gemini renders the avatar itself (Vertex AI); a reference image wins over a "
        "prebuilt avatar. Where the service cannot, the page draws it and says so."
    )
    n1, n2 = st.columns(2)
    n1.selectbox("Native: prebuilt avatar", [_NONE, *PREBUILT_AVATARS], key="persona_native_avatar")
    n2.selectbox("Native: reference image (Media page)",
                 _with([_NONE, *images], s.get("persona_native_image")),
                 key="persona_native_image")  # fmt: skip
    cols = st.columns(len(CATEGORIES))
    for col, category in zip(cols, CATEGORIES, strict=True):
        key = f"persona_clips_{category}"
        col.multiselect(f"{category} clips", _with_all(clips[category], s.get(key)), key=key)
    st.markdown("**Recording**")
    st.checkbox("Record conversations (both sides, Opus)", key="persona_recording")
    st.number_input("Keep recordings (days; 0: as long as the conversation)", min_value=0,
                    step=1, key="persona_retention")  # fmt: skip
    st.markdown(f"**Options of {model}**")
    e, f, g, h = st.columns(4)
    e.selectbox("Thinking level", [_DEFAULT, *THINKING_LEVELS], key="persona_thinking")
    f.selectbox("Media resolution", [_DEFAULT, "LOW", "MEDIUM", "HIGH"],
                key="persona_media_resolution")  # fmt: skip
    g.selectbox("Affective dialog", list(_SWITCH), key="persona_affective")
    h.selectbox("Proactive audio", list(_SWITCH), key="persona_proactive")
    st.checkbox("Context window compression", key="persona_compression")
    st.number_input("Compression trigger (tokens)", min_value=0, step=1000,
                    key="persona_trigger_tokens")  # fmt: skip
    return read()


def read() -> dict[str, Any]:
    """The form's edit as `PersonaConfig` fields (validated by `check_persona`)."""
    s = st.session_state
    retention = int(s["persona_retention"])
    return {
        "name": s["persona_name"],
        "model": s["persona_model"],
        "voice": s["persona_voice"],
        "system_instruction": s["persona_instruction"],
        "greeting": s["persona_greeting"],
        "tools": list(s["persona_tools"]),
        "google_search": s["persona_google_search"],
        "vad": {
            "disabled": s["persona_vad_disabled"],
            "start_sensitivity": s["persona_vad_start"],
            "end_sensitivity": s["persona_vad_end"],
            "silence_duration_ms": int(s["persona_vad_silence"]),
            "prefix_padding_ms": int(s["persona_vad_prefix"]),
        },
        "turn_detection": s["persona_turn_detection"],
        "smart_turn": {
            "short_silence_ms": int(s["persona_turn_short"]),
            "max_silence_ms": int(s["persona_turn_max"]),
            "threshold": float(s["persona_turn_threshold"]),
        },
        "push_to_talk": s["persona_push_to_talk"],
        "avatar_mode": s["persona_avatar_mode"],
        "native_avatar": _chosen(s.get("persona_native_avatar")),
        "native_avatar_image": _chosen(s.get("persona_native_image")),
        "avatar_media": {c: list(s[f"persona_clips_{c}"]) for c in CATEGORIES},
        "recording": s["persona_recording"],
        "recording_retention_days": retention or None,
        "thinking_level": None if s["persona_thinking"] == _DEFAULT else s["persona_thinking"],
        "media_resolution": (
            None if s["persona_media_resolution"] == _DEFAULT else s["persona_media_resolution"]
        ),
        "affective_dialog": _SWITCH[s["persona_affective"]],
        "proactive_audio": _SWITCH[s["persona_proactive"]],
        "context_compression": s["persona_compression"],
        "compression_trigger_tokens": int(s["persona_trigger_tokens"]),
    }


def _chosen(value: object) -> str | None:
    return value if isinstance(value, str) and value != _NONE else None


def _switch_label(value: bool | None) -> str:
    return _DEFAULT if value is None else ("on" if value else "off")


def _with(options: Sequence[str], value: object) -> list[str]:
    out = list(options)
    if isinstance(value, str) and value not in out:
        out.insert(0, value)
    return out


def _with_all(options: Sequence[str], values: object) -> list[str]:
    out = list(options)
    if isinstance(values, list):
        out += [v for v in values if isinstance(v, str) and v not in out]
    return out
