"""The guard's decisions, without Streamlit: which mode, which token, which host."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from liveavatar.dashboard.guard import check_token, guard_mode, is_loopback_request
from liveavatar.errors import Forbidden
from liveavatar.settings import Settings


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings.model_validate({"data_dir": tmp_path, **values})


def test_modes(tmp_path: Path) -> None:
    assert guard_mode(_settings(tmp_path)) == "open"
    assert guard_mode(_settings(tmp_path, admin_token=SecretStr(""))) == "open"
    assert guard_mode(_settings(tmp_path, admin_token=SecretStr("t" * 20))) == "token"
    iap = _settings(tmp_path, admin_token=SecretStr("t" * 20), iap_audience="/projects/1/x")
    assert guard_mode(iap) == "iap"


def test_production_without_iap_opens_nothing(tmp_path: Path) -> None:
    prod = _settings(tmp_path, admin_token=SecretStr("t" * 20)).model_copy(
        update={"environment": "production"}
    )
    assert guard_mode(prod) == "locked"


def test_token_check() -> None:
    token = SecretStr("the-admin-token-0123")
    assert check_token(token, "the-admin-token-0123").via == "admin-token"
    for wrong in ("", "the-admin-token-012", "the-admin-token-01234", "x" * 5000):
        with pytest.raises(Forbidden):
            check_token(token, wrong)
    with pytest.raises(Forbidden):
        check_token(None, "anything")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        (None, True),
        ("localhost:8501", True),
        ("LOCALHOST", True),
        ("127.0.0.1:8501", True),
        ("127.1.2.3", True),
        ("[::1]:8501", True),
        ("[::1]", True),
        ("10.0.0.5:8501", False),
        ("dashboard.example.com", False),
        ("localhost.evil.example:8501", False),
        ("[2001:db8::1]:8501", False),
    ],
)
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    headers = {} if host is None else {"Host": host}
    assert is_loopback_request(headers) is loopback
