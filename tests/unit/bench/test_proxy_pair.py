"""bench.proxy_pair's arguments: two named backend sources."""

from __future__ import annotations

import pytest
from bench.proxy_pair import parse_side


def test_a_side_names_its_source_or_this_checkout() -> None:
    assert parse_side("before=../before/src") == ("before", "../before/src")
    assert parse_side("after=.") == ("after", None)


@pytest.mark.parametrize("text", ["before", "=src", "name=", ""])
def test_a_malformed_side_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="NAME=SRC"):
        parse_side(text)
