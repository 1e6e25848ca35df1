"""The Users page against the seeded store: listing, search, limits, resets and blocks
persist in the store."""

from __future__ import annotations

import asyncio
from typing import Any

from streamlit.testing.v1 import AppTest

from liveavatar.dashboard.pages import users
from liveavatar.store import DB_FILENAME, SQLiteStore, User
from tests.integration.dashboard.conftest import Seeded, new_app, open_page, sign_in


def _users_page() -> AppTest:
    at = open_page(sign_in(new_app()), "users")
    assert not at.exception
    return at


def _rows(at: AppTest) -> dict[str, dict[str, Any]]:
    frame = at.dataframe[0].value
    return {r["id"]: r for r in frame.to_dict("records")}


def _stored(seeded: Seeded, uid: str) -> tuple[User | None, float]:
    async def read() -> tuple[User | None, float]:
        store = SQLiteStore(seeded.data_dir / DB_FILENAME)
        try:
            return await store.get_user(uid), await store.get_usage(uid, seeded.today)
        finally:
            await store.close()

    return asyncio.run(read())


def _pick(at: AppTest, uid: str) -> AppTest:
    return at.selectbox(key="users_pick").set_value(uid).run()


def test_lists_users_with_today_and_their_limit(seeded: Seeded) -> None:
    rows = _rows(_users_page())
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    # carol talked 300 s today and has her own 10-minute limit; the others the global 30.
    assert rows["carol"]["used_today_min"] == 5.0
    assert rows["carol"]["limit"] == "10 min (own)"
    assert rows["alice"]["used_today_min"] == 0.0
    assert rows["alice"]["limit"] == "30 min (global)"
    assert not any(r["blocked"] for r in rows.values())


def test_search_by_email(seeded: Seeded) -> None:
    at = _users_page()
    at.text_input(key="users_search").input("EXAMPLE.ORG").run()
    assert list(_rows(at)) == ["carol"]
    at.text_input(key="users_search").input("nobody-here").run()
    assert not at.dataframe
    assert [i.value for i in at.info] == ["No users match."]


def test_a_limit_change_persists(seeded: Seeded) -> None:
    at = _pick(_users_page(), "alice")
    at.checkbox(key="users_global_alice").uncheck()
    at.number_input(key="users_limit_alice").set_value(45.0)
    at.button(key="users_save_alice").click().run()
    assert not at.exception
    user, _ = _stored(seeded, "alice")
    assert user is not None and user.quota_minutes_per_day == 45.0
    assert _rows(at)["alice"]["limit"] == "45 min (own)"


def test_back_to_the_global_limit(seeded: Seeded) -> None:
    at = _pick(_users_page(), "carol")
    at.checkbox(key="users_global_carol").check()
    at.button(key="users_save_carol").click().run()
    user, _ = _stored(seeded, "carol")
    assert user is not None and user.quota_minutes_per_day is None
    assert _rows(at)["carol"]["limit"] == "30 min (global)"


def test_reset_today_usage(seeded: Seeded) -> None:
    at = _pick(_users_page(), "carol")
    at.button(key="users_reset").click().run()
    assert _stored(seeded, "carol")[1] == 0.0
    assert _rows(at)["carol"]["used_today_min"] == 0.0


def test_block_and_unblock(seeded: Seeded) -> None:
    at = _pick(_users_page(), "bob")
    assert users.BLOCK_EFFECT in [c.value for c in at.caption]
    assert at.button(key="users_block").label == "Block"
    at.button(key="users_block").click().run()
    user, _ = _stored(seeded, "bob")
    assert user is not None and user.blocked
    assert _rows(at)["bob"]["blocked"]
    assert at.button(key="users_block").label == "Unblock"
    at.button(key="users_block").click().run()
    user, _ = _stored(seeded, "bob")
    assert user is not None and not user.blocked
