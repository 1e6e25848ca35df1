"""A small in-memory Secret Manager gRPC server for adapter tests (no emulator exists).

It speaks the real wire protocol with the client library's own proto-plus message types,
so the real `SecretManagerServiceClient` talks to it through an insecure channel on
127.0.0.1. It covers what the project uses: CreateSecret, AddSecretVersion,
AccessSecretVersion (`latest` and numbered, with `data_crc32c`), GetSecret, ListSecrets and
DeleteSecret, answering NOT_FOUND and ALREADY_EXISTS like the service, and PERMISSION_DENIED
for a secret the caller may not read (`denied`) or, with `least_privilege`, for every name
it does not have: what a service account granted access per secret is told.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud.secretmanager_v1 import types as T

from liveavatar.secrets import crc32c

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"


@dataclass
class _Secret:
    resource: Any  # T.Secret
    versions: list[bytes] = field(default_factory=list)


class SecretManagerStandIn:
    """Start with `start()` (binds 127.0.0.1 on a free port), stop with `stop()`."""

    def __init__(self) -> None:
        self.secrets: dict[str, _Secret] = {}
        self.calls: list[tuple[str, str]] = []  # (method, resource name), for assertions
        self._lock = threading.Lock()
        self.corrupt_checksums = False  # send a wrong data_crc32c (integrity tests)
        self.denied: set[str] = set()  # secret ids whose access is PERMISSION_DENIED
        self.least_privilege = False  # a missing secret answers PERMISSION_DENIED
        self._server: grpc.Server | None = None
        self.port = 0

    @property
    def target(self) -> str:
        """`host:port` for a channel (the value of SECRET_MANAGER_EMULATOR_HOST)."""
        return f"127.0.0.1:{self.port}"  # without TLS, on the default address

    def start(
        self, address: str = "127.0.0.1", port: int = 0, tls: tuple[bytes, bytes] | None = None
    ) -> None:
        """Serve in background threads; with `tls` (key, certificate chain) over TLS, as
        `secretmanager.googleapis.com` does (then `address` is what that name resolves to)."""
        rpc = grpc.unary_unary_rpc_method_handler
        handlers = {
            "CreateSecret": rpc(
                self._create, T.CreateSecretRequest.deserialize, T.Secret.serialize
            ),
            "AddSecretVersion": rpc(
                self._add, T.AddSecretVersionRequest.deserialize, T.SecretVersion.serialize
            ),
            "AccessSecretVersion": rpc(
                self._access,
                T.AccessSecretVersionRequest.deserialize,
                T.AccessSecretVersionResponse.serialize,
            ),
            "GetSecret": rpc(self._get, T.GetSecretRequest.deserialize, T.Secret.serialize),
            "ListSecrets": rpc(
                self._list, T.ListSecretsRequest.deserialize, T.ListSecretsResponse.serialize
            ),
            "DeleteSecret": rpc(self._delete, T.DeleteSecretRequest.deserialize, _serialize_empty),
        }
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        if tls is None:
            self.port = server.add_insecure_port(f"{address}:{port}")
        else:
            credentials = grpc.ssl_server_credentials([tls])
            self.port = server.add_secure_port(f"{address}:{port}", credentials)
        server.start()
        self._server = server

    def stop(self) -> None:
        """Stop serving and wait (bounded) for in-flight calls."""
        if self._server is not None:
            self._server.stop(grace=None).wait(timeout=5)
            self._server = None

    def put(self, project: str, secret_id: str, *values: str) -> None:
        """Seed a secret with versions directly (what `gcloud secrets create` would do)."""
        name = f"projects/{project}/secrets/{secret_id}"
        with self._lock:
            self.secrets.setdefault(name, _Secret(T.Secret(name=name))).versions.extend(
                v.encode() for v in values
            )

    def _secret(self, method: str, name: str, context: grpc.ServicerContext) -> _Secret:
        self.calls.append((method, name))
        found = self.secrets.get(name)
        if name.rpartition("/")[2] in self.denied or (found is None and self.least_privilege):
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Permission 'secretmanager.versions.access' denied for resource '{name}'.",
            )
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found.")
        return found

    def _create(self, req: Any, context: grpc.ServicerContext) -> Any:
        name = f"{req.parent}/secrets/{req.secret_id}"
        with self._lock:
            self.calls.append(("CreateSecret", name))
            if name in self.secrets:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Secret [{name}] already exists.")
            self.secrets[name] = _Secret(T.Secret(name=name, labels=dict(req.secret.labels)))
            return self.secrets[name].resource

    def _add(self, req: Any, context: grpc.ServicerContext) -> Any:
        with self._lock:
            secret = self._secret("AddSecretVersion", req.parent, context)
            secret.versions.append(bytes(req.payload.data))
            return T.SecretVersion(name=f"{req.parent}/versions/{len(secret.versions)}")

    def _access(self, req: Any, context: grpc.ServicerContext) -> Any:
        parent, _, version = str(req.name).rpartition("/versions/")
        with self._lock:
            secret = self._secret("AccessSecretVersion", parent, context)
            number = len(secret.versions) if version == "latest" else _int(version)
            if not 1 <= number <= len(secret.versions):
                context.abort(grpc.StatusCode.NOT_FOUND, f"Secret Version [{req.name}] not found.")
            data = secret.versions[number - 1]
        return T.AccessSecretVersionResponse(
            name=f"{parent}/versions/{number}",
            payload=T.SecretPayload(
                data=data, data_crc32c=crc32c(data) ^ int(self.corrupt_checksums)
            ),
        )

    def _get(self, req: Any, context: grpc.ServicerContext) -> Any:
        with self._lock:
            return self._secret("GetSecret", req.name, context).resource

    def _list(self, req: Any, context: grpc.ServicerContext) -> Any:
        with self._lock:
            found = [s.resource for n, s in self.secrets.items() if n.startswith(req.parent + "/")]
        return T.ListSecretsResponse(secrets=found, total_size=len(found))

    def _delete(self, req: Any, context: grpc.ServicerContext) -> None:
        with self._lock:
            self._secret("DeleteSecret", req.name, context)
            del self.secrets[req.name]


def _serialize_empty(_: None) -> bytes:
    return b""  # google.protobuf.Empty has no fields, so its encoding is empty


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0
