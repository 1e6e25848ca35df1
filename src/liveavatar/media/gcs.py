"""Avatar media in a Cloud Storage bucket, handed out as v4 signed URLs.

The client library is blocking, so every call runs in a worker thread with an explicit
timeout. Signing goes through a `Signer` (see `signing.py`): the credentials' own key when
they have one, IAM signBlob on Cloud Run where they do not. With `STORAGE_EMULATOR_HOST`
set, the client and the URLs point at the emulator.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

import google.auth.credentials
import google.auth.exceptions
import google.cloud.storage as storage  # type: ignore[import-untyped]
from google.api_core import exceptions as api_exceptions
from google.cloud.storage.retry import DEFAULT_RETRY  # type: ignore[import-untyped]

from .base import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_TTL_S,
    MediaError,
    MediaNotFound,
    MediaObject,
    MediaSigningError,
    MediaTooLarge,
    MediaUnavailable,
    Method,
    validate_name,
    validate_prefix,
    validate_ttl,
)
from .signing import DEFAULT_IAM_ENDPOINT, Signer, SigningCredentials, signer_for

OP_TIMEOUT_S = 30.0
UPLOAD_TIMEOUT_S = 300.0
# The library retries idempotent calls for up to 120 s by default; a request handler
# should give up sooner.
_RETRY = DEFAULT_RETRY.with_timeout(OP_TIMEOUT_S)
_URL_CACHE_MAX = 1024
# Where an append's new bytes wait to be composed onto their object: a name `list` never
# offers (it starts with a dot), deleted right after.
_APPEND_PREFIX = ".append/"
# What a failing client call raises: API errors, auth errors, and requests' transport
# errors (which are OSErrors).
_BACKEND_ERRORS = (api_exceptions.GoogleAPIError, google.auth.exceptions.GoogleAuthError, OSError)

P = ParamSpec("P")
T = TypeVar("T")


async def _call(what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking client call in a worker thread; backend failures -> MediaUnavailable."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except _BACKEND_ERRORS as exc:
        raise MediaUnavailable(f"Cloud Storage {what} failed: {type(exc).__name__}") from exc


class GcsMediaStore:
    """Objects in `bucket`; URLs are v4-signed for the `Signer`'s service account.

    `client` defaults to `storage.Client()` (application default credentials; blocking, so
    build the store off the event loop). `signer` defaults to one chosen from the client's
    credentials and `signer_email` (see `signing.signer_for`).
    """

    def __init__(
        self,
        bucket: str,
        *,
        client: Any = None,
        signer_email: str | None = None,
        signer: Signer | None = None,
        iam_endpoint: str = DEFAULT_IAM_ENDPOINT,
        default_ttl_s: int = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client if client is not None else storage.Client()
        self._bucket = self._client.bucket(bucket)
        self.bucket_name = bucket
        self._signer_email = signer_email
        self._signer = signer
        self._iam_endpoint = iam_endpoint
        self.default_ttl_s = validate_ttl(default_ttl_s)
        self._clock = clock
        self._lock = threading.Lock()
        # IAM signing is an HTTP call per URL; a GET URL is reused for the first half of
        # its life so a page load does not cost one signBlob per clip.
        self._urls: dict[tuple[str, int], tuple[str, float]] = {}

    def _get_signer(self) -> Signer:
        with self._lock:
            if self._signer is None:
                credentials: google.auth.credentials.Credentials = self._client._credentials
                self._signer = signer_for(
                    credentials, self._signer_email, iam_endpoint=self._iam_endpoint
                )
            return self._signer

    async def signed_url(
        self, name: str, *, ttl_s: int | None = None, method: Method = "GET"
    ) -> str:
        """A v4 signed URL for `method` on `name`, valid for `ttl_s` seconds.

        A GET URL may be one signed earlier, reused while at least half its life is left.
        """
        validate_name(name)
        if method not in ("GET", "PUT"):
            raise ValueError(f"unsupported method {method!r}")
        ttl = validate_ttl(self.default_ttl_s if ttl_s is None else ttl_s)
        now = self._clock()
        if method == "GET":
            cached = self._urls.get((name, ttl))
            if cached is not None and now < cached[1]:
                return cached[0]
        url = await asyncio.to_thread(self._sign, name, ttl, method)
        if method == "GET":
            if len(self._urls) >= _URL_CACHE_MAX:
                self._urls.clear()
            self._urls[(name, ttl)] = (url, now + ttl / 2)
        return url

    def _sign(self, name: str, ttl: int, method: str) -> str:
        credentials = SigningCredentials(self._get_signer())
        try:
            url = self._bucket.blob(name).generate_signed_url(
                version="v4",
                expiration=timedelta(seconds=ttl),
                method=method,
                credentials=credentials,
            )
        except (AttributeError, *_BACKEND_ERRORS) as exc:
            raise MediaSigningError(f"could not sign a media URL: {type(exc).__name__}") from exc
        return str(url)

    async def list(self, prefix: str = "", *, limit: int = DEFAULT_LIST_LIMIT) -> list[MediaObject]:
        """Objects whose name starts with `prefix`, sorted by name, at most `limit`."""
        validate_prefix(prefix)
        if limit <= 0:
            return []
        return await _call("list", self._list_sync, prefix, limit)

    def _list_sync(self, prefix: str, limit: int) -> builtins.list[MediaObject]:
        blobs = self._client.list_blobs(
            self._bucket,
            prefix=prefix or None,
            max_results=limit,
            timeout=OP_TIMEOUT_S,
            retry=_RETRY,
        )
        found: builtins.list[MediaObject] = []
        for blob in blobs:
            try:
                validate_name(blob.name)
            except MediaError:
                continue  # objects with names we would refuse to sign are not offered
            found.append(
                MediaObject(
                    name=blob.name,
                    size=int(blob.size or 0),
                    content_type=blob.content_type or "application/octet-stream",
                    updated=_utc(blob.updated),
                )
            )
        found.sort(key=lambda obj: obj.name)
        return found

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        """Upload `data` as `name` with `content_type`."""
        validate_name(name)
        blob = self._bucket.blob(name)
        await _call(
            "upload",
            blob.upload_from_string,
            data,
            content_type=content_type,
            timeout=UPLOAD_TIMEOUT_S,
        )
        self._forget(name)

    async def append(self, name: str, data: bytes, content_type: str) -> None:
        """Add `data` at the end of `name` (created if missing).

        The new bytes are uploaded as a temporary object, composed after `name`'s current
        bytes into `name` (one atomic swap: readers see the old or the new object), and the
        temporary object is deleted.
        """
        validate_name(name)
        await _call("append", self._append_sync, name, data, content_type)
        self._forget(name)

    def _append_sync(self, name: str, data: bytes, content_type: str) -> None:
        target = self._bucket.blob(name)
        piece = self._bucket.blob(f"{_APPEND_PREFIX}{uuid.uuid4().hex}")
        piece.upload_from_string(data, content_type=content_type, timeout=UPLOAD_TIMEOUT_S)
        try:
            target.content_type = content_type
            # No precondition, so the library does not retry it: a compose done twice
            # would append twice.
            target.compose([target, piece], timeout=OP_TIMEOUT_S)
        except api_exceptions.NotFound:
            # The first append: nothing to add to yet. `if_generation_match=0` only
            # creates, so a racing creator is refused rather than overwritten.
            target.upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=0,
                timeout=UPLOAD_TIMEOUT_S,
            )
        finally:
            with contextlib.suppress(*_BACKEND_ERRORS):
                piece.delete(timeout=OP_TIMEOUT_S, retry=_RETRY)

    async def get(self, name: str, *, max_bytes: int) -> bytes:
        """The bytes of `name`; at most `max_bytes + 1` are downloaded to tell."""
        validate_name(name)
        blob = self._bucket.blob(name)

        def download() -> bytes:
            try:
                data: bytes = blob.download_as_bytes(
                    start=0, end=max_bytes, timeout=UPLOAD_TIMEOUT_S, retry=_RETRY
                )
            except api_exceptions.NotFound as exc:
                raise MediaNotFound("no such media object") from exc
            except api_exceptions.RequestRangeNotSatisfiable:
                return b""  # an empty object: no byte 0 to start a range at
            return data

        data = await _call("download", download)
        if len(data) > max_bytes:
            raise MediaTooLarge(f"media larger than {max_bytes} bytes")
        return data

    async def delete(self, name: str) -> None:
        """Delete `name`; a missing object is not an error."""
        validate_name(name)
        self._forget(name)

        def delete() -> None:
            with contextlib.suppress(api_exceptions.NotFound):
                self._bucket.blob(name).delete(timeout=OP_TIMEOUT_S, retry=_RETRY)

        await _call("delete", delete)

    async def exists(self, name: str) -> bool:
        """Whether `name` is in the bucket."""
        validate_name(name)
        blob = self._bucket.blob(name)
        found = await _call("exists", blob.exists, timeout=OP_TIMEOUT_S, retry=_RETRY)
        return bool(found)

    def _forget(self, name: str) -> None:
        for key in [k for k in self._urls if k[0] == name]:
            self._urls.pop(key, None)


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(0, tz=UTC)
