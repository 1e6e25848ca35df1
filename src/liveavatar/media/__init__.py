"""Avatar media: a local folder served with HMAC-signed URLs (default) or a Cloud Storage
bucket with v4 signed URLs, chosen by settings alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .base import (
    DEFAULT_TTL_S,
    InvalidMediaName,
    MediaError,
    MediaNotFound,
    MediaObject,
    MediaSigningError,
    MediaStore,
    MediaTooLarge,
    MediaUnavailable,
    Method,
    validate_name,
)
from .local import MIN_SECRET_BYTES, SECRET_FILE_NAME, LocalMediaStore, load_or_create_secret

__all__ = [
    "InvalidMediaName",
    "LocalMediaStore",
    "MediaError",
    "MediaObject",
    "MediaNotFound",
    "MediaSigningError",
    "MediaStore",
    "MediaTooLarge",
    "MediaUnavailable",
    "Method",
    "http_base_url",
    "make_media_store",
    "validate_name",
]


def make_media_store(settings: Any) -> MediaStore:
    """The store the settings ask for. Blocking (reads or creates the local signing key,
    or finds Google credentials): call it off the event loop, e.g. with asyncio.to_thread.

    Settings read (with defaults, so older Settings objects work): `media_backend`
    ("local" | "gcs"), `media_dir`, `media_bucket`, `media_signing_secret`,
    `media_url_ttl_s`, `media_signer_email`, `media_base_url`, `media_iam_endpoint`,
    `data_dir`, `backend_url`, `project_id`, `google_application_credentials`.
    """
    backend = getattr(settings, "media_backend", "local")
    ttl_s = int(getattr(settings, "media_url_ttl_s", DEFAULT_TTL_S))
    if backend == "local":
        return LocalMediaStore(
            Path(getattr(settings, "media_dir", Path("media"))),
            secret=_local_secret(settings),
            base_url=getattr(settings, "media_base_url", None)
            or http_base_url(getattr(settings, "backend_url", "http://localhost:8080")),
            default_ttl_s=ttl_s,
        )
    if backend == "gcs":
        return _make_gcs_store(settings, ttl_s)
    raise ValueError(f"unknown media_backend {backend!r}; use 'local' or 'gcs'")


def _local_secret(settings: Any) -> bytes:
    configured = getattr(settings, "media_signing_secret", None)
    if configured is not None:
        value = configured.get_secret_value() if hasattr(configured, "get_secret_value") else ""
        secret = str(value).encode("utf-8")
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"MEDIA_SIGNING_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return secret
    data_dir = Path(getattr(settings, "data_dir", Path(".data")))
    return load_or_create_secret(data_dir / SECRET_FILE_NAME)


def _make_gcs_store(settings: Any, ttl_s: int) -> MediaStore:
    # Imported here so the local default never loads the Cloud Storage client.
    import google.cloud.storage as storage  # type: ignore[import-untyped]

    from .gcs import GcsMediaStore
    from .signing import DEFAULT_IAM_ENDPOINT, LocalKeySigner, Signer

    bucket = getattr(settings, "media_bucket", None)
    if not bucket:
        raise ValueError("MEDIA_BACKEND=gcs needs MEDIA_BUCKET")
    client = storage.Client(project=getattr(settings, "project_id", None))
    signer: Signer | None = None
    key_file = getattr(settings, "google_application_credentials", None)
    if os.environ.get("STORAGE_EMULATOR_HOST") and key_file:
        # Against the emulator the client runs anonymously, which cannot sign; the
        # configured key still can.
        signer = LocalKeySigner.from_service_account_file(str(key_file))
    return GcsMediaStore(
        bucket,
        client=client,
        signer=signer,
        signer_email=getattr(settings, "media_signer_email", None),
        iam_endpoint=getattr(settings, "media_iam_endpoint", None) or DEFAULT_IAM_ENDPOINT,
        default_ttl_s=ttl_s,
    )


def http_base_url(backend_url: str) -> str:
    """`ws://host:port/ws` -> `http://host:port`: where the backend serves HTTP."""
    parts = urlsplit(backend_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme or "http")
    return urlunsplit((scheme, parts.netloc, "", "", "")).rstrip("/")
