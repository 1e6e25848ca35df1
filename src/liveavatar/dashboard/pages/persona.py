"""The Persona page: edit the avatar's persona, hear each voice, compare and roll back.

A save is checked first (every problem listed at once), then written with the version the
edit started from, so two admins editing at once cannot overwrite each other silently.
It takes effect on the next session.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from liveavatar.dashboard import persona_form
from liveavatar.dashboard.context import DashboardContext, get_context
from liveavatar.dashboard.guard import signed_in_as
from liveavatar.dashboard.persona_edit import (
    PersonaInvalid,
    api_of,
    check_persona,
    content,
    diff,
    instruction_diff,
    starting_persona,
)
from liveavatar.dashboard.voices import SampleUnavailable, voice_sample
from liveavatar.live.avatar import REFERENCE_IMAGES_PREFIX
from liveavatar.live.models import UnsupportedSetting
from liveavatar.media.avatar import CATEGORIES, list_avatar_media
from liveavatar.media.base import MediaError
from liveavatar.store.base import StoreError, VersionConflict
from liveavatar.store.persona_config import PersonaConfig

_RELOAD = "persona_reload"  # session key: load the stored persona into the form next run
_FLASH = "persona_flash"
_HISTORY = 20


@st.cache_data(show_spinner=False, max_entries=64)
def _sample(_ctx: DashboardContext, voice: str) -> bytes | None:
    # espeak-ng runs as a subprocess of the context's loop thread, never on this one.
    try:
        return _ctx.run(voice_sample(voice))
    except (SampleUnavailable, TimeoutError):
        return None


def render() -> None:
    """Draw the page."""
    st.title("Persona")
    ctx = get_context()
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)
    try:
        current = ctx.run(ctx.store.get_persona())
    except (StoreError, TimeoutError) as exc:
        st.error(f"The store did not answer: {exc}")
        return
    if persona_form.LOADED not in st.session_state or st.session_state.pop(_RELOAD, False):
        persona_form.load(current or starting_persona(ctx.settings))
    loaded = int(st.session_state[persona_form.LOADED])
    _version_note(current, loaded)
    values = persona_form.draw(_clips(ctx), _images(ctx))
    _voice_sample(ctx, str(values["voice"]))
    if st.button("Save as a new version", key="persona_save", type="primary"):
        _save(ctx, values, loaded)
    _history(ctx, current)


def _version_note(current: PersonaConfig | None, loaded: int) -> None:
    if current is None:
        st.caption("No persona saved yet: the form shows the built-in one.")
        return
    st.caption(f"Editing from version {loaded}. Changes apply to the next session.")
    if current.version != loaded:
        st.warning(
            f"Version {current.version} was saved since this edit started from version "
            f"{loaded}: saving now would be refused. Reload to start from it."
        )
        if st.button("Reload the saved persona", key="persona_reload_button"):
            st.session_state[_RELOAD] = True
            st.rerun()


def _clips(ctx: DashboardContext) -> dict[str, list[str]]:
    try:
        return ctx.run(list_avatar_media(ctx.media))
    except (MediaError, TimeoutError):
        st.caption("The media store did not answer: clips cannot be listed now.")
        return {c: [] for c in CATEGORIES}


def _images(ctx: DashboardContext) -> list[str]:
    try:
        return [o.name for o in ctx.run(ctx.media.list(REFERENCE_IMAGES_PREFIX, limit=50))]
    except (MediaError, TimeoutError):
        return []


def _voice_sample(ctx: DashboardContext, voice: str) -> None:
    sample = _sample(ctx, voice)
    if sample is None:
        st.caption(f"{voice}: no sample: TTS unavailable.")
    else:
        st.caption(f"{voice}, as the local emulator speaks it:")
        st.audio(sample, format="audio/wav")


def _save(ctx: DashboardContext, values: dict[str, Any], loaded: int) -> None:
    try:
        config = check_persona(values, api=api_of(ctx.settings))
    except PersonaInvalid as exc:
        st.error("Not saved:\n\n" + "\n".join(f"- {p}" for p in exc.problems))
        return
    saved = _put(ctx, config, loaded)
    if saved is not None:
        st.session_state[_RELOAD] = True
        st.session_state[_FLASH] = f"Saved version {saved.version}."
        st.rerun()


def _put(ctx: DashboardContext, config: PersonaConfig, expected: int) -> PersonaConfig | None:
    stamped = config.model_copy(update={"updated_by": signed_in_as()})
    try:
        return ctx.run(ctx.store.put_persona(stamped, expected_version=expected))
    except VersionConflict:
        st.error("Not saved: someone else saved the persona first. Reload, then edit again.")
    except UnsupportedSetting as exc:
        st.error(f"Not saved: {exc}")
    except (StoreError, TimeoutError) as exc:
        st.error(f"Not saved: the store did not answer ({exc}).")
    return None


def _history(ctx: DashboardContext, current: PersonaConfig | None) -> None:
    st.subheader("History")
    try:
        versions = ctx.run(ctx.store.list_persona_versions(limit=_HISTORY))
    except (StoreError, TimeoutError) as exc:
        st.error(f"The store did not answer: {exc}")
        return
    if not versions:
        st.info("No version saved yet. Save the form above to create version 1.")
        return
    st.dataframe(
        [
            {
                "version": v.version,
                "saved (UTC)": v.updated_at.strftime("%Y-%m-%d %H:%M:%S") if v.updated_at else "",
                "by": v.updated_by or "",
                "model": v.model,
                "voice": v.voice,
            }
            for v in versions
        ],
        hide_index=True,
    )
    by_version = {v.version: v for v in versions}
    numbers = list(by_version)
    if st.session_state.get("persona_history_top") != numbers[0]:
        # A new version: compare it with the one before, as a fresh page would.
        for key in ("diff_from", "diff_to", "rollback_version"):
            st.session_state.pop(key, None)
        st.session_state["persona_history_top"] = numbers[0]
    a, b = st.columns(2)
    old = a.selectbox("Compare version", numbers, index=min(1, len(numbers) - 1), key="diff_from")
    new = b.selectbox("with version", numbers, index=0, key="diff_to")
    _show_diff(by_version[old], by_version[new])
    st.markdown("**Roll back**")
    back = st.selectbox("Version to restore", numbers, key="rollback_version")
    if st.button("Restore it as a new version", key="rollback") and current is not None:
        _rollback(ctx, by_version[back], current)


def _show_diff(old: PersonaConfig, new: PersonaConfig) -> None:
    changes = diff(old, new)
    if not changes:
        st.caption(f"Versions {old.version} and {new.version} have the same settings.")
        return
    st.dataframe(
        [
            {"setting": c.field, f"v{old.version}": repr(c.old), f"v{new.version}": repr(c.new)}
            for c in changes
        ],
        hide_index=True,
        key="persona_diff",
    )
    text = instruction_diff(old, new)
    if text:
        st.code(text, language="diff")


def _rollback(ctx: DashboardContext, old: PersonaConfig, current: PersonaConfig) -> None:
    restored = PersonaConfig.model_validate(content(old))
    saved = _put(ctx, restored, current.version)
    if saved is not None:
        st.session_state[_RELOAD] = True
        st.session_state[_FLASH] = f"Version {old.version} restored as version {saved.version}."
        st.rerun()
