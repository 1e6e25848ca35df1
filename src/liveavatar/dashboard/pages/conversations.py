"""The Conversations page: search, read one turn by turn and listen to it, export, delete."""

from __future__ import annotations

import time
from typing import Literal

import streamlit as st

from liveavatar.dashboard.context import DashboardContext, get_context
from liveavatar.dashboard.conversation_search import (
    PAGE_SIZE,
    SearchFilter,
    TooManyConversations,
    search_all,
    search_page,
    with_turns,
)
from liveavatar.dashboard.conversation_view import show_conversation
from liveavatar.dashboard.exports import ExportedConversation, export_name, to_csv, to_json
from liveavatar.dashboard.recordings import delete_recordings
from liveavatar.media.base import MediaError
from liveavatar.store.base import StoreError
from liveavatar.store.models import ConversationSummary, TurnRecord

Format = Literal["json", "csv"]
_MIME: dict[Format, str] = {"json": "application/json", "csv": "text/csv"}
_EXPORT = "conversations_export"  # session key: the prepared export and its filter
_PENDING = "conversations_pending_delete"  # session key: what awaits confirmation
_LIMIT = "conversations_limit"
_FLASH = "conversations_flash"  # session key: the outcome of a deletion, shown after it


@st.cache_data(show_spinner=False, max_entries=64)
def _search(
    _ctx: DashboardContext, key: str, f: SearchFilter, limit: int, age: int | None
) -> list[ConversationSummary]:
    # `key` (the context's) keeps two contexts' stores from sharing answers: `_ctx` itself
    # is not part of the cache key.
    return _ctx.run(search_page(_ctx.store, f, limit=limit))


@st.cache_data(show_spinner=False, max_entries=32)
def _turns(
    _ctx: DashboardContext, key: str, conversation_id: str, age: int | None
) -> list[TurnRecord]:
    return _ctx.run(_ctx.store.get_turns(conversation_id))


def _age(ctx: DashboardContext) -> int | None:
    """A cache key that changes every `cache_s` seconds, so no cached answer is older than
    the page says (st.cache_data's own ttl is fixed before the settings are known)."""
    if ctx.cache_s <= 0:
        return None
    return int(time.time() // ctx.cache_s)


def _clear() -> None:
    _search.clear()
    _turns.clear()
    st.session_state.pop(_EXPORT, None)


def render() -> None:
    """Draw the page."""
    st.title("Conversations")
    ctx = get_context()
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)
    left, right = st.columns([4, 1])
    left.caption(f"Figures up to {ctx.cache_s:g} s old.")
    if right.button("Refresh", key="conversations_refresh"):
        _clear()
    f = _filter_form()
    limit = int(st.session_state.get(_LIMIT, PAGE_SIZE))
    try:
        found = _search(ctx, ctx.key, f, limit, _age(ctx))
    except (StoreError, TimeoutError) as exc:
        st.error(f"The store did not answer: {exc}")
        return
    if not found:
        st.info(
            "No conversation matches. Conversations appear here once someone has talked to "
            "the avatar; widen the dates or clear the filters."
        )
    else:
        _results(found, limit)
    _export_form(ctx, f)
    if found:
        _detail(ctx, found)
    _delete_user_form(ctx)


def _filter_form() -> SearchFilter:
    a, b, c = st.columns(3)
    user = a.text_input("User id", key="conversations_user")
    days = b.date_input("Days (UTC)", value=[], key="conversations_days")
    text = c.text_input("Text in the transcript", key="conversations_text", max_chars=200)
    return SearchFilter.from_form(user, days, text)


def _results(found: list[ConversationSummary], limit: int) -> None:
    st.dataframe(
        [
            {
                "id": c.id,
                "user": c.user_id,
                "started (UTC)": c.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
                "talk s": round(c.duration_s, 1),
                "turns": c.metrics.turns,
                "cost $": round(c.metrics.cost_usd, 4),
                "errors": c.metrics.errors,
            }
            for c in found
        ],
        hide_index=True,
    )
    if len(found) >= limit and st.button("Show more", key="conversations_more"):
        st.session_state[_LIMIT] = limit + PAGE_SIZE
        st.rerun()


def _export_form(ctx: DashboardContext, f: SearchFilter) -> None:
    st.subheader("Export")
    st.caption("Every conversation the filters select, with its turns.")
    if st.button("Prepare export", key="export_prepare"):
        try:
            chosen = ctx.run(search_all(ctx.store, f))
            items = ctx.run(with_turns(ctx.store, chosen), timeout=120)
        except TooManyConversations as exc:
            st.error(str(exc))
            return
        except (StoreError, TimeoutError) as exc:
            st.error(f"The store did not answer: {exc}")
            return
        st.session_state[_EXPORT] = (f, items)
    prepared = st.session_state.get(_EXPORT)
    if prepared is None or prepared[0] != f:
        return  # prepared for other filters: never offer a stale selection
    items = prepared[1]
    st.write(f"{len(items)} conversations ready.")
    _download_buttons(items, "conversations", "export")


def _download_buttons(items: list[ExportedConversation], stem: str, key: str) -> None:
    a, b = st.columns(2)
    a.download_button(
        "Download JSON",
        to_json(items),
        file_name=export_name(stem, "json"),
        mime=_MIME["json"],
        key=f"{key}_json",
        on_click="ignore",
    )
    b.download_button(
        "Download CSV",
        to_csv(items),
        file_name=export_name(stem, "csv"),
        mime=_MIME["csv"],
        key=f"{key}_csv",
        on_click="ignore",
    )


def _detail(ctx: DashboardContext, found: list[ConversationSummary]) -> None:
    st.subheader("Conversation")
    by_id = {c.id: c for c in found}
    chosen = st.selectbox(
        "Open",
        list(by_id),
        index=None,
        format_func=lambda cid: (
            f"{cid} · {by_id[cid].user_id} · {by_id[cid].timestamp:%Y-%m-%d %H:%M}"
        ),
        key="conversations_open",
        placeholder="Choose a conversation to read and listen to",
    )
    if chosen is None:
        return
    conversation = by_id[chosen]
    try:
        turns = _turns(ctx, ctx.key, chosen, _age(ctx))
    except (StoreError, TimeoutError) as exc:
        st.error(f"The store did not answer: {exc}")
        return
    show_conversation(ctx, conversation, turns)
    _download_buttons(
        [ExportedConversation(conversation, turns)], f"conversation-{chosen}", "export_one"
    )
    if st.button("Delete this conversation…", key="delete_conversation"):
        st.session_state[_PENDING] = ("conversation", chosen)
    _confirm(ctx, "conversation", chosen)


def _label(c: ConversationSummary) -> str:
    return f"{c.id} · {c.user_id} · {c.timestamp:%Y-%m-%d %H:%M}"


def _delete_user_form(ctx: DashboardContext) -> None:
    st.subheader("Delete a user's data")
    st.caption(
        "For a privacy request: every conversation of the user with its turns and "
        "recordings, their usage days and the user record. Daily totals are kept."
    )
    user = st.text_input("User id to delete", key="delete_user_id").strip()
    if st.button("Delete all of this user's data…", key="delete_user", disabled=not user):
        st.session_state[_PENDING] = ("user", user)
    if user:
        _confirm(ctx, "user", user)


def _confirm(ctx: DashboardContext, kind: str, target: str) -> None:
    if st.session_state.get(_PENDING) != (kind, target):
        return
    with st.container(border=True):
        what = f"conversation {target}" if kind == "conversation" else f"all data of user {target}"
        st.warning(f"Delete {what}, recordings included? This cannot be undone.")
        yes, no = st.columns(2)
        if yes.button("Yes, delete", key=f"confirm_delete_{kind}", type="primary"):
            st.session_state.pop(_PENDING, None)
            _delete(ctx, kind, target)
        if no.button("Cancel", key=f"cancel_delete_{kind}"):
            st.session_state.pop(_PENDING, None)
            st.rerun()


def _delete(ctx: DashboardContext, kind: str, target: str) -> None:
    try:
        if kind == "conversation":
            ids = [target] if ctx.run(ctx.store.delete_conversation(target)) else []
        else:
            ids = ctx.run(ctx.store.delete_user_data(target))
        # The store first: once the rows are gone nothing links to a leftover file, and a
        # failed file deletion is reported rather than hiding the conversation's removal.
        files = ctx.run(delete_recordings(ctx.media, ids if kind == "user" else [target]))
    except (StoreError, MediaError, TimeoutError) as exc:
        st.error(f"Deletion failed part way: {exc}. Try again; it is safe to repeat.")
        return
    finally:
        _clear()
    st.session_state[_FLASH] = f"Deleted {len(ids)} conversation(s) and {files} recording file(s)."
    st.rerun()
