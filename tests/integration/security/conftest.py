"""A Firebase certificates endpoint on 127.0.0.1 and the keys that sign its tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.auth_certs import CertsServer, SigningKeys


@pytest.fixture(scope="session")
def signing_keys() -> SigningKeys:
    return SigningKeys()


@pytest.fixture
def certs(signing_keys: SigningKeys) -> Iterator[CertsServer]:
    server = CertsServer(signing_keys).start()
    yield server
    server.stop()
