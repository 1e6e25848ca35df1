"""The deploy images are built with podman and run: the backend holds a spoken conversation,
the dashboard serves its first page.

Both Dockerfiles are built offline from a Debian base made with debootstrap and a host-made
wheelhouse (`tests/deploy/podman.py`). Each container runs as the image's own user on the
host's network with Cloud Run's shape: `K_SERVICE` set, `PORT` a free port, no `HOST`
override (so the image's default bind is what is checked).

The backend's settings are production's except where a local stand-in needs otherwise:

- Live: `LIVE_BACKEND=gemini` and a key, nothing else. Google's hostname resolves to the
  rehearsal's emulator and its certificate is trusted through the default trust store
  (`SSL_CERT_FILE`): the rehearsal's `sitecustomize` (mounted, first on `PYTHONPATH`) and
  CA bundle, below the product, as in `tests/integration/rehearsal/`.
- Store and media: `STORE_BACKEND=firestore` and `MEDIA_BACKEND=gcs` against the Firestore
  and Cloud Storage emulators through `FIRESTORE_EMULATOR_HOST` / `STORAGE_EMULATOR_HOST`.
  `ENVIRONMENT=production` refuses those two variables by design, so this run says
  `ENVIRONMENT=staging`; that is the one setting that differs from production.

When the machine cannot build or run containers (no podman, runc, debootstrap, root, mirror
or PyPI) the tests skip with the reason; a failing build or container fails them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import google.cloud.storage as storage  # type: ignore[import-untyped]
import httpx
import pytest
import pytest_asyncio
from google.auth.credentials import AnonymousCredentials

from liveavatar.emulator.config import EmulatorConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.stt import RecognizerPool
from tests.deploy import podman
from tests.integration.media.conftest import gcs_emulator  # noqa: F401 - a fixture
from tests.integration.rehearsal.conftest import GEMINI_KEY, assert_conversation, converse
from tests.integration.store.conftest import (  # noqa: F401 - a fixture
    FirestoreEmulator,
    firestore_emulator,
)
from tests.support.procs import free_port, listening_address
from tests.support.rehearsal.backend import HOSTS_VAR, SITE_DIR
from tests.support.rehearsal.pki import GEMINI_HOST, StandInPki, make_pki

pytestmark = [
    pytest.mark.slow,
    # A cold cache makes the base image and the wheelhouse first (minutes, once).
    pytest.mark.timeout(podman.BUILD_TIMEOUT_S * 2),
    pytest.mark.asyncio(loop_scope="module"),
]

BACKEND_IMAGE = "localhost/liveavatar-backend:test"
DASHBOARD_IMAGE = "localhost/liveavatar-dashboard:test"
PROJECT = "demo-test"  # the Firestore emulator's project (tests/integration/store)
APP_UID = "10001"
READY_S = 60.0
SITE_ORIGIN = "https://liveavatar.example.com"


@dataclass(frozen=True)
class Images:
    backend: str
    dashboard: str


@pytest.fixture(scope="module")
def images() -> Images:
    """Both images built from the working tree (podman's layer cache keeps a rebuild short)."""
    try:
        podman.require_tools()
        base = podman.base_image()
        podman.check_runs(base)
        wheels = podman.wheelhouse()
    except podman.Unavailable as exc:
        pytest.skip(f"containers cannot be built here: {exc}")
    podman.build("backend.Dockerfile", BACKEND_IMAGE, base=base, wheels=wheels)
    podman.build("dashboard.Dockerfile", DASHBOARD_IMAGE, base=base, wheels=wheels)
    return Images(BACKEND_IMAGE, DASHBOARD_IMAGE)


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


def _start(names: list[str], image: str, env: dict[str, str], volumes: list[str]) -> str:
    name = f"liveavatar-test-{uuid.uuid4().hex[:8]}"
    names.append(name)
    podman.run_detached(name, image, env, volumes)
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
    """The Live emulator serving Google's hostname's certificate, accepting only the key."""
    server = EmulatorServer(
        EmulatorConfig(port=0, cert_dir=pki.cert_dir, api_key=GEMINI_KEY),
        recognizers=recognizers,
    )
    await server.start()
    yield server
    await server.close()


def _bucket() -> str:
    """A fresh bucket (the client finds the emulator through STORAGE_EMULATOR_HOST)."""
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    name = f"avatar-{uuid.uuid4().hex[:12]}"
    client.create_bucket(name)
    return name


@dataclass(frozen=True)
class Running:
    name: str
    port: int


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend(
    images: Images,
    container_names: list[str],
    live: EmulatorServer,
    pki: StandInPki,
    firestore_emulator: FirestoreEmulator,  # noqa: F811 - the imported fixture
    gcs_emulator: str,  # noqa: F811 - the imported fixture
    monkeypatch_module: pytest.MonkeyPatch,
) -> Running:
    monkeypatch_module.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    bucket = await asyncio.to_thread(_bucket)
    port = free_port()
    env = {
        "ENVIRONMENT": "staging",
        "K_SERVICE": "liveavatar-backend",
        "PORT": str(port),
        "PROJECT_ID": PROJECT,
        "LIVE_BACKEND": "gemini",
        "GEMINI_API_KEY": GEMINI_KEY,
        "STORE_BACKEND": "firestore",
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
        "MEDIA_BACKEND": "gcs",
        "MEDIA_BUCKET": bucket,
        "STORAGE_EMULATOR_HOST": gcs_emulator,
        "ALLOWED_ORIGINS": json.dumps([SITE_ORIGIN]),
        # Below the product: name resolution and the default trust store.
        "PYTHONPATH": "/rehearsal/site",
        HOSTS_VAR: json.dumps({f"{GEMINI_HOST}:443": f"127.0.0.1:{live.port}"}),
        "SSL_CERT_FILE": "/rehearsal/trust-store.pem",
        "REQUESTS_CA_BUNDLE": "/rehearsal/trust-store.pem",
        "NO_GCE_CHECK": "true",
    }
    volumes = [f"{SITE_DIR}:/rehearsal/site:ro", f"{pki.bundle}:/rehearsal/trust-store.pem:ro"]
    name = await asyncio.to_thread(_start, container_names, images.backend, env, volumes)
    await _wait_ready(f"http://127.0.0.1:{port}/readyz", name)
    return Running(name, port)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


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


async def test_backend_holds_a_spoken_conversation(backend: Running) -> None:
    log = await converse(f"ws://127.0.0.1:{backend.port}/ws")
    assert_conversation(log)


async def test_dashboard_serves_its_first_page(images: Images, container_names: list[str]) -> None:
    port = free_port()
    env = {"ENVIRONMENT": "staging", "K_SERVICE": "liveavatar-dashboard", "PORT": str(port)}
    name = await asyncio.to_thread(_start, container_names, images.dashboard, env, [])
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
