"""The Media page: checked uploads, preview, delete, and assigning clips to the persona."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from liveavatar.dashboard.clips import MAX_CLIP_BYTES
from liveavatar.store import PersonaConfig, SQLiteStore
from tests.integration.dashboard.conftest import Seeded, new_app, open_page, sign_in
from tests.integration.dashboard.pages_support import with_store, write_media
from tests.support.videos import mp4_bytes, webm_bytes


def _page() -> AppTest:
    at = open_page(sign_in(new_app()), "media")
    assert not at.exception
    return at


def _stored(seeded: Seeded) -> list[str]:
    root = seeded.data_dir.parent / "media"
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _upload(at: AppTest, category: str, name: str, data: bytes, mime: str) -> AppTest:
    at.selectbox(key="media_category").set_value(category).run()
    at.file_uploader(key="media_upload").set_value((name, data, mime)).run()
    at.button(key="media_store").click().run()
    assert not at.exception
    return at


def test_a_good_clip_is_stored_under_its_kind(seeded: Seeded) -> None:
    at = _upload(_page(), "talking", "Talk 1.webm", webm_bytes(2.0), "video/webm")
    assert at.success[0].value == "Stored talking/Talk-1.webm (2.0 s)."
    assert _stored(seeded) == ["talking/Talk-1.webm"]
    assert list(at.dataframe[0].value["name"]) == ["talking/Talk-1.webm"]
    at = _upload(at, "idle", "loop.mp4", mp4_bytes(3.0), "video/mp4")
    assert _stored(seeded) == ["idle/loop.mp4", "talking/Talk-1.webm"]


@pytest.mark.parametrize(
    ("name", "data", "mime", "reason"),
    [
        ("fake.mp4", b"GIF89a" + b"\x00" * 100, "video/mp4", "content is neither MP4 nor WebM"),
        ("long.mp4", mp4_bytes(600.0), "video/mp4", "longer than 60 s"),
        ("big.mp4", mp4_bytes(1.0) + b"\x00" * MAX_CLIP_BYTES, "video/mp4", "over the"),
        ("lies.webm", mp4_bytes(1.0), "video/webm", "content is mp4"),
    ],
)
def test_a_bad_clip_is_refused_and_nothing_stored(
    seeded: Seeded, name: str, data: bytes, mime: str, reason: str
) -> None:
    at = _upload(_page(), "idle", name, data, mime)
    assert at.error
    assert reason in at.error[0].value
    assert "Nothing was stored." in at.error[0].value
    assert _stored(seeded) == []


def test_preview_and_delete(seeded: Seeded) -> None:
    write_media(seeded.data_dir.parent / "media", "idle/wave.mp4", mp4_bytes(1.0))
    at = _page()
    at.selectbox(key="media_selected").set_value("idle/wave.mp4").run()
    assert at.get("video")
    at.button(key="media_delete").click().run()
    assert not at.exception
    assert at.success[0].value == "Deleted idle/wave.mp4."
    assert _stored(seeded) == []


def test_assigning_clips_saves_a_persona_version(seeded: Seeded) -> None:
    media = seeded.data_dir.parent / "media"
    write_media(media, "idle/wave.mp4", mp4_bytes(1.0))
    write_media(media, "talking/talk.webm", webm_bytes(1.0))
    at = _page()
    at.multiselect(key="media_assign_idle").select("idle/wave.mp4").run()
    at.multiselect(key="media_assign_talking").select("talking/talk.webm").run()
    at.checkbox(key="media_assign_video").check().run()
    at.button(key="media_assign_save").click().run()
    assert not at.exception
    assert at.success[0].value == "Clips assigned: persona version 1."

    async def read(store: SQLiteStore) -> PersonaConfig | None:
        return await store.get_persona()

    persona = with_store(seeded.data_dir, read)
    assert persona is not None
    assert persona.version == 1
    assert persona.avatar_mode == "clips"
    assert (persona.avatar_media.idle, persona.avatar_media.talking) == (
        ["idle/wave.mp4"],
        ["talking/talk.webm"],
    )
    # An assigned clip cannot be deleted from under the persona.
    at.selectbox(key="media_selected").set_value("idle/wave.mp4").run()
    at.button(key="media_delete").click().run()
    assert "assigned to the persona" in at.error[0].value
    assert (media / "idle" / "wave.mp4").exists()


def test_the_video_avatar_needs_an_idle_clip(seeded: Seeded) -> None:
    at = _page()
    at.checkbox(key="media_assign_video").check().run()
    at.button(key="media_assign_save").click().run()
    assert "needs at least one idle clip" in at.error[0].value
    assert with_store(seeded.data_dir, lambda s: s.get_persona()) is None


def _image(width: int, height: int, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 70)).save(out, format=fmt)
    return out.getvalue()


def test_a_reference_image_is_checked_stored_and_used_for_the_native_avatar(
    seeded: Seeded,
) -> None:
    at = _page()
    wide = _image(1280, 720, "PNG")
    at.file_uploader(key="media_image_upload").set_value(("wide.png", wide, "image/png")).run()
    at.button(key="media_image_store").click().run()
    assert not at.exception
    assert "is not portrait 9:16" in at.error[0].value
    assert "Nothing was stored." in at.error[0].value
    assert _stored(seeded) == []
    face = _image(720, 1280, "JPEG")
    at.file_uploader(key="media_image_upload").set_value(("My face.jpg", face, "image/jpeg"))
    at.run()
    at.button(key="media_image_store").click().run()
    assert not at.exception
    assert at.success[0].value == "Stored avatar-images/My-face.jpg."
    assert _stored(seeded) == ["avatar-images/My-face.jpg"]
    at.selectbox(key="media_image_selected").set_value("avatar-images/My-face.jpg").run()
    at.button(key="media_image_use").click().run()
    assert not at.exception

    async def read(store: SQLiteStore) -> PersonaConfig | None:
        return await store.get_persona()

    persona = with_store(seeded.data_dir, read)
    assert persona is not None
    assert (persona.avatar_mode, persona.native_avatar_image) == (
        "native",
        "avatar-images/My-face.jpg",
    )
