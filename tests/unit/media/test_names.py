"""Media names, prefixes, lifetimes and content types."""

from __future__ import annotations

import pytest

from liveavatar.media.base import (
    MAX_NAME_LENGTH,
    MAX_TTL_S,
    InvalidMediaName,
    content_type_for,
    validate_name,
    validate_prefix,
    validate_ttl,
)


@pytest.mark.parametrize(
    "name",
    ["idle/breathing.mp4", "talking/loop-01.webm", "a", "x/y/z_1.2.mp4", "README.md"],
)
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        "../secret",
        "idle/../../etc/passwd",
        "idle/./clip.mp4",
        "/etc/passwd",
        "idle\\clip.mp4",
        "..\\clip.mp4",
        "idle//clip.mp4",
        "idle/",
        ".hidden",
        "idle/.upload-tmp",
        "-rf",
        "with space.mp4",
        "clip.mp4\n",
        "naïve.mp4",
        "a\x00b",
        "x" * (MAX_NAME_LENGTH + 1),
        "/".join(["d"] * 9),
    ],
)
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidMediaName):
        validate_name(name)


def test_invalid_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid media name"):
        validate_name("../x")


@pytest.mark.parametrize("prefix", ["", "idle/", "idle", "idle/br", "a/b/"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "../", "idle//", "/idle/", "a\\b", ".x/"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidMediaName):
        validate_prefix(prefix)


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL_S + 1, True])
def test_ttl_bounds(ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        validate_ttl(ttl)
    assert validate_ttl(MAX_TTL_S) == MAX_TTL_S


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("idle/a.mp4", "video/mp4"),
        ("idle/a.MP4", "video/mp4"),
        ("talking/b.webm", "video/webm"),
        ("poster.png", "image/png"),
        ("noext", "application/octet-stream"),
        ("dir.v2/noext", "application/octet-stream"),
    ],
)
def test_content_types(name: str, expected: str) -> None:
    assert content_type_for(name) == expected
