"""The Media page: upload, preview and delete the avatar's clips, and assign them; upload
the native avatar's reference image and use it.

An upload is checked whole in memory (`clips.check_clip`, `reference_images.check_upload`)
before anything is written, so a refused file leaves nothing behind. Assigning saves a new
persona version.
"""

from __future__ import annotations

import streamlit as st

from liveavatar.dashboard.clips import (
    ACCEPTED_EXTENSIONS,
    MAX_CLIP_BYTES,
    MAX_CLIP_SECONDS,
    ClipRejected,
    check_clip,
    clip_object_name,
)
from liveavatar.dashboard.context import DashboardContext, get_context
from liveavatar.dashboard.guard import signed_in_as
from liveavatar.dashboard.persona_edit import starting_persona
from liveavatar.dashboard.reference_images import (
    ACCEPTED_EXTENSIONS as IMAGE_EXTENSIONS,
)
from liveavatar.dashboard.reference_images import (
    MAX_IMAGE_BYTES,
    ReferenceImageError,
    check_upload,
)
from liveavatar.live.avatar import REFERENCE_IMAGES_PREFIX
from liveavatar.media.avatar import CATEGORIES
from liveavatar.media.base import MediaError, MediaObject
from liveavatar.store.base import StoreError, VersionConflict
from liveavatar.store.persona_config import AvatarMedia, PersonaConfig

_FLASH = "media_flash"
_LIST_LIMIT = 200


def render() -> None:
    """Draw the page."""
    st.title("Media")
    ctx = get_context()
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)
    try:
        clips = {c: ctx.run(ctx.media.list(f"{c}/", limit=_LIST_LIMIT)) for c in CATEGORIES}
        persona = ctx.run(ctx.store.get_persona())
    except (MediaError, StoreError, TimeoutError) as exc:
        st.error(f"The media or the persona could not be read: {exc}")
        return
    _upload(ctx)
    _library(ctx, clips, persona)
    _assign(ctx, clips, persona)
    _reference_image(ctx, persona)


def _upload(ctx: DashboardContext) -> None:
    st.subheader("Upload a clip")
    st.caption(
        f"MP4 or WebM, at most {MAX_CLIP_BYTES // (1024 * 1024)} MB and "
        f"{MAX_CLIP_SECONDS:g} s. Idle clips loop while the avatar listens, talking clips "
        "while it speaks, expressive ones now and then."
    )
    category = st.selectbox("Kind", CATEGORIES, key="media_category")
    upload = st.file_uploader(
        "Clip", type=list(ACCEPTED_EXTENSIONS), key="media_upload", max_upload_size=_upload_mb()
    )
    if upload is None or not st.button("Store the clip", key="media_store", type="primary"):
        return
    data = upload.getvalue()
    try:
        clip = check_clip(upload.name, upload.type, data)
        name = clip_object_name(category, upload.name)
    except (ClipRejected, MediaError) as exc:
        st.error(f"Refused: {exc}. Nothing was stored.")
        return
    try:
        if ctx.run(ctx.media.exists(name)):
            st.error(f"Refused: {name} already exists. Delete it first, or rename the file.")
            return
        ctx.run(ctx.media.put(name, data, clip.content_type), timeout=120)
    except (MediaError, TimeoutError) as exc:
        st.error(f"The clip could not be stored: {exc}")
        return
    st.session_state[_FLASH] = f"Stored {name} ({clip.duration_s:.1f} s)."
    st.rerun()


def _upload_mb() -> int:
    # Streamlit refuses larger uploads itself; the clip check applies the exact limit.
    return -(-MAX_CLIP_BYTES // (1024 * 1024))


def _library(
    ctx: DashboardContext, clips: dict[str, list[MediaObject]], persona: PersonaConfig | None
) -> None:
    st.subheader("Clips")
    every = [o for c in CATEGORIES for o in clips[c]]
    if not every:
        st.info("No clip yet: upload one above. Until then the avatar is drawn.")
        return
    used = _assigned(persona)
    st.dataframe(
        [
            {
                "name": o.name,
                "size KB": round(o.size / 1024, 1),
                "type": o.content_type,
                "updated (UTC)": o.updated.strftime("%Y-%m-%d %H:%M"),
                "in the persona": o.name in used,
            }
            for o in every
        ],
        hide_index=True,
    )
    by_name = {o.name: o for o in every}
    chosen = st.selectbox("Clip", list(by_name), index=None, key="media_selected")
    if chosen is None:
        return
    obj = by_name[chosen]
    try:
        data = ctx.run(ctx.media.get(chosen, max_bytes=MAX_CLIP_BYTES))
    except (MediaError, TimeoutError) as exc:
        st.warning(f"No preview: {exc}")
    else:
        st.video(data, format=obj.content_type, loop=True, muted=True)
    if st.button("Delete this clip", key="media_delete"):
        if chosen in used:
            st.error(f"{chosen} is assigned to the persona: unassign it below first.")
            return
        try:
            ctx.run(ctx.media.delete(chosen))
        except (MediaError, TimeoutError) as exc:
            st.error(f"Not deleted: {exc}")
            return
        st.session_state.pop("media_selected", None)
        st.session_state[_FLASH] = f"Deleted {chosen}."
        st.rerun()


def _assign(
    ctx: DashboardContext, clips: dict[str, list[MediaObject]], persona: PersonaConfig | None
) -> None:
    st.subheader("Assign to the persona")
    base = persona or starting_persona(ctx.settings)
    current = base.avatar_media
    chosen: dict[str, list[str]] = {}
    cols = st.columns(len(CATEGORIES))
    for col, category in zip(cols, CATEGORIES, strict=True):
        names = [o.name for o in clips[category]]
        now = [n for n in getattr(current, category) if n in names]
        chosen[category] = col.multiselect(
            f"{category} clips", names, default=now, key=f"media_assign_{category}"
        )
    video = st.checkbox(
        "Show the clips (off: the drawn avatar, or the native one if chosen)",
        value=base.avatar_mode == "clips",
        key="media_assign_video",
    )
    if not st.button("Save as a new persona version", key="media_assign_save"):
        return
    if video and not chosen["idle"]:
        st.error("Not saved: the video avatar needs at least one idle clip.")
        return
    updated = base.model_copy(
        update={
            "avatar_media": AvatarMedia(**chosen),
            "avatar_mode": "clips" if video else _not_clips(base),
            "updated_by": signed_in_as(),
        }
    )
    _save(ctx, persona, updated, "Clips assigned")


def _not_clips(persona: PersonaConfig) -> str:
    return "native" if persona.avatar_mode == "native" else "drawn"


def _reference_image(ctx: DashboardContext, persona: PersonaConfig | None) -> None:
    st.subheader("Native avatar: reference image")
    st.caption(
        "Gemini renders the avatar itself from this picture (Vertex AI): PNG or JPEG, "
        f"portrait 9:16, at least 704x1280, at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB. "
        "Checked before it is stored, and again before it is ever sent."
    )
    upload = st.file_uploader(
        "Image", type=list(IMAGE_EXTENSIONS), key="media_image_upload", max_upload_size=5
    )
    if upload is not None and st.button("Store the image", key="media_image_store"):
        data = upload.getvalue()
        try:
            image = check_upload(upload.name, upload.type, data)
            ctx.run(ctx.media.put(image.name, data, image.content_type), timeout=60)
        except ReferenceImageError as exc:
            st.error(f"Refused: {exc}. Nothing was stored.")
            return
        except (MediaError, TimeoutError) as exc:
            st.error(f"The image could not be stored: {exc}")
            return
        st.session_state[_FLASH] = f"Stored {image.name}."
        st.rerun()
    try:
        images = [o.name for o in ctx.run(ctx.media.list(REFERENCE_IMAGES_PREFIX, limit=50))]
    except (MediaError, TimeoutError) as exc:
        st.warning(f"The images cannot be listed now: {exc}")
        return
    if not images:
        return
    chosen = st.selectbox("Image", images, key="media_image_selected")
    if chosen is None or not st.button("Use it for the native avatar", key="media_image_use"):
        return
    base = persona or starting_persona(ctx.settings)
    updated = base.model_copy(
        update={
            "avatar_mode": "native",
            "native_avatar_image": chosen,
            "updated_by": signed_in_as(),
        }
    )
    _save(ctx, persona, updated, f"Native avatar from {chosen}")


def _save(
    ctx: DashboardContext, persona: PersonaConfig | None, updated: PersonaConfig, what: str
) -> None:
    """Save `updated` as the version after `persona` (refused if another save came first)."""
    try:
        saved = ctx.run(
            ctx.store.put_persona(updated, expected_version=persona.version if persona else 0)
        )
    except VersionConflict:
        st.error("Not saved: the persona changed meanwhile. Try again.")
        return
    except (StoreError, ValueError, TimeoutError) as exc:
        st.error(f"Not saved: {exc}")
        return
    # The Persona page's form starts again from the new version.
    st.session_state["persona_reload"] = True
    st.session_state[_FLASH] = f"{what}: persona version {saved.version}."
    st.rerun()


def _assigned(persona: PersonaConfig | None) -> set[str]:
    if persona is None:
        return set()
    media = persona.avatar_media
    return {*media.idle, *media.talking, *media.expressive}
