"""The dashboard in production behind IAP, over Firestore and Cloud Storage behind Google's names.

Production refuses a store of one machine (SQLite) and the emulator variables, so these
tests give the dashboard exactly production's settings and put the stand-ins below it,
behind Google's real hostnames, with certificates from the rehearsal's test CA that the
default trust stores hold:

- `firestore.googleapis.com`: the Firestore emulator serving gRPC over TLS, reached through
  `grpc_proxy` (a CONNECT proxy that knows only it; so no port 443 and no root needed);
- `storage.googleapis.com`: the Cloud Storage emulator behind a TLS front;
- `www.gstatic.com`: IAP's signing keys;
- credentials from Cloud Run's metadata server stand-in.

The app runs in a process of its own (`_iap_app.py`), started with those variables, as
Cloud Run starts it: google-auth and gRPC read theirs once, so pytest's own process cannot
be pointed at the stand-ins after the fact.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import google.cloud.storage as storage  # type: ignore[import-untyped]
import pytest
from google.auth.credentials import AnonymousCredentials

from tests.integration.dashboard._iap_app import ASSERTIONS_VAR, PAGES
from tests.integration.media.conftest import gcs_emulator  # noqa: F401 - a fixture
from tests.support.auth_certs import IAP_AUDIENCE, PROJECT, CertsServer, SigningKeys
from tests.support.procs import free_port
from tests.support.rehearsal.backend import REPO, production_env
from tests.support.rehearsal.connect_proxy import ConnectProxy
from tests.support.rehearsal.firestore_tls import TlsFirestore, tls_firestore
from tests.support.rehearsal.metadata_server import MetadataServer
from tests.support.rehearsal.pki import (
    FIRESTORE_HOST,
    IAP_KEYS_HOST,
    STORAGE_HOST,
    StandInPki,
    make_pki,
)
from tests.support.rehearsal.tls_front import TlsFront

pytestmark = pytest.mark.slow

TITLES = {
    "overview": "Overview",
    "conversations": "Conversations",
    "persona": "Persona",
    "users": "Users",
    "media": "Media",
}
_RUN_TIMEOUT_S = 240
TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"  # noqa: S105


def _bucket(emulator: str) -> str:
    """A fresh bucket, made by the test's own client straight at the emulator."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORAGE_EMULATOR_HOST", emulator)
        client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
        name = f"avatar-{uuid.uuid4().hex[:12]}"
        client.create_bucket(name)
    return name


def _documents(dump: dict[str, Any]) -> set[str]:
    """The path below `documents/` of every document in the emulator's dump."""
    found: set[str] = set()

    def walk(collections: dict[str, Any]) -> None:
        for collection in collections.values():
            for doc in collection.get("documents", {}).values():
                if doc.get("fields") is not None:
                    found.add(doc["path"].split("/documents/", 1)[1])
                walk(doc.get("collections") or {})

    for project in dump["projects"].values():
        for database in project["databases"].values():
            walk(database["collections"])
    return found


class Run:
    """What the dashboard process showed, and what the stand-ins saw of it."""

    def __init__(
        self, report: dict[str, Any], firestore: TlsFirestore, metadata: MetadataServer
    ) -> None:
        self.report = report
        self.documents = _documents(firestore.dump())
        self.token_requests = metadata.hits[TOKEN_PATH]


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory,
    gcs_emulator: str,  # noqa: F811 - the imported fixture
) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("iap-production")
    pki: StandInPki = make_pki(root)
    keys = SigningKeys()
    assertions = {
        "no_header": None,
        "other_service": keys.iap_token(audience="/projects/1/apps/someone-else"),
        "valid": keys.iap_token(audience=IAP_AUDIENCE, email="accounts.google.com:ops@example.com"),
    }
    gcs = urlsplit(gcs_emulator)
    with contextlib.ExitStack() as stack:
        log = root / "firestore.log"
        firestore = stack.enter_context(tls_firestore(pki, log, on_443=False))
        proxy = stack.enter_context(
            ConnectProxy({f"{FIRESTORE_HOST}:443": (firestore.address, firestore.port)})
        )
        front = stack.enter_context(TlsFront(pki, (gcs.hostname or "127.0.0.1", gcs.port or 80)))
        metadata = stack.enter_context(
            MetadataServer(
                project=PROJECT,
                email=f"liveavatar-dashboard@{PROJECT}.iam.gserviceaccount.com",
                access_token="ya29.stand-in-access-token",  # noqa: S106
            )
        )
        certs = CertsServer(keys, tls=(pki.cert, pki.key)).start()
        stack.callback(certs.stop)
        report = _run_app(
            root, pki, proxy, metadata, assertions,
            hosts={STORAGE_HOST: front.port, IAP_KEYS_HOST: certs.port},
            bucket=_bucket(gcs_emulator),
        )  # fmt: skip
        assert proxy.refused == []  # the process asked gRPC for no other name
        yield Run(report, firestore, metadata)


def _run_app(
    root: Path,
    pki: StandInPki,
    proxy: ConnectProxy,
    metadata: MetadataServer,
    assertions: dict[str, str | None],
    *,
    hosts: dict[str, int],
    bucket: str,
) -> dict[str, Any]:
    production = {
        "ENVIRONMENT": "production",
        "PROJECT_ID": PROJECT,
        "LIVE_BACKEND": "gemini",
        "GEMINI_API_KEY": "AIzaSyD-realistic-looking-key-0001",
        "AUTH_ENABLED": "true",
        "IAP_AUDIENCE": IAP_AUDIENCE,
        "STORE_BACKEND": "firestore",
        "MEDIA_BACKEND": "gcs",
        "MEDIA_BUCKET": bucket,
        "QUOTA_MINUTES_PER_DAY": "30",
        # Nothing listens there: the Overview says the backend is not reachable.
        "BACKEND_URL": f"ws://127.0.0.1:{free_port()}",
    }
    workdir = root / "work"
    workdir.mkdir()
    env = production_env(production, pki=pki, hosts=hosts, port=free_port(), data_dir=workdir)
    del env["NO_GCE_CHECK"]  # credentials come from the metadata server, as on Cloud Run
    env |= {
        "PYTHONPATH": os.pathsep.join([env["PYTHONPATH"], str(REPO / "src"), str(REPO)]),
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(pki.bundle),
        "grpc_proxy": proxy.url,
        "GCE_METADATA_HOST": metadata.host,
        "GCE_METADATA_IP": metadata.host,
        ASSERTIONS_VAR: json.dumps(assertions),
    }
    done = subprocess.run(  # noqa: S603 - this interpreter with the test's module
        [sys.executable, "-m", "tests.integration.dashboard._iap_app"],
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT_S,
        env=env,
        cwd=workdir,  # an empty folder: no developer's .env
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_the_store_is_firestore_reached_with_the_service_accounts_token(run: Run) -> None:
    # Seeded through the product's own client, over TLS to firestore.googleapis.com.
    assert {"conversations/conv-a1", "conversations/conv-c1", "users/dave"} <= run.documents
    assert run.token_requests >= 1


def test_production_refuses_without_the_iap_header(run: Run) -> None:
    shown = run.report["no_header"]
    assert shown["titles"] == []
    assert not shown["token_form"]  # no token form in production
    assert "Identity-Aware Proxy" in shown["errors"][0]


def test_production_refuses_an_assertion_for_another_service(run: Run) -> None:
    shown = run.report["other_service"]
    assert shown["titles"] == []
    assert shown["errors"][0].startswith("Refused:")


def test_production_accepts_a_valid_iap_assertion(run: Run) -> None:
    shown = run.report["valid"]
    assert shown["exception"] == []
    assert shown["titles"] == ["Overview"]
    assert "Signed in as ops@example.com" in shown["captions"]
    # Where the Persona and Media pages read who saved a version.
    assert shown["admin_email"] == "ops@example.com"
    assert set(shown["pages"]) == set(PAGES)
    for page, title in TITLES.items():
        assert shown["pages"][page]["exception"] == [], page
        assert shown["pages"][page]["titles"] == [title], page
    # Read back from Firestore: the four seeded conversations, the four users.
    assert shown["pages"]["conversations"]["table_rows"] == [4]
    assert shown["pages"]["users"]["table_rows"] == [4]
