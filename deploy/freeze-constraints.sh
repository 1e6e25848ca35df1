#!/usr/bin/env bash
# Writes deploy/constraints.txt: the runtime dependencies of liveavatar (not the dev extra),
# pinned at the versions the project's virtual environment has installed and tested.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
out="$root/deploy/constraints.txt"

{
  echo "# Runtime dependencies of the liveavatar package, pinned as the development venv resolves them."
  echo "# Regenerate with deploy/freeze-constraints.sh after changing dependencies in pyproject.toml."
  "$python" - <<'PY'
from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pins: dict[str, str] = {}
seen: set[tuple[str, tuple[str, ...]]] = set()


def walk(text: str, extras: tuple[str, ...] = ("",)) -> None:
    req = Requirement(text)
    if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras):
        return
    key = (canonicalize_name(req.name), tuple(sorted(req.extras)))
    if key in seen:
        return
    seen.add(key)
    try:
        dist = distribution(req.name)
    except PackageNotFoundError:
        return  # a dependency for another platform or Python
    pins[key[0]] = dist.version
    for sub in dist.requires or []:
        walk(sub, tuple(req.extras) or ("",))


for text in distribution("liveavatar").requires or []:
    if "extra ==" not in text:
        walk(text)
for name in sorted(pins):
    print(f"{name}=={pins[name]}")
PY
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
