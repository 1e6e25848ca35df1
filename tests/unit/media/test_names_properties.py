"""Media names and signed URLs under hypothesis (profiles in tests/support/fuzz.py).

Whatever name or query a client puts in a `/media/...` URL: a name is refused or stays
inside the media folder, and a signature is valid only as issued, for its name, method
and expiry. Hand-picked cases are in test_names.py and test_signing.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveavatar.media.base import InvalidMediaName, validate_name
from liveavatar.media.local import LocalMediaStore
from tests.support.fuzz import SCALE, examples

pytestmark = pytest.mark.timeout(120 * SCALE)  # the long profile checks SCALE times more
NOW = 1_900_000_000.0
ROOT = Path("media-root").absolute()  # never created: names are only resolved

segments = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["..", ".", "", "~", ".hidden", "a", "idle", "clip.mp4", "%2e%2e", "\\"]),
)
names = st.one_of(st.text(max_size=60), st.lists(segments, max_size=6).map("/".join))


@examples(400)
@given(names)
def test_a_name_is_refused_or_stays_inside_the_folder(name: str) -> None:
    try:
        validate_name(name)
    except InvalidMediaName as err:
        assert len(str(err)) < 200  # never a long echo of what the client sent
        return
    parts = name.split("/")
    assert all(part and part[0].isalnum() and part not in (".", "..") for part in parts)
    assert (ROOT / name).resolve().is_relative_to(ROOT)


def store() -> LocalMediaStore:
    return LocalMediaStore(ROOT, secret=b"k" * 32, base_url="http://127.0.0.1:1", clock=lambda: NOW)


@examples(150)
@given(
    name=st.sampled_from(["idle/a.mp4", "talking/b.webm"]),
    other=st.sampled_from(["idle/a.mp4", "idle/a.mp5", "talking/b.webm"]),
    method=st.sampled_from(["GET", "PUT"]),
    other_method=st.sampled_from(["GET", "PUT", "get", "HEAD", "DELETE"]),
    exp=st.none() | st.text(max_size=30) | st.integers().map(str) | st.just("1" * 5000),
    sig=st.none() | st.text(max_size=70) | st.text(alphabet="0123456789abcdefABCDEF", max_size=70),
)
def test_only_a_signature_as_issued_is_valid(
    name: str, other: str, method: str, other_method: str, exp: str | None, sig: str | None
) -> None:
    media = store()
    url = asyncio.run(media.signed_url(name, ttl_s=60, method=method))  # type: ignore[arg-type]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert media.verify(name, query["exp"], query["sig"], method)
    forged_exp = exp if exp != query["exp"] else None
    assert not media.verify(name, forged_exp, query["sig"], method)
    assert not media.verify(name, query["exp"], sig if sig != query["sig"] else None, method)
    same = other == name and other_method.upper() == method
    assert media.verify(other, query["exp"], query["sig"], other_method) is same
