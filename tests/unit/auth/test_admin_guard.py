"""The dashboard's local admin-token guard and how the guard is chosen."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from liveavatar.auth import (
    AdminIdentity,
    AdminTokenGuard,
    IapVerifier,
    dashboard_guard,
    generate_admin_token,
)
from liveavatar.errors import CLOSE_FORBIDDEN, Forbidden
from tests.support.auth_certs import IAP_AUDIENCE, FakeAuthSettings

TOKEN = "s3cr3t-admin-token"
ADMIN = AdminIdentity(email=None, via="admin-token")


@pytest.fixture
def guard() -> AdminTokenGuard:
    return AdminTokenGuard(SecretStr(TOKEN))


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"x-admin-token": TOKEN}, None),
        ({"X-Admin-Token": TOKEN}, None),
        ({"Authorization": f"Bearer {TOKEN}"}, None),
        ({}, {"admin_token": TOKEN}),
    ],
)
def test_the_admin_token_opens_the_dashboard(
    guard: AdminTokenGuard, headers: dict[str, str], query: dict[str, str] | None
) -> None:
    assert guard(headers, query) == ADMIN


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, None),
        ({"x-admin-token": "wrong"}, None),
        ({"x-admin-token": TOKEN + "x"}, None),
        ({"Authorization": f"Basic {TOKEN}"}, None),
        ({}, {"admin_token": ""}),
        ({"x-admin-token": "ü" * 5000}, None),
    ],
)
def test_anything_else_is_forbidden(
    guard: AdminTokenGuard, headers: dict[str, str], query: dict[str, str] | None
) -> None:
    with pytest.raises(Forbidden) as info:
        guard(headers, query)
    assert info.value.fault.close_code == CLOSE_FORBIDDEN
    assert TOKEN not in str(info.value)


def test_without_a_configured_token_the_dashboard_is_locked() -> None:
    with pytest.raises(Forbidden, match="ADMIN_TOKEN"):
        AdminTokenGuard(None)({"x-admin-token": ""})


def test_guard_choice() -> None:
    local = dashboard_guard(FakeAuthSettings(admin_token=SecretStr(TOKEN)))
    assert isinstance(local, AdminTokenGuard)
    assert isinstance(dashboard_guard(FakeAuthSettings(iap_audience=IAP_AUDIENCE)), IapVerifier)
    with pytest.raises(ValueError, match="IAP_AUDIENCE"):
        dashboard_guard(FakeAuthSettings(environment="production", admin_token=SecretStr(TOKEN)))


def test_generated_tokens_are_long_and_distinct() -> None:
    a, b = generate_admin_token(), generate_admin_token()
    assert a != b and len(a.get_secret_value()) >= 40
    assert a.get_secret_value() not in repr(a)
