"""Avatar media over HTTP: `/api/videos` (signed URLs of the active persona's clips) and,
for the local backend, `/media/{name}` serving the files behind those URLs.

The store comes from `request.app.state.media` (set in the app's lifespan). Errors are
FastAPI's JSON `{"detail": text}`: 400 invalid name, 403 bad or expired signature (whether
or not the file exists, so URLs cannot probe the folder), 404 missing, 413 upload too
large, 503 store missing or failing.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from liveavatar.media import LocalMediaStore, MediaError, MediaStore, MediaTooLarge
from liveavatar.media.avatar import list_avatar_media, sign_avatar_media
from liveavatar.media.base import InvalidMediaName, content_type_for, validate_name

logger = logging.getLogger(__name__)

router = APIRouter()

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
# Served media is untrusted content on the backend's origin: never sniff it into HTML,
# and sandbox it if a browser opens it as a document.
_MEDIA_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def get_media(request: Request) -> MediaStore:
    """The app's media store (`app.state.media`, set in the lifespan); 503 if absent."""
    store: MediaStore | None = getattr(request.app.state, "media", None)
    if store is None:
        raise HTTPException(503, "avatar media is not configured")
    return store


MediaDep = Annotated[MediaStore, Depends(get_media)]


async def get_avatar_media(request: Request, store: MediaDep) -> dict[str, list[str]]:
    """The active persona's clip names per category.

    `app.state.avatar_media()` (sync or async) when the app provides it, else whatever the
    store holds under `idle/`, `talking/` and `expressive/`.
    """
    provider = getattr(request.app.state, "avatar_media", None)
    try:
        if provider is None:
            return await list_avatar_media(store)
        result: Any = provider()
        if inspect.isawaitable(result):
            result = await result
    except (MediaError, TimeoutError) as exc:
        raise _unavailable(exc) from exc
    media: Mapping[str, Sequence[str]] = result
    return {str(k): [str(n) for n in v] for k, v in media.items()}


def error(status: int, message: str) -> JSONResponse:
    """A JSON error in FastAPI's shape, as the dependencies' HTTPExceptions render."""
    return JSONResponse({"detail": message}, status_code=status)


def _unavailable(exc: BaseException) -> HTTPException:
    logger.warning(
        "avatar media unavailable", extra={"reason": f"{type(exc).__name__}: {exc}"[:200]}
    )
    return HTTPException(503, "avatar media is unavailable")


@router.get("/api/videos")
async def videos(
    store: MediaDep, media: Annotated[dict[str, list[str]], Depends(get_avatar_media)]
) -> Response:
    """`{"idle": [url...], "talking": [...], "expressive": [...]}` for the active persona."""
    try:
        urls = await sign_avatar_media(store, media)
    except (MediaError, TimeoutError) as exc:
        raise _unavailable(exc) from exc
    # The URLs expire: no shared cache may keep them.
    return JSONResponse(urls, headers={"Cache-Control": "no-store"})


# Not in the API schema: a signed file URL, not an API (and one route for GET and HEAD
# would give the schema two operations with one id).
@router.api_route("/media/{name:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def media_file(
    name: str, store: MediaDep, exp: str | None = None, sig: str | None = None
) -> Response:
    """A local media file behind a signed URL (Range requests supported, for seeking)."""
    local = _local(store)
    if local is None:
        return error(404, "no such media")
    try:
        validate_name(name)
    except InvalidMediaName:
        return error(400, "invalid media name")
    if not local.verify(name, exp, sig, "GET"):
        return error(403, "missing, invalid or expired signature")
    try:
        path = await local.file_path(name)
    except MediaError:
        path = None  # e.g. a symlink that leads outside the folder
    if path is None:
        return error(404, "no such media")
    return FileResponse(
        path,
        media_type=content_type_for(name),
        headers={**_MEDIA_HEADERS, "Cache-Control": "private, max-age=300"},
    )


@router.put("/media/{name:path}")
async def upload_media(
    name: str, request: Request, store: MediaDep, exp: str | None = None, sig: str | None = None
) -> Response:
    """Store the request body as `name`, authorised by a signed PUT URL (local backend)."""
    local = _local(store)
    if local is None:
        return error(404, "no such media")
    try:
        validate_name(name)
    except InvalidMediaName:
        return error(400, "invalid media name")
    if not local.verify(name, exp, sig, "PUT"):
        return error(403, "missing, invalid or expired signature")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        return error(413, f"uploads are limited to {MAX_UPLOAD_BYTES} bytes")
    try:
        size = await local.put_stream(name, request.stream(), max_bytes=MAX_UPLOAD_BYTES)
    except MediaTooLarge:
        return error(413, f"uploads are limited to {MAX_UPLOAD_BYTES} bytes")
    except MediaError as exc:
        raise _unavailable(exc) from exc
    return JSONResponse({"name": name, "size": size}, status_code=201)


def _local(store: MediaStore) -> LocalMediaStore | None:
    return store if isinstance(store, LocalMediaStore) else None
