"""Session ids, who owns a session, and the id's stand-in for logs.

A session id is the only thing a page sends to resume its conversation, so it is treated
like a capability: 128 random bits, checked against its owner on resume, and never written
to a log. Logs carry `log_ref(id)`, a short digest an operator can compute from a
conversation id (the dashboard's) to find its lines, but that cannot be turned back into
the id.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from liveavatar.auth.tokens import Identity

SESSION_ID_PREFIX = "s-"
# token_urlsafe(16): 22 characters from the URL-safe base64 alphabet, 128 bits.
_SESSION_ID = re.compile(r"^s-[A-Za-z0-9_-]{22}$")


def new_session_id() -> str:
    """A fresh, unguessable session id (also the conversation's id in the store)."""
    return SESSION_ID_PREFIX + secrets.token_urlsafe(16)


def is_session_id(value: str) -> bool:
    """Whether `value` has the shape of an id this backend hands out."""
    return _SESSION_ID.fullmatch(value) is not None


def log_ref(session_id: str) -> str:
    """What logs say instead of the session id: `s#` and 12 hex digits of its SHA-256."""
    return "s#" + hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:12]


def owner_key(identity: Identity, browser_key: str | None) -> str:
    """Who may resume a session: the signed-in user, or, for an anonymous (auth off) user,
    their address-derived uid together with the page's per-browser secret.

    Signed-in users are bound by uid alone, so the same account resumes from another tab
    or device. An anonymous page that sends no browser key is bound to its address only.
    """
    if not identity.anonymous or not browser_key:
        return identity.uid
    digest = hashlib.sha256(browser_key.encode("utf-8")).hexdigest()[:32]
    return f"{identity.uid}/{digest}"
