"""The image tests' machine checks: what is missing is named, for the skip to say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy import podman


def test_a_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(podman.Unavailable, match="podman is not installed"):
        podman.require_tools()


def test_the_mirror_is_the_one_apt_uses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n")
    monkeypatch.setattr(podman, "SOURCES", sources)
    assert podman.mirror() == "http://mirror.example/debian"
    monkeypatch.setattr(podman, "SOURCES", tmp_path / "absent")
    assert podman.mirror() == podman.DEFAULT_MIRROR


def test_the_cache_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert podman.cache_dir() == tmp_path / "liveavatar" / "images"
    assert podman.cache_dir().is_dir()
