"""The Persona page: checked saves, versions, diff and rollback, against a real store."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from liveavatar.store import PersonaConfig, SQLiteStore
from tests.integration.dashboard.conftest import Seeded, new_app, open_page, sign_in
from tests.integration.dashboard.pages_support import with_store


def _page() -> AppTest:
    at = open_page(sign_in(new_app()), "persona")
    assert not at.exception
    return at


def _versions(seeded: Seeded) -> list[PersonaConfig]:
    async def read(store: SQLiteStore) -> list[PersonaConfig]:
        return await store.list_persona_versions()

    return with_store(seeded.data_dir, read)


def _save(at: AppTest) -> AppTest:
    at.button(key="persona_save").click().run()
    assert not at.exception
    return at


def test_an_invalid_save_shows_the_problem_and_changes_nothing(seeded: Seeded) -> None:
    at = _page()
    at.selectbox(key="persona_thinking").set_value("high").run()
    at.number_input(key="persona_trigger_tokens").set_value(10).run()
    _save(at)
    message = at.error[0].value
    assert "Not saved" in message
    assert "compression_trigger_tokens" in message
    assert _versions(seeded) == []
    at.number_input(key="persona_trigger_tokens").set_value(25_600).run()
    _save(at)
    assert "model gemini-3.8-live does not accept thinking_level" in at.error[0].value
    assert _versions(seeded) == []


def test_a_valid_save_bumps_the_version(seeded: Seeded) -> None:
    at = _page()
    at.text_input(key="persona_greeting").input("Hello there!").run()
    at.selectbox(key="persona_voice").set_value("Kore").run()
    at.checkbox(key="persona_recording").check().run()
    _save(at)
    assert at.success[0].value == "Saved version 1."
    (saved,) = _versions(seeded)
    assert (saved.version, saved.greeting, saved.voice, saved.recording) == (
        1,
        "Hello there!",
        "Kore",
        True,
    )
    assert saved.updated_by == "admin-token"
    at.text_input(key="persona_greeting").input("Hi again").run()
    _save(at)
    assert at.success[0].value == "Saved version 2."
    assert [v.version for v in _versions(seeded)] == [2, 1]


def test_a_save_based_on_an_old_version_is_refused(seeded: Seeded) -> None:
    first, second = _page(), _page()
    _save(first)
    second.text_input(key="persona_greeting").input("Mine").run()
    _save(second)
    assert "someone else saved the persona first" in second.error[0].value
    assert [v.greeting for v in _versions(seeded)] == [""]


def test_diff_and_rollback(seeded: Seeded) -> None:
    at = _page()
    at.text_input(key="persona_greeting").input("One").run()
    _save(at)
    at.text_input(key="persona_greeting").input("Two").run()
    at.selectbox(key="persona_voice").set_value("Charon").run()
    at.text_area(key="persona_instruction").input("Be brief.\nBe kind.").run()
    _save(at)
    diff = at.dataframe[1].value
    assert list(diff["setting"]) == ["greeting", "system_instruction", "voice"]
    assert list(diff["v2"]) == ["'Two'", repr("Be brief.\nBe kind."), "'Charon'"]
    assert "+Be kind." in at.code[0].value
    at.selectbox(key="rollback_version").set_value(1).run()
    at.button(key="rollback").click().run()
    assert not at.exception
    assert at.success[0].value == "Version 1 restored as version 3."
    newest, second, first = _versions(seeded)
    assert newest.version == 3
    assert (newest.greeting, newest.voice, newest.system_instruction) == (
        first.greeting,
        first.voice,
        first.system_instruction,
    )
    # The form starts again from the restored version.
    assert at.text_input(key="persona_greeting").value == "One"


def test_the_native_avatar_needs_an_avatar_and_saves_with_one(seeded: Seeded) -> None:
    at = _page()
    at.radio(key="persona_avatar_mode").set_value("native").run()
    _save(at)
    assert "needs a prebuilt avatar or a reference image" in at.error[0].value
    assert _versions(seeded) == []
    at.selectbox(key="persona_native_avatar").set_value("Kira").run()
    _save(at)
    assert at.success[0].value == "Saved version 1."
    (saved,) = _versions(seeded)
    assert (saved.avatar_mode, saved.native_avatar, saved.native_avatar_image) == (
        "native",
        "Kira",
        None,
    )
