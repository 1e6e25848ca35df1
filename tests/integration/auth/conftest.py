"""A real certs server on 127.0.0.1 with test keys, per test (so hit counts start at zero)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.auth_certs import CertsServer, SigningKeys


@pytest.fixture(scope="session")
def signing_keys() -> SigningKeys:
    """RSA keys take a moment to generate: one set for the whole run."""
    return SigningKeys()


@pytest.fixture
def certs(signing_keys: SigningKeys) -> Iterator[CertsServer]:
    server = CertsServer(signing_keys).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_auth_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real verification path is under test: the emulator switch must be off."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
