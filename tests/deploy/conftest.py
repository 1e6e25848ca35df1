"""Fixtures for the deploy files' tests: the repository's deploy folder and fake cloud CLIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.fake_cloud import FakeCloud, install

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.fixture
def fake_cloud(tmp_path: Path) -> FakeCloud:
    return install(tmp_path)
