"""Avatar media in a local folder, served by the backend behind expiring HMAC-signed URLs.

A URL is `{base_url}/media/{name}?exp=<unix seconds>&sig=<hex>` where `sig` is
HMAC-SHA256(secret, "{METHOD}\\n{name}\\n{exp}"). The backend route (`server/media_routes.py`)
checks it with `verify` before it serves (GET) or accepts (PUT) a file. The secret is either
configured or generated once and kept under the data dir, so URLs survive restarts.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import time
from collections.abc import AsyncIterable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import quote

from .base import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_TTL_S,
    MediaError,
    MediaNotFound,
    MediaObject,
    MediaTooLarge,
    MediaUnavailable,
    Method,
    content_type_for,
    validate_name,
    validate_prefix,
    validate_ttl,
)

MIN_SECRET_BYTES = 16
SECRET_FILE_NAME = "media-signing-key"
_TMP_PREFIX = ".upload-"
_SIG_RE = re.compile(r"[0-9a-fA-F]{64}")


class LocalMediaStore:
    """Files under `root`; names map to relative paths, URLs are HMAC-signed.

    `clock` returns Unix seconds (injectable so tests can expire URLs). The Content-Type of
    a file comes from its extension, so `put`'s `content_type` is informational here.
    """

    def __init__(
        self,
        root: Path,
        *,
        secret: bytes,
        base_url: str,
        clock: Callable[[], float] = time.time,
        default_ttl_s: int = DEFAULT_TTL_S,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the media signing secret needs at least {MIN_SECRET_BYTES} bytes")
        self.root = Path(root)
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.default_ttl_s = validate_ttl(default_ttl_s)

    # Signing -------------------------------------------------------------------------

    def _signature(self, method: str, name: str, exp: int) -> str:
        message = f"{method}\n{name}\n{exp}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def signed_url(
        self, name: str, *, ttl_s: int | None = None, method: Method = "GET"
    ) -> str:
        """`{base_url}/media/{name}?exp=...&sig=...`, valid for `ttl_s` seconds."""
        validate_name(name)
        if method not in ("GET", "PUT"):
            raise ValueError(f"unsupported method {method!r}")
        exp = int(self.clock()) + validate_ttl(self.default_ttl_s if ttl_s is None else ttl_s)
        sig = self._signature(method, name, exp)
        return f"{self.base_url}/media/{quote(name)}?exp={exp}&sig={sig}"

    def verify(self, name: str, exp: str | int | None, sig: str | None, method: str) -> bool:
        """Whether `sig` authorises `method` on `name` until `exp`, and `exp` has not passed.

        Malformed inputs are simply invalid. The comparison is constant-time.
        """
        if exp is None or sig is None or not _SIG_RE.fullmatch(sig):
            return False  # also keeps non-ASCII out of compare_digest, which refuses it
        try:
            exp_int = int(exp)
        except ValueError:
            return False
        # The signed text is the decimal form we issued: refuse "+123" or "0123" spellings.
        if str(exp_int) != str(exp) or exp_int <= self.clock():
            return False
        expected = self._signature(method.upper(), name, exp_int)
        return hmac.compare_digest(expected, sig.lower())

    # Files ---------------------------------------------------------------------------

    def path_for(self, name: str) -> Path:
        """The file behind `name`; raises `InvalidMediaName`, or `MediaError` if a symlink
        would lead outside the root."""
        validate_name(name)
        root = self.root.resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root):
            raise MediaError("media name resolves outside the media folder")
        return path

    async def file_path(self, name: str) -> Path | None:
        """The regular file behind `name`, or None if there is none (off the event loop)."""

        def find() -> Path | None:
            path = self.path_for(name)
            return path if path.is_file() else None

        return await asyncio.to_thread(find)

    async def list(self, prefix: str = "", *, limit: int = DEFAULT_LIST_LIMIT) -> list[MediaObject]:
        """Files whose name starts with `prefix`, sorted by name, at most `limit`."""
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list_sync, prefix, limit)

    def _list_sync(self, prefix: str, limit: int) -> builtins.list[MediaObject]:
        root = self.root.resolve()
        # Walk only the deepest folder the prefix names, not the whole tree.
        start = root / prefix.rsplit("/", 1)[0] if "/" in prefix else root
        found: builtins.list[MediaObject] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                name = path.relative_to(root).as_posix()
                if not name.startswith(prefix) or filename.startswith("."):
                    continue
                try:
                    st = self.path_for(name).stat()
                except (MediaError, OSError):
                    # Not listed: names we would refuse, symlinks out of the folder (never
                    # served either), files that vanished meanwhile.
                    continue
                found.append(
                    MediaObject(
                        name=name,
                        size=st.st_size,
                        content_type=content_type_for(name),
                        updated=datetime.fromtimestamp(st.st_mtime, tz=UTC),
                    )
                )
        found.sort(key=lambda obj: obj.name)
        return found[: max(0, limit)]

    async def put(self, name: str, data: bytes, content_type: str = "") -> None:
        """Write `data` to `name` atomically (readers never see a partial file)."""
        validate_name(name)

        def write() -> None:
            path = self.path_for(name)  # resolves symlinks: file-system work, so in here
            f, tmp = _open_temp(path)
            try:
                f.write(data)
            except BaseException:
                _discard(f, tmp)
                raise
            _commit(f, tmp, path)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise MediaUnavailable(f"could not store media: {exc.strerror}") from exc

    async def put_stream(self, name: str, chunks: AsyncIterable[bytes], *, max_bytes: int) -> int:
        """Write an upload chunk by chunk, atomically; returns its size.

        Raises `MediaTooLarge` (and keeps nothing) once more than `max_bytes` arrive.
        """
        validate_name(name)
        try:
            path = await asyncio.to_thread(self.path_for, name)
            f, tmp = await asyncio.to_thread(_open_temp, path)
            size = 0
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaTooLarge(f"upload larger than {max_bytes} bytes")
                    await asyncio.to_thread(f.write, chunk)
            except BaseException:
                await asyncio.to_thread(_discard, f, tmp)
                raise
            await asyncio.to_thread(_commit, f, tmp, path)
        except OSError as exc:
            raise MediaUnavailable(f"could not store media: {exc.strerror}") from exc
        return size

    async def append(self, name: str, data: bytes, content_type: str = "") -> None:
        """Add `data` at the end of `name` (created if missing), synced to disk before this
        returns: what was appended survives a crash of the process or the machine."""
        validate_name(name)

        def write() -> None:
            path = self.path_for(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise MediaUnavailable(f"could not store media: {exc.strerror}") from exc

    async def get(self, name: str, *, max_bytes: int) -> bytes:
        """The bytes of `name`, read in a worker thread."""
        validate_name(name)

        def read() -> bytes:
            path = self.path_for(name)
            try:
                with path.open("rb") as f:
                    data = f.read(max_bytes + 1)
            except (FileNotFoundError, IsADirectoryError) as exc:
                raise MediaNotFound("no such media object") from exc
            if len(data) > max_bytes:
                raise MediaTooLarge(f"media larger than {max_bytes} bytes")
            return data

        try:
            return await asyncio.to_thread(read)
        except OSError as exc:
            raise MediaUnavailable(f"could not read media: {exc.strerror}") from exc

    async def delete(self, name: str) -> None:
        """Remove `name` if present."""
        validate_name(name)

        def unlink() -> None:
            self.path_for(name).unlink(missing_ok=True)

        try:
            await asyncio.to_thread(unlink)
        except OSError as exc:
            raise MediaUnavailable(f"could not delete media: {exc.strerror}") from exc

    async def exists(self, name: str) -> bool:
        """Whether `name` is a stored file."""
        return await self.file_path(name) is not None


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret kept in `path`, created (random, mode 0600) on first use.

    Blocking: call it at start-up, off the event loop. Concurrent first starts agree on one
    secret because the file appears atomically (hard link of a finished temp file).
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mkstemp uses 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_bytes(32).hex() + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # fails if another process created it first: use theirs
    finally:
        os.unlink(tmp)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < MIN_SECRET_BYTES:
        raise MediaError(f"the media signing key file {path.name} is malformed; delete it")
    return secret


def _open_temp(path: Path) -> tuple[IO[bytes], str]:
    """A temp file beside `path` (same filesystem, so the final rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
    return os.fdopen(fd, "wb"), tmp


def _commit(f: IO[bytes], tmp: str, path: Path) -> None:
    try:
        f.close()
        os.chmod(tmp, 0o644)  # mkstemp made it 0600; media is not secret on this host
        os.replace(tmp, path)
    except BaseException:
        _discard(f, tmp)
        raise


def _discard(f: IO[bytes], tmp: str) -> None:
    f.close()
    with contextlib.suppress(OSError):
        os.unlink(tmp)
