"""Which certificates the Live clients trust: the configured CA file, else the default store.

The configured CA file (`LIVE_CA_FILE`, or the emulator's certificate) replaces the store.
Production configures no CA file: Live must then be verified against the machine's default
trust store, which OpenSSL reads from `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (as the
google-genai SDK and google-auth's `requests` transport do), plus certifi's bundle, which
the SDK falls back to, so a container without the system CA package still reaches Google.
"""

from __future__ import annotations

import functools
import os
import ssl
from urllib.parse import urlsplit

import certifi

from liveavatar.settings import Settings


def default_context() -> ssl.SSLContext:
    """A client context over the default trust store (see the module docstring).

    `SSL_CERT_FILE`, when set, replaces the bundle (OpenSSL's rule, and the SDK's); only
    without it is certifi's bundle added to the system's. Built once per trust setting:
    loading the bundles costs milliseconds, and `/readyz` asks often.
    """
    return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # The arguments only key the cache: OpenSSL reads the same variables itself.
    ctx = ssl.create_default_context()
    if not cert_file:
        ctx.load_verify_locations(cafile=certifi.where())
    return ctx


def live_tls(settings: Settings, url: str) -> ssl.SSLContext | None:
    """The TLS context for a Live URL: none for `ws://`/`http://`, else `LIVE_CA_FILE` (or
    the local emulator's certificate) when configured, else `default_context()`.

    `websockets` refuses `ssl=None` for a `wss://` URL, so a secure URL always gets one.
    """
    if urlsplit(url).scheme in ("ws", "http"):
        return None
    return ca_context(settings) or default_context()


def ca_context(settings: Settings) -> ssl.SSLContext | None:
    """Trust the configured CA (the emulator's certificate) instead of the system store."""
    ca = settings.live_ca_file
    if ca is None and settings.live_backend == "emulator":
        ca = settings.emulator_cert_dir / "cert.pem"
    return ssl.create_default_context(cafile=str(ca)) if ca is not None else None
