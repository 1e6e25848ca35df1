"""Security headers: what every HTTP response of the backend and of the static page says
about sniffing, referrers, framing, browser features and where content may come from.

Two policies:

- the **backend** answers JSON, Prometheus text, media and WebSockets, never a page: its
  CSP allows nothing (`default-src 'none'; frame-ancestors 'none'`);
- the **page** (the local static server, and Firebase Hosting through
  frontend/firebase.json) gets a CSP it satisfies: its own ES modules and AudioWorklet
  files, the backend's WebSocket and HTTP origins, avatar media from the backend or Cloud
  Storage, and, when sign-in is on, exactly what the Firebase Auth SDK loads.

`SecurityHeaders` adds a header only where the response did not set it itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveavatar.auth.config import AUTH_EMULATOR_VARIABLE
from liveavatar.settings import Settings

Headers = list[tuple[str, str]]

#: The page's Referrer-Policy: origin only across sites (the backend gets no path).
PAGE_REFERRER_POLICY = "strict-origin-when-cross-origin"
#: Microphone, camera and screen for the page itself (and a frame it is embedded in only
#: when the embedding site delegates them with `allow=`); nothing else.
PERMISSIONS_POLICY = (
    "microphone=(self), camera=(self), display-capture=(self), geolocation=(), payment=(), usb=()"
)
#: One year; sent only with ENVIRONMENT=production, where every URL is https.
HSTS = "max-age=31536000"
#: Avatar clips signed by Cloud Storage (MEDIA_BACKEND=gcs).
CLOUD_STORAGE = "https://storage.googleapis.com"
#: The backend as Firebase Hosting's page reaches it: any Cloud Run service URL
#: (`<service>-<hash>.a.run.app` and `<service>-<number>.<region>.run.app`).
HOSTING_BACKENDS = ("wss://*.run.app",)
#: What the Firebase Auth SDK (frontend/js/auth.js, Google sign-in in a popup) needs beyond
#: its own modules, which the page serves itself (frontend/vendor/firebase/): Google's API
#: loader for the popup's helper iframe, that iframe on the project's auth domain, and the
#: token endpoints.
FIREBASE_SCRIPTS = ("https://apis.google.com",)
FIREBASE_FRAMES = ("https://*.firebaseapp.com",)
FIREBASE_CONNECT = (
    "https://identitytoolkit.googleapis.com",
    "https://securetoken.googleapis.com",
)
#: The page's files as any site may read them (the widget, docs/EMBED.md): public static
#: files, fetched without credentials, so a wildcard discloses nothing. Firebase Hosting
#: sends it on the same files (firebase.json, for .js, .mjs, .css and .html).
EMBEDDABLE = ("Access-Control-Allow-Origin", "*")
#: The backend: no content of any kind, in no frame.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
#: FastAPI's ReDoc page (local runs only, see app.py): its CDN script, fonts and the
#: worker it starts from a blob.
DOCS_CSP = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://fonts.googleapis.com; font-src https://fonts.gstatic.com; "
    "img-src data: https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; "
    "worker-src blob:; frame-ancestors 'none'"
)

# An origin as CSP spells it: scheme://host[:port], host possibly "*.domain". (CSP has no
# syntax for IPv6 literals: browsers ignore such a source.)
_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?")


def frame_ancestors(values: Sequence[str]) -> list[str]:
    """FRAME_ANCESTORS as CSP sources: `self`/`none` (quoted or not) or http(s) origins.

    Raises ValueError for anything else: the values end up in a header.
    """
    sources: list[str] = []
    for raw in values:
        value = raw.strip().rstrip("/")
        keyword = value.strip("'").lower()
        if keyword in ("self", "none"):
            sources.append(f"'{keyword}'")
        elif _ORIGIN.fullmatch(value):
            sources.append(value)
        else:
            raise ValueError(f"FRAME_ANCESTORS: {value!r} is not 'self', 'none' or an origin")
    if not sources:
        return ["'none'"]
    if "'none'" in sources and len(sources) > 1:
        raise ValueError("FRAME_ANCESTORS: 'none' cannot be combined with other sources")
    return sources


def backend_origins(url: str) -> list[str]:
    """The WebSocket and HTTP origins of a backend URL (ws/wss/http/https, any path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss", "http", "https") or not parts.netloc:
        raise ValueError(f"not a backend URL: {url!r}")
    secure = parts.scheme in ("wss", "https")
    host = parts.netloc.rsplit("@", 1)[-1]
    return [f"{'wss' if secure else 'ws'}://{host}", f"{'https' if secure else 'http'}://{host}"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _join(*sources: Iterable[str]) -> str:
    seen: list[str] = []
    for group in sources:
        seen += [s for s in group if s not in seen]
    return " ".join(seen)


def page_csp(
    *,
    backends: Sequence[str],
    media: Sequence[str] = (),
    firebase: bool = False,
    auth_emulator: str | None = None,
    ancestors: Sequence[str] = ("'self'",),
) -> str:
    """The page's Content-Security-Policy.

    `backends` are backend URLs the page may talk to (WebSocket and HTTP for
    /api/videos); `media` extra origins of avatar clips; `firebase` whether sign-in may
    load the Firebase Auth SDK; `auth_emulator` the Firebase Auth emulator's origin the SDK
    then talks to instead of Google (local runs and tests); `ancestors` the sites that may
    frame the page.
    """
    emulator = [auth_emulator] if firebase and auth_emulator else []
    origins = [o for url in backends for o in backend_origins(url)]
    http_backends = [o for o in origins if o.startswith("http")]
    directives = [
        "default-src 'self'",
        "script-src " + _join(["'self'"], FIREBASE_SCRIPTS if firebase else ()),
        "style-src 'self'",
        # The favicon is a data: URL in index.html.
        "img-src 'self' data:",
        # blob: the native avatar's MediaSource (mse-player.js), an object URL of the page's.
        "media-src " + _join(["'self'", "blob:"], http_backends, media),
        "connect-src " + _join(["'self'"], origins, FIREBASE_CONNECT if firebase else (), emulator),
        "frame-src " + _join(["'self'"], FIREBASE_FRAMES if firebase else (), emulator),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors " + " ".join(frame_ancestors(ancestors)),
    ]
    return "; ".join(directives)


def _framing(ancestors: Sequence[str]) -> Headers:
    # X-Frame-Options is for browsers without frame-ancestors; it cannot name sites, so it
    # is sent only when the policy is exactly same-origin or nothing.
    sources = frame_ancestors(ancestors)
    if sources == ["'self'"]:
        return [("X-Frame-Options", "SAMEORIGIN")]
    if sources == ["'none'"]:
        return [("X-Frame-Options", "DENY")]
    return []


def _hsts(settings: Settings) -> Headers:
    return [("Strict-Transport-Security", HSTS)] if settings.is_production else []


def api_headers(settings: Settings, csp: str = API_CSP) -> Headers:
    """Headers of every backend HTTP response (JSON, metrics, media)."""
    return [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        *_framing(["'none'"]),
        *_hsts(settings),
    ]


def local_backends(settings: Settings) -> list[str]:
    """The backends the locally served page may reach: BACKEND_URL, and the backend
    beside the static server on PORT under each loopback name (config.js builds
    `ws://<page host>:<port>/ws`, and tests pass `?backend=ws://127.0.0.1:<port>/ws`).
    Not [::1]: CSP cannot name an IPv6 literal."""
    loopback = [f"ws://{host}:{settings.port}" for host in ("localhost", "127.0.0.1")]
    return [settings.backend_url, *loopback]


def page_headers(settings: Settings) -> Headers:
    """Headers of the page and its files as the local static server sends them."""
    media = [_origin(settings.media_base_url)] if settings.media_base_url else []
    if settings.media_backend == "gcs":
        media.append(CLOUD_STORAGE)
    # The Auth emulator (never in production, which refuses the variable at start).
    emulator_host = None if settings.is_production else os.environ.get(AUTH_EMULATOR_VARIABLE)
    csp = page_csp(
        backends=local_backends(settings),
        media=media,
        firebase=settings.auth_enabled,
        auth_emulator=f"http://{emulator_host}" if emulator_host else None,
        ancestors=settings.frame_ancestors,
    )
    return _page_set(csp, settings.frame_ancestors, https=settings.is_production)


def hosting_headers() -> Headers:
    """The page's headers on Firebase Hosting, as written in frontend/firebase.json (a
    unit test keeps the two equal): the backend on Cloud Run (`*.run.app`), clips from
    Cloud Storage, Google sign-in, same-origin framing, https only.

    A backend on a custom domain needs its origin written into firebase.json's policy
    (connect-src, media-src) at deploy time, and a site framing the page into
    frame-ancestors. The widget (docs/EMBED.md) is not framed: it runs under the host
    site's own policy and needs only `EMBEDDABLE` on the files it loads.
    """
    csp = page_csp(backends=HOSTING_BACKENDS, media=[CLOUD_STORAGE], firebase=True)
    return _page_set(csp, ["'self'"], https=True)


def _page_set(csp: str, ancestors: Sequence[str], *, https: bool) -> Headers:
    return [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", PAGE_REFERRER_POLICY),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        *_framing(ancestors),
        *([("Strict-Transport-Security", HSTS)] if https else []),
    ]


class SecurityHeaders:
    """ASGI middleware: add `headers` (or `by_path[path]`) to each HTTP response that
    does not set them itself. WebSocket handshakes pass through untouched."""

    def __init__(
        self, app: ASGIApp, headers: Headers, by_path: Mapping[str, Headers] | None = None
    ) -> None:
        self.app = app
        self._default = _encode(headers)
        self._by_path = {path: _encode(h) for path, h in (by_path or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._by_path.get(scope["path"], self._default)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _encode(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
