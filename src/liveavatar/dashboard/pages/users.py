"""Users: find someone, see today's minutes against their limit, change the limit, reset
today's usage, block or unblock."""

from __future__ import annotations

import dataclasses
import datetime as dt

import streamlit as st

from liveavatar.dashboard.context import DashboardContext, get_context
from liveavatar.dashboard.quotas import describe_limit, user_rows
from liveavatar.store.models import User

MAX_LISTED = 200
BLOCK_EFFECT = (
    "A blocked user's next connection is refused (`forbidden`, close code 4403), and a "
    "session of theirs that is running ends within seconds."
)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def render() -> None:
    """Draw the Users page (read fresh on every view: these are small queries)."""
    st.title("Users")
    ctx = get_context()
    today = _today()
    text = st.text_input("Search by id or email", key="users_search")
    users = ctx.run(ctx.store.find_users(text.strip(), limit=MAX_LISTED))
    used = ctx.run(ctx.store.list_user_days(today, today))
    global_limit = ctx.settings.quota_minutes_per_day
    st.caption(
        "Global limit: "
        + ("none" if global_limit is None else f"{global_limit:g} min per user per UTC day")
        + f". Today is {today.isoformat()} (UTC)."
    )
    if not users:
        st.info(
            "No users match." if text.strip() else "No users yet: they appear after they sign in."
        )
        return
    rows = user_rows(users, used, global_limit)
    st.dataframe(
        [dataclasses.asdict(r) for r in rows],
        column_config={
            "id": "User",
            "account": "Account",
            "email": "Email",
            "used_today_min": st.column_config.NumberColumn("Used today (min)", format="%.2f"),
            "limit": "Daily limit",
            "blocked": "Blocked",
        },
        hide_index=True,
    )
    if len(users) == MAX_LISTED:
        st.caption(f"Showing the first {MAX_LISTED}: search to narrow down.")
    picked = st.selectbox("User", [u.id for u in users], key="users_pick")
    user = next((u for u in users if u.id == picked), None)
    if user is not None:
        _edit(ctx, user, today)


def _edit(ctx: DashboardContext, user: User, today: dt.date) -> None:
    global_limit = ctx.settings.quota_minutes_per_day
    used_s = ctx.run(ctx.store.get_usage(user.id, today))
    st.subheader(user.email or f"{user.id} (anonymous)")
    st.write(
        f"Used today: **{used_s / 60:.2f} min**; limit: **{describe_limit(user, global_limit)}**."
        + (" **Blocked.**" if user.blocked else "")
    )

    with st.form(key=f"users_limit_form_{user.id}"):
        use_global = st.checkbox(
            "Use the global limit",
            value=user.quota_minutes_per_day is None,
            key=f"users_global_{user.id}",
        )
        minutes = st.number_input(
            "Own daily limit (minutes)",
            min_value=0.0,
            value=float(user.quota_minutes_per_day or (global_limit or 30.0)),
            step=5.0,
            key=f"users_limit_{user.id}",
        )
        if st.form_submit_button("Save limit", key=f"users_save_{user.id}"):
            ctx.run(
                ctx.store.update_user(
                    user.id, quota_minutes_per_day=None if use_global else float(minutes)
                )
            )
            st.toast("Limit saved: it applies from the user's next session.")
            st.rerun()

    left, right = st.columns(2)
    if left.button("Reset today's usage", key="users_reset"):
        ctx.run(ctx.store.reset_usage(user.id, today))
        st.toast(f"Today's usage of {user.id} reset to 0.")
        st.rerun()
    label = "Unblock" if user.blocked else "Block"
    if right.button(label, key="users_block", type="secondary" if user.blocked else "primary"):
        ctx.run(ctx.store.update_user(user.id, blocked=not user.blocked))
        st.rerun()
    right.caption(BLOCK_EFFECT)
