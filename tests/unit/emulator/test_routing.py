"""Endpoint routing and credential extraction."""

from __future__ import annotations

import pytest

from liveavatar.emulator.routing import Route, extract_credential, match_route


@pytest.mark.parametrize(
    ("path", "route"),
    [
        (
            "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent",
            Route("gemini", "v1", False),
        ),
        (
            "//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k",
            Route("gemini", "v1beta", False),
        ),
        (
            "/p//ws/google.ai.generativelanguage.v1alpha.GenerativeService."
            "BidiGenerateContentConstrained",
            Route("gemini", "v1alpha", True),
        ),
        (
            "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
            Route("vertex", "v1beta1", False),
        ),
        ("/ws/google.cloud.aiplatform.v2.LlmBidiService/BidiGenerateContent", None),
        ("/healthz", None),
    ],
)
def test_match_route(path: str, route: Route | None) -> None:
    assert match_route(path) == route


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/x?key=a", {}, "a"),
        ("/x?access_token=b", {}, "b"),
        ("/x", {"x-goog-api-key": "c"}, "c"),
        ("/x", {"authorization": "Bearer d"}, "d"),
        ("/x", {"authorization": "Token auth_tokens/e"}, "auth_tokens/e"),
        ("/x", {"authorization": "Basic f"}, None),
        ("/x", {}, None),
    ],
)
def test_extract_credential(path: str, headers: dict[str, str], expected: str | None) -> None:
    assert extract_credential(path, headers) == expected
