#!/usr/bin/env bash
# Installs the Debian packages the project needs, only when something is missing.
set -euo pipefail

need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
# Node runs the frontend's unit tests and the Firestore emulator; Chromium the e2e tests.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# libopus: the recordings' Opus encoder, loaded with ctypes.
dpkg -s libopus0 >/dev/null 2>&1 || need+=(libopus0)
# Every shell script is linted with shellcheck (tests/deploy).
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# The images are built and run with podman (runc: crun fails on hybrid cgroups) from a base
# made with debootstrap (tests/deploy/test_images.py).
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
# The reverse proxy in front of two backends in the cross-instance test (tests/e2e).
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "installing system packages: ${need[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
