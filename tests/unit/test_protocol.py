"""The protocol models: what the edge accepts from the browser and what it sends back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from liveavatar import protocol as p


@pytest.mark.parametrize("t", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * 400])
def test_ping_refuses_non_finite_t(t: str) -> None:
    with pytest.raises(ValidationError, match="finite number"):
        p.client_message.validate_json('{"type": "ping", "t": ' + t + "}")


@pytest.mark.parametrize("t", ["0", "-3", "1.5e308", "1712345678901.25"])
def test_pong_echoes_a_finite_ping_t_exactly(t: str) -> None:
    ping = p.client_message.validate_json('{"type": "ping", "t": ' + t + "}")
    assert isinstance(ping, p.Ping)
    pong = p.Pong(t=ping.t)
    assert p.Pong.model_validate_json(pong.model_dump_json()).t == float(t)


def test_pong_itself_cannot_carry_a_non_finite_t() -> None:
    # Serialised, NaN and infinity would become null: the browser could not match it.
    with pytest.raises(ValidationError):
        p.Pong(t=float("nan"))
