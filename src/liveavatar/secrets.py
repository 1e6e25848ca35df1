"""Secrets: the environment and `.env` locally, Secret Manager in production.

A `SecretSource` answers `get(name)` for names like `GEMINI_API_KEY`. `EnvSecrets` reads the
Settings object, then the process environment, then `.env`/`.env.local`.
`SecretManagerSecrets` fetches the `latest` version of each named secret once, at start
(`load()`), checks its CRC32C, and keeps the values in memory as `SecretStr`; it logs secret
names and versions, never values. A required secret that is missing or not readable stops
the start with a message naming it; an optional one is absent, with one warning.

Tests point the real client at a local gRPC stand-in through `SECRET_MANAGER_EMULATOR_HOST`,
a variable of this project (not Google's), honoured only outside production.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

from dotenv import dotenv_values
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.cloud import secretmanager
from pydantic import SecretStr

log = logging.getLogger(__name__)

KNOWN_SECRETS = ("GEMINI_API_KEY", "ADMIN_TOKEN", "MEDIA_SIGNING_SECRET", "EMULATOR_API_KEY")
#: Secrets only the local Live emulator uses: never read in production.
EMULATOR_ONLY_SECRETS = frozenset({"EMULATOR_API_KEY"})
EMULATOR_HOST_VARIABLE = "SECRET_MANAGER_EMULATOR_HOST"


class SecretSource(Protocol):
    """Where secret values come from."""

    def get(self, name: str) -> str | None:
        """The value of secret `name` (e.g. `GEMINI_API_KEY`), or None if absent."""
        ...


class SecretError(RuntimeError):
    """A secret could not be loaded; the message names secrets, never values."""


class MissingSecretError(SecretError):
    """Required secrets are absent; `names` lists them."""

    def __init__(self, names: Sequence[str], where: str) -> None:
        super().__init__(f"missing secret(s) in {where}: {', '.join(names)}")
        self.names = list(names)


@cache
def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of `data`, as Secret Manager's `data_crc32c` (secrets are small)."""
    table = _crc32c_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class EnvSecrets:
    """Secrets from Settings fields, then the environment, then `.env` files (later wins)."""

    def __init__(
        self,
        settings: object | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        env_files: Iterable[Path | str] = (".env", ".env.local"),
    ) -> None:
        self._settings = settings
        self._environ = os.environ if environ is None else environ
        self._env_files = [Path(p) for p in env_files]
        self._file_values: dict[str, str] | None = None

    def get(self, name: str) -> str | None:
        """The secret's value, or None when no layer has a non-empty one."""
        field = getattr(self._settings, name.lower(), None) if self._settings else None
        if isinstance(field, SecretStr):
            field = field.get_secret_value()
        if isinstance(field, str) and field:
            return field
        if self._environ.get(name):
            return self._environ[name]
        return self._files().get(name) or None

    def _files(self) -> dict[str, str]:
        if self._file_values is None:
            merged: dict[str, str] = {}
            for path in self._env_files:
                if path.is_file():
                    merged.update({k: v for k, v in dotenv_values(path).items() if v})
            self._file_values = merged
        return self._file_values


def secret_manager_client(
    emulator_host: str | None = None,
) -> secretmanager.SecretManagerServiceClient:
    """A client on Application Default Credentials, or an insecure channel to a stand-in."""
    if emulator_host:
        import grpc
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
            SecretManagerServiceGrpcTransport,
        )

        transport = SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(emulator_host))
        return secretmanager.SecretManagerServiceClient(transport=transport)
    return secretmanager.SecretManagerServiceClient()


class SecretManagerSecrets:
    """Named secrets from Secret Manager, fetched once by `load()` and held in memory.

    `names` must exist and be readable (otherwise `load()` fails, naming them); `optional`
    may be absent: a least-privilege service account is told `PERMISSION_DENIED` for a name
    that does not exist as for one it may not read, so both mean absent, with one warning.
    Each access is bounded by `timeout_s`, transient errors retried within that time. Without
    an injected `client`, one is made for `load()` (on ADC, or an insecure channel to
    `emulator_host`) and closed afterwards: nothing is fetched after start.
    """

    def __init__(
        self,
        project_id: str,
        names: Sequence[str],
        client: secretmanager.SecretManagerServiceClient | None = None,
        *,
        optional: Sequence[str] = (),
        timeout_s: float = 10.0,
        emulator_host: str | None = None,
    ) -> None:
        if not project_id:
            raise ValueError("Secret Manager needs a project id")
        self.project_id = project_id
        self.names = list(dict.fromkeys(names))
        self.optional = [n for n in dict.fromkeys(optional) if n not in self.names]
        self._client = client
        self._emulator_host = emulator_host
        self._timeout_s = timeout_s
        self._values: dict[str, SecretStr] = {}
        self.loaded = False

    def load(self) -> None:
        """Fetch every secret's `latest` version (blocking; once; later calls do nothing)."""
        if self.loaded:
            return
        if self._client is not None:
            self._load(self._client)
            return
        with secret_manager_client(self._emulator_host) as client:
            self._load(client)

    def _load(self, client: secretmanager.SecretManagerServiceClient) -> None:
        retry = gretry.Retry(
            predicate=gretry.if_transient_error,
            initial=0.25,
            maximum=2.0,
            multiplier=2.0,
            timeout=self._timeout_s,
        )
        missing: list[str] = []
        denied: list[str] = []
        values: dict[str, SecretStr] = {}
        for name in self.names + self.optional:
            path = f"projects/{self.project_id}/secrets/{name}/versions/latest"
            try:
                response = client.access_secret_version(
                    name=path, retry=retry, timeout=self._timeout_s
                )
            except (gexc.NotFound, gexc.PermissionDenied) as exc:
                absent = "not found" if isinstance(exc, gexc.NotFound) else "permission denied"
                if name in self.names:
                    (missing if absent == "not found" else denied).append(name)
                else:
                    log.warning(
                        "optional secret absent: %s (%s)",
                        name,
                        absent,
                        extra={"secret": name, "reason": absent},
                    )
                continue
            except gexc.GoogleAPIError as exc:
                raise SecretError(f"could not read secret {name}: {type(exc).__name__}") from None
            data = bytes(response.payload.data)
            if "data_crc32c" in response.payload and response.payload.data_crc32c != crc32c(data):
                raise SecretError(f"secret {name} arrived corrupted (CRC32C mismatch)")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                # The decode error quotes a byte of the value: report the name only.
                raise SecretError(f"secret {name} is not UTF-8 text") from None
            # Values stored with `echo` end in a newline that would break an HTTP header.
            values[name] = SecretStr(text.rstrip("\r\n"))
            log.info(
                "secret loaded",
                extra={"secret": name, "version": str(response.name).rpartition("/")[2]},
            )
        if denied:
            raise SecretError(
                f"no permission to read required secret(s) {', '.join(denied)} in project "
                f"{self.project_id} (does it exist? grant roles/secretmanager.secretAccessor)"
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        if missing:
            raise MissingSecretError(missing, f"Secret Manager project {self.project_id}")
        self._values = values
        self.loaded = True
        log.info("secrets loaded from Secret Manager", extra={"secrets": sorted(values)})

    async def aload(self) -> None:
        """`load()` in a worker thread, so the event loop keeps running; bounded."""
        budget = self._timeout_s * (len(self.names) + len(self.optional) + 1)
        async with asyncio.timeout(budget):
            await asyncio.to_thread(self.load)

    def get(self, name: str) -> str | None:
        """The loaded value of `name` (None if absent or not loaded)."""
        value = self._values.get(name)
        return value.get_secret_value() if value is not None else None


class _BackendSettings(Protocol):
    @property
    def environment(self) -> str: ...
    @property
    def live_backend(self) -> str: ...


class SecretSettings(_BackendSettings, Protocol):
    """The settings `build_secret_source` reads."""

    @property
    def project_id(self) -> str | None: ...
    @property
    def secrets_backend(self) -> str: ...


def required_secrets(settings: _BackendSettings) -> list[str]:
    """The secrets these settings cannot run without."""
    return ["GEMINI_API_KEY"] if settings.live_backend == "gemini" else []


def wanted_secrets(environment: str) -> list[str]:
    """The known secrets worth reading in `environment`: the emulator's never in production."""
    if environment == "production":
        return [n for n in KNOWN_SECRETS if n not in EMULATOR_ONLY_SECRETS]
    return list(KNOWN_SECRETS)


def build_secret_source(
    settings: SecretSettings, environ: Mapping[str, str] | None = None
) -> SecretSource:
    """`EnvSecrets`, or an unloaded `SecretManagerSecrets` when `secrets_backend` says so."""
    if settings.secrets_backend != "secret-manager":
        return EnvSecrets(settings)
    if not settings.project_id:
        raise ValueError("SECRETS_BACKEND=secret-manager needs PROJECT_ID")
    env = os.environ if environ is None else environ
    # The stand-in is for tests: production never talks to anything but the real service.
    host = None if settings.environment == "production" else env.get(EMULATOR_HOST_VARIABLE)
    required = required_secrets(settings)
    return SecretManagerSecrets(
        settings.project_id,
        required,
        optional=[n for n in wanted_secrets(settings.environment) if n not in required],
        emulator_host=host,
    )


def resolve_secrets(
    settings: _BackendSettings, source: SecretSource, names: Iterable[str] | None = None
) -> dict[str, SecretStr]:
    """The known secrets `source` has, as `SecretStr`; `MissingSecretError` for required ones.

    By default the known secrets wanted in the settings' environment (`wanted_secrets`).
    """
    if names is None:
        names = wanted_secrets(settings.environment)
    found = {name: SecretStr(v) for name in names if (v := source.get(name))}
    missing = [n for n in required_secrets(settings) if n not in found]
    if missing:
        raise MissingSecretError(missing, type(source).__name__)
    return found
