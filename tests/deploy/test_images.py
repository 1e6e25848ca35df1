"""The deploy images are built with podman and run: the backend holds a spoken conversation
with production's settings (kept in Firestore, recorded to Cloud Storage), the dashboard
serves its first page.

Both Dockerfiles are built offline from a Debian base made with debootstrap and a host-made
wheelhouse (`tests/deploy/podman.py`). Each container runs as the image's own user on the
host's network with Cloud Run's shape: `K_SERVICE` set, `PORT` a free port, no `HOST`
override (so the image's default bind is what is checked).

Both run with their Cloud Run file's own environment (`deploy/cloudrun/*.yaml`, filled as
deploy.sh fills it): `ENVIRONMENT=production`, Live on Vertex AI, Firestore, Cloud Storage
media, secrets from Secret Manager, sign-in on, the site's origins; no key file. Nothing in
it points anywhere but Google; the stand-ins sit below the product, behind Google's real
hostnames, with certificates from a test CA that the container's default trust stores
(`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`) hold:

- `<region>-aiplatform.googleapis.com`: the Live emulator, accepting only the service
  account's access token;
- `firestore.googleapis.com` and `secretmanager.googleapis.com`: the Firestore emulator
  and the Secret Manager stand-in serving gRPC over TLS on port 443 of loopback addresses
  of their own, named in the container's hosts file (`--add-host`), since gRPC resolves
  names without Python;
- `storage.googleapis.com`: the Cloud Storage emulator behind a TLS front;
- `www.googleapis.com`: Firebase's ID token certificates, for the signed-in browser;
- credentials as on Cloud Run: a metadata server stand-in (`GCE_METADATA_HOST`,
  `GCE_METADATA_IP`) giving the project, the service account and its access token.

Python's names are mapped by the rehearsal's `sitecustomize` (mounted, first on
`PYTHONPATH`), which refuses every other name, as in `tests/integration/rehearsal/`.

When the machine cannot build or run containers (no podman, runc, debootstrap, root, mirror
or PyPI) the tests skip with the reason; a failing build or container fails them.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import google.cloud.storage as storage  # type: ignore[import-untyped]
import httpx
import pytest
import pytest_asyncio
import soundfile as sf  # type: ignore[import-untyped]
from google.auth.credentials import AnonymousCredentials

from liveavatar.emulator.config import EmulatorConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.stt import RecognizerPool
from liveavatar.store.firestore import FirestoreStore
from tests.deploy import podman
from tests.deploy.test_cloudrun import env_of, load
from tests.integration.media.conftest import gcs_emulator  # noqa: F401 - a fixture
from tests.integration.rehearsal.conftest import assert_conversation, converse
from tests.support.auth_certs import PROJECT, CertsServer, SigningKeys
from tests.support.personas import builtin_persona
from tests.support.procs import free_port, listening_address
from tests.support.rehearsal.backend import HOSTS_VAR, SITE_DIR
from tests.support.rehearsal.firestore_tls import (
    HTTPS_PORT,
    TlsFirestore,
    free_loopback_443,
    tls_firestore,
)
from tests.support.rehearsal.metadata_server import MetadataServer
from tests.support.rehearsal.pki import (
    CERTS_HOST,
    FIRESTORE_HOST,
    SECRETS_HOST,
    STORAGE_HOST,
    StandInPki,
    make_pki,
    vertex_host,
)
from tests.support.rehearsal.tls_front import TlsFront
from tests.support.secret_manager_standin import SecretManagerStandIn

pytestmark = [
    pytest.mark.slow,
    # A cold cache makes the base image and the wheelhouse first (minutes, once).
    pytest.mark.timeout(podman.BUILD_TIMEOUT_S * 2),
    pytest.mark.asyncio(loop_scope="module"),
]

# Tagged per run: two runs on one machine build and run their own images (a build that
# changes nothing shares the other's layers through podman's cache).
RUN_TAG = f"test-{uuid.uuid4().hex[:12]}"
BACKEND_IMAGE = f"localhost/liveavatar-backend:{RUN_TAG}"
DASHBOARD_IMAGE = f"localhost/liveavatar-dashboard:{RUN_TAG}"
SERVICE_ACCOUNT = f"liveavatar-backend@{PROJECT}.iam.gserviceaccount.com"
ACCESS_TOKEN = "ya29.stand-in-access-token"  # noqa: S105 - the metadata stand-in's token
USER = "user-image-1"
# The Cloud Run file's environment, as deploy.sh fills it: what the containers run with.
BACKEND_ENV = env_of(load("backend"))
TRUST_STORE = "/rehearsal/trust-store.pem"
TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"  # noqa: S105
APP_UID = "10001"
READY_S = 60.0


@dataclass(frozen=True)
class Images:
    backend: str
    dashboard: str


@pytest.fixture(scope="module")
def images() -> Iterator[Images]:
    """Both images built from the working tree (podman's layer cache keeps a rebuild short),
    under this run's tags, which are removed at the end (the layers stay cached)."""
    try:
        podman.require_tools()
        base = podman.base_image()
        podman.check_runs(base)
        wheels = podman.wheelhouse()
    except podman.Unavailable as exc:
        pytest.skip(f"containers cannot be built here: {exc}")
    try:
        podman.build("backend.Dockerfile", BACKEND_IMAGE, base=base, wheels=wheels)
        podman.build("dashboard.Dockerfile", DASHBOARD_IMAGE, base=base, wheels=wheels)
        yield Images(BACKEND_IMAGE, DASHBOARD_IMAGE)
    finally:
        podman.untag(BACKEND_IMAGE)
        podman.untag(DASHBOARD_IMAGE)


def _external_address() -> str:
    """A non-loopback address of this machine (a listener on 127.0.0.1 is not reached)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET: no packet is sent for a UDP connect
        address: str = s.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    return address


async def _wait_ready(url: str, name: str) -> None:
    """Poll `url` until 200; fail with the container's log if it stops or never answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_S
    async with httpx.AsyncClient(timeout=2) as http:
        while loop.time() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if not await asyncio.to_thread(podman.running, name):
                break
            await asyncio.sleep(0.2)  # polling interval; the deadline bounds the wait
    logs = await asyncio.to_thread(podman.logs, name)
    raise AssertionError(f"{name}: {url} not ready; the container's log:\n{logs}")


@pytest.fixture(scope="module")
def container_names() -> Iterator[list[str]]:
    """Every container the module starts, removed at the end however it ended."""
    names: list[str] = []
    yield names
    for name in names:
        podman.remove(name)


def _start(
    names: list[str],
    image: str,
    env: dict[str, str],
    volumes: list[str],
    hosts: dict[str, str] | None = None,
) -> str:
    name = f"liveavatar-test-{uuid.uuid4().hex[:8]}"
    names.append(name)
    podman.run_detached(name, image, env, volumes, hosts)
    return name


@pytest.fixture(scope="module")
def recognizers() -> Iterator[RecognizerPool]:
    pool = RecognizerPool()
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> StandInPki:
    return make_pki(tmp_path_factory.mktemp("image-pki"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(pki: StandInPki, recognizers: RecognizerPool) -> AsyncIterator[EmulatorServer]:
    """The Live emulator serving Vertex AI's hostname's certificate, accepting only the
    service account's access token."""
    server = EmulatorServer(
        EmulatorConfig(port=0, cert_dir=pki.cert_dir, api_key=ACCESS_TOKEN),
        recognizers=recognizers,
    )
    await server.start()
    yield server
    await server.close()


def _bucket(name: str) -> str:
    """Bucket `name`, made unless it exists (the client finds the emulator through
    STORAGE_EMULATOR_HOST; it lives as long as the test session)."""
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    if client.lookup_bucket(name) is None:
        client.create_bucket(name)
    return name


@dataclass(frozen=True)
class Google:
    """The stand-ins behind Google's hostnames, and what the backend is told of them."""

    firestore: TlsFirestore
    metadata: MetadataServer
    secrets: SecretManagerStandIn
    keys: SigningKeys
    env: dict[str, str]  # below the product: names, trust store, metadata server
    hosts: dict[str, str]  # the container's hosts file
    volumes: list[str]


@pytest.fixture(scope="module")
def google(
    tmp_path_factory: pytest.TempPathFactory,
    images: Images,  # first: without containers there is nothing to stand in for
    live: EmulatorServer,
    pki: StandInPki,
    gcs_emulator: str,  # noqa: F811 - the imported fixture
) -> Iterator[Google]:
    keys = SigningKeys()
    log = tmp_path_factory.mktemp("firestore-tls") / "emulator.log"
    gcs = urlsplit(gcs_emulator)
    secrets = SecretManagerStandIn()
    secrets.least_privilege = True  # none is stored: each read is denied, as for a missing one
    secrets_address = free_loopback_443()
    tls = (pki.key.read_bytes(), pki.cert.read_bytes())
    secrets.start(secrets_address, HTTPS_PORT, tls)
    with (
        tls_firestore(pki, log) as firestore,
        TlsFront(pki, (gcs.hostname or "127.0.0.1", gcs.port or 80)) as storage_front,
        MetadataServer(project=PROJECT, email=SERVICE_ACCOUNT, access_token=ACCESS_TOKEN) as md,
    ):
        certs = CertsServer(keys, tls=(pki.cert, pki.key)).start()
        try:
            mapped = {
                vertex_host(BACKEND_ENV["VERTEX_LOCATION"]): live.port,
                STORAGE_HOST: storage_front.port,
                CERTS_HOST: certs.port,
            }
            env = {
                "PYTHONPATH": "/rehearsal/site",
                HOSTS_VAR: json.dumps({f"{h}:443": f"127.0.0.1:{p}" for h, p in mapped.items()}),
                "SSL_CERT_FILE": TRUST_STORE,
                "REQUESTS_CA_BUNDLE": TRUST_STORE,
                "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": TRUST_STORE,
                "GCE_METADATA_HOST": md.host,
                "GCE_METADATA_IP": md.host,
            }
            volumes = [f"{SITE_DIR}:/rehearsal/site:ro", f"{pki.bundle}:{TRUST_STORE}:ro"]
            hosts = {FIRESTORE_HOST: firestore.address, SECRETS_HOST: secrets_address}
            yield Google(firestore, md, secrets, keys, env, hosts, volumes)
        finally:
            certs.stop()
            secrets.stop()


@dataclass(frozen=True)
class Running:
    name: str
    port: int
    bucket: str


@pytest.fixture(scope="module")
def bucket(
    gcs_emulator: str,  # noqa: F811 - the imported fixture
    monkeypatch_module: pytest.MonkeyPatch,
) -> str:
    """The bucket the Cloud Run files name, made by the test's own client."""
    monkeypatch_module.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    return _bucket(BACKEND_ENV["MEDIA_BUCKET"])


async def _record_conversations(firestore: TlsFirestore, patch: pytest.MonkeyPatch) -> None:
    """Save the default persona with recording on, as an admin would in the dashboard (the
    test's own client, on the emulator's plain port)."""
    patch.setenv("FIRESTORE_EMULATOR_HOST", firestore.plain)
    store = FirestoreStore(project=PROJECT)
    try:
        await store.put_persona(builtin_persona(recording=True), expected_version=None)
    finally:
        await store.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend(
    images: Images,
    container_names: list[str],
    google: Google,
    bucket: str,
    monkeypatch_module: pytest.MonkeyPatch,
) -> Running:
    await _record_conversations(google.firestore, monkeypatch_module)
    port = free_port()
    env = {**BACKEND_ENV, "K_SERVICE": "liveavatar-backend", "PORT": str(port), **google.env}
    name = await asyncio.to_thread(
        _start, container_names, images.backend, env, google.volumes, google.hosts
    )
    await _wait_ready(f"http://127.0.0.1:{port}/readyz", name)
    return Running(name, port, bucket)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


async def _recordings(bucket: str, deadline: float) -> list[Any]:
    """The bucket's recordings (the test's own client), polled until one is there."""
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    loop = asyncio.get_running_loop()
    while True:
        blobs = await asyncio.to_thread(
            lambda: list(client.list_blobs(bucket, prefix="recordings/"))
        )
        if blobs or loop.time() > deadline:
            return blobs
        await asyncio.sleep(0.2)  # polling interval; the deadline bounds the wait


def _documents(dump: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{path below `documents/`: fields} of every document in the emulator's dump."""
    found: dict[str, dict[str, Any]] = {}

    def walk(collections: dict[str, Any]) -> None:
        for collection in collections.values():
            for doc in collection.get("documents", {}).values():
                if doc.get("fields") is not None:
                    found[doc["path"].split("/documents/", 1)[1]] = doc["fields"]
                walk(doc.get("collections") or {})

    for project in dump["projects"].values():
        for database in project["databases"].values():
            walk(database["collections"])
    return found


async def test_backend_serves_on_all_interfaces_as_non_root(backend: Running) -> None:
    assert listening_address(backend.port) == "0.0.0.0"  # noqa: S104 - what is checked
    outside = f"http://{_external_address()}:{backend.port}"
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(f"{outside}/healthz")).json() == {"status": "ok"}
        ready = await http.get(f"{outside}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["live"] == "reachable"
    assert ready.json()["store"] == "reachable"
    uid = await asyncio.to_thread(podman.podman, "exec", backend.name, "id", "-u")
    assert uid.stdout.strip() == APP_UID
    # `turn_detection: smart` finds and loads its models (deploy/model-packages.txt).
    probe = "from liveavatar.turn import models; print(type(models.shared()).__name__)"
    loaded = await asyncio.to_thread(podman.podman, "exec", backend.name, "python", "-c", probe)
    assert loaded.stdout.strip() == "TurnModels"


async def test_backend_holds_a_signed_in_conversation_kept_in_firestore(
    backend: Running, google: Google
) -> None:
    token = google.keys.firebase_token(sub=USER, user_id=USER, email="ada@example.com")
    hello = {"type": "hello", "version": 1, "token": token}
    log = await converse(f"ws://127.0.0.1:{backend.port}/ws", hello)
    assert_conversation(log)
    # The conversation and both turns reach Firestore (written as the session goes and at
    # its end, after the socket closed): polled, the deadline bounds the wait.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_S
    while True:
        docs = _documents(await asyncio.to_thread(google.firestore.dump))
        conversations = [p for p in docs if p.count("/") == 1 and p.startswith("conversations/")]
        turns = sorted(p for p in docs if "/turns/" in p)
        if len(conversations) == 1 and len(turns) == 2 or loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert len(conversations) == 1, sorted(docs)
    assert docs[conversations[0]]["userId"]["value"] == USER
    assert [t.rsplit("/", 1)[1] for t in turns] == ["000000", "000001"], turns
    assert docs[turns[0]]["user_text"]["value"] == "what time is it"
    # The recording, both sides in one stereo Ogg Opus file, in the bucket once the
    # session ended.
    recordings = await _recordings(backend.bucket, loop.time() + READY_S)
    assert [r.content_type for r in recordings] == ["audio/ogg"], recordings
    # A fresh handle: the listed one's media link names the host the backend used.
    fresh = recordings[0].bucket.blob(recordings[0].name)
    data = await asyncio.to_thread(fresh.download_as_bytes)
    info = sf.info(io.BytesIO(data))
    assert (info.format, info.subtype, info.channels) == ("OGG", "OPUS", 2)
    assert info.duration > 1.0
    # Google's APIs were reached with the service account's token, as on Cloud Run (Live's
    # stand-in accepts only that token; the others accept any).
    assert google.metadata.hits[TOKEN_PATH] >= 1
    # The secrets were looked up in Secret Manager (each denied: absent), never the
    # emulator's own key.
    read = {name.split("/")[3] for method, name in google.secrets.calls if "Access" in method}
    assert read == {"GEMINI_API_KEY", "ADMIN_TOKEN", "MEDIA_SIGNING_SECRET"}


async def test_dashboard_serves_its_first_page(
    images: Images, container_names: list[str], google: Google, bucket: str
) -> None:
    port = free_port()
    env = {
        **env_of(load("dashboard")),
        "K_SERVICE": "liveavatar-dashboard",
        "PORT": str(port),
        **google.env,
    }
    name = await asyncio.to_thread(
        _start, container_names, images.dashboard, env, google.volumes, google.hosts
    )
    outside = f"http://{_external_address()}:{port}"
    await _wait_ready(f"{outside}/_stcore/health", name)
    assert listening_address(port) == "0.0.0.0"  # noqa: S104 - what is checked
    async with httpx.AsyncClient(timeout=10) as http:
        health = await http.get(f"{outside}/_stcore/health")
        page = await http.get(f"{outside}/")
    assert health.text.strip() == "ok"
    assert page.status_code == 200
    assert "<title>Streamlit</title>" in page.text or "streamlit" in page.text.lower()
    uid = await asyncio.to_thread(podman.podman, "exec", name, "id", "-u")
    assert uid.stdout.strip() == APP_UID
