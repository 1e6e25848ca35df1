"""The dashboard's entry: page setup, the guard, then the page the URL names."""

from __future__ import annotations

import streamlit as st

from liveavatar.dashboard.context import get_context
from liveavatar.dashboard.guard import require_admin
from liveavatar.dashboard.pages import conversations, media, overview, persona, users


def main() -> None:
    """Run one pass of the dashboard script (Streamlit reruns it on every interaction)."""
    st.set_page_config(page_title="Live Avatar dashboard", page_icon=":bar_chart:", layout="wide")
    try:
        ctx = get_context()
    except ValueError as exc:  # settings the dashboard refuses, e.g. production over SQLite
        st.error(str(exc))
        st.stop()
    pages = [
        st.Page(overview.render, title="Overview", url_path="overview", default=True),
        st.Page(conversations.render, title="Conversations", url_path="conversations"),
        st.Page(persona.render, title="Persona", url_path="persona"),
        st.Page(users.render, title="Users", url_path="users"),
        st.Page(media.render, title="Media", url_path="media"),
    ]
    # Registered before the guard runs, so a link to a page answers with the sign-in form
    # rather than "page not found"; the menu holds titles only, and nothing runs until the
    # guard lets the script past it.
    page = st.navigation(pages)
    admin = require_admin(ctx)
    if admin is not None and admin.email:
        st.sidebar.caption(f"Signed in as {admin.email}")
    page.run()
