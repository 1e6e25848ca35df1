from __future__ import annotations

import pytest

from liveavatar.dashboard.containers import (
    ContainerError,
    is_ebml,
    is_mp4,
    mp4_duration,
    webm_doctype,
    webm_duration,
)
from tests.support.videos import mp4_bytes, webm_bytes


@pytest.mark.parametrize("version", [0, 1])
def test_mp4_duration_from_the_movie_header(version: int) -> None:
    data = mp4_bytes(4.5, timescale=600, version=version)
    assert is_mp4(data)
    assert mp4_duration(data) == pytest.approx(4.5)


def test_mp4_without_movie_header_is_refused() -> None:
    data = mp4_bytes(1.0)
    cut = data[: data.index(b"moov") - 4]
    with pytest.raises(ContainerError, match="mvhd"):
        mp4_duration(cut)


def test_mp4_box_overrunning_the_file_is_refused() -> None:
    data = mp4_bytes(1.0)
    with pytest.raises(ContainerError, match="overruns"):
        mp4_duration(data[:-10])


@pytest.mark.parametrize("float_size", [4, 8])
def test_webm_duration_with_its_timestamp_scale(float_size: int) -> None:
    data = webm_bytes(2.25, scale_ns=500_000, float_size=float_size)
    assert is_ebml(data)
    assert webm_doctype(data) == "webm"
    assert webm_duration(data) == pytest.approx(2.25, rel=1e-6)


def test_webm_segment_of_unknown_size() -> None:
    assert webm_duration(webm_bytes(3.0, unknown_segment_size=True)) == pytest.approx(3.0)


def test_webm_without_duration_is_refused() -> None:
    with pytest.raises(ContainerError, match="duration"):
        webm_duration(webm_bytes(None))


def test_matroska_doctype_is_read() -> None:
    assert webm_doctype(webm_bytes(1.0, doctype="matroska")) == "matroska"


def test_garbage_is_neither() -> None:
    data = b"\x00\x00\x00\x18notavideo" + b"\x00" * 40
    assert not is_mp4(data)
    assert not is_ebml(data)
    with pytest.raises(ContainerError):
        webm_doctype(data)


def test_truncated_ebml_is_refused() -> None:
    data = webm_bytes(1.0)
    with pytest.raises(ContainerError):
        webm_duration(data[:30])
