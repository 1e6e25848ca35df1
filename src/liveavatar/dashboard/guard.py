"""Who may open the dashboard: every page runs `require_admin` first.

Production: Identity-Aware Proxy signs each request (`x-goog-iap-jwt-assertion`), verified
on every run of the script, so an expired or forged assertion is refused at once. Locally:
a sign-in form asking for `ADMIN_TOKEN`, compared in constant time and remembered for the
browser session. With neither configured (outside production) the dashboard is open, which
is only safe because `liveavatar dashboard` then binds 127.0.0.1 only; the guard also
refuses any request addressed to a host that is not loopback, as DNS rebinding would be.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Literal

import streamlit as st
from pydantic import SecretStr

from liveavatar.auth.iap import (
    ADMIN_TOKEN_HEADER,
    AdminIdentity,
    AdminTokenGuard,
    IapVerifier,
    header_value,
)
from liveavatar.dashboard.context import DashboardContext
from liveavatar.errors import Forbidden
from liveavatar.settings import Settings

GuardMode = Literal["iap", "token", "open", "locked"]
SESSION_KEY = "admin"
OPEN_NOTE = (
    "No ADMIN_TOKEN is set: the dashboard is open to anyone on this machine and bound to "
    "127.0.0.1 only. Set ADMIN_TOKEN to require a sign-in."
)


def guard_mode(settings: Settings) -> GuardMode:
    """Which guard the settings call for. Production without IAP opens nothing."""
    if settings.iap_audience:
        return "iap"
    if settings.is_production:
        return "locked"
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    return "token" if token else "open"


def check_token(configured: SecretStr | None, offered: str) -> AdminIdentity:
    """The admin identity if `offered` is the admin token; `Forbidden` otherwise."""
    return AdminTokenGuard(configured)({ADMIN_TOKEN_HEADER: offered})


def is_loopback_request(headers: Mapping[str, str]) -> bool:
    """Whether the request was addressed to this machine (no Host header: not over HTTP)."""
    host = header_value(headers, "host")
    if host is None:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@st.cache_resource(show_spinner=False)
def _iap_verifier(audience: str, certs_url: str) -> IapVerifier:
    # One per process: it caches Google's keys between runs.
    return IapVerifier(audience=audience, certs_url=certs_url)


def _request_headers() -> dict[str, str]:
    return {k: v for k, v in st.context.headers.items()}


def require_admin(ctx: DashboardContext) -> AdminIdentity | None:
    """The signed-in admin (None when the dashboard is open on localhost); otherwise draws
    the sign-in form or the refusal and stops the script."""
    settings = ctx.settings
    mode = guard_mode(settings)
    if mode == "locked":
        st.error("Refused: in production the dashboard only opens behind IAP (set IAP_AUDIENCE).")
        st.stop()
    if mode == "iap":
        verifier = _iap_verifier(settings.iap_audience or "", settings.iap_certs_url)
        try:
            admin = verifier(_request_headers())
        except Forbidden as exc:
            st.session_state.pop(SESSION_KEY, None)
            st.error(f"Refused: {exc}")
            st.stop()
        # Checked again on every run; kept where the pages read who saved what.
        st.session_state[SESSION_KEY] = admin
        return admin
    if mode == "open":
        if not is_loopback_request(_request_headers()):
            st.error("Refused: without ADMIN_TOKEN the dashboard only answers on localhost.")
            st.stop()
        st.sidebar.caption(OPEN_NOTE)
        return None
    return _token_sign_in(settings)


def signed_in_as() -> str:
    """Who saves a change, for the `updated_by` stamp: the admin's email, else how they
    signed in ("admin-token"), else "dashboard" (open on localhost)."""
    who = st.session_state.get(SESSION_KEY)
    if isinstance(who, AdminIdentity):
        return who.email or who.via
    return "dashboard"


def _token_sign_in(settings: Settings) -> AdminIdentity:
    known = st.session_state.get(SESSION_KEY)
    if isinstance(known, AdminIdentity):
        if st.sidebar.button("Sign out", key="sign_out"):
            del st.session_state[SESSION_KEY]
            st.rerun()
        return known
    st.title("Sign in")
    st.write("Enter the admin token (`ADMIN_TOKEN` in the dashboard's settings).")
    offered = st.text_input("Admin token", type="password", key="admin_token")
    if st.button("Sign in", key="sign_in", type="primary"):
        try:
            st.session_state[SESSION_KEY] = check_token(settings.admin_token, offered)
        except Forbidden:
            st.error("That token is not the admin token.")
        else:
            st.rerun()
    st.stop()


__all__ = [
    "OPEN_NOTE",
    "SESSION_KEY",
    "GuardMode",
    "check_token",
    "guard_mode",
    "is_loopback_request",
    "require_admin",
    "signed_in_as",
]
