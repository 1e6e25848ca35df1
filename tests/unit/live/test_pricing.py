"""The estimated cost of a usage report: per modality and direction, per model, and the
price table from settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from liveavatar.live.events import Usage
from liveavatar.live.pricing import DEFAULT_PRICES, ModelPrices, PriceTable, cost_usd
from liveavatar.settings import Settings

# Round numbers, so each term of the sum can be checked by eye: dollars per million tokens.
P = ModelPrices(
    input_text=1, input_audio=10, input_video=100, output_text=1000, output_audio=10_000
)


def test_each_modality_at_its_own_price() -> None:
    assert cost_usd(P, Usage(prompt_tokens=1, input_text_tokens=1)) == 1e-6
    assert cost_usd(P, Usage(prompt_tokens=1, input_audio_tokens=1)) == 10e-6
    assert cost_usd(P, Usage(prompt_tokens=1, input_video_tokens=1)) == 100e-6
    assert cost_usd(P, Usage(response_tokens=1, output_text_tokens=1)) == 1000e-6
    assert cost_usd(P, Usage(response_tokens=1, output_audio_tokens=1)) == 10_000e-6
    # Thoughts at the output text price and tool-use prompts at the input text price ...
    assert cost_usd(P, Usage(thoughts_tokens=2, tool_use_prompt_tokens=3)) == pytest.approx(
        (2 * 1000 + 3 * 1) / 1e6
    )
    # ... unless the table prices them.
    own = P.model_copy(update={"thoughts": 5, "tool_use_prompt": 7})
    assert cost_usd(own, Usage(thoughts_tokens=2, tool_use_prompt_tokens=3)) == 31e-6


def test_a_whole_report() -> None:
    usage = Usage(
        prompt_tokens=400,
        response_tokens=60,
        total_tokens=575,
        input_text_tokens=100,
        input_audio_tokens=200,
        input_video_tokens=98,
        output_text_tokens=10,
        output_audio_tokens=50,
        thoughts_tokens=90,
        tool_use_prompt_tokens=25,
    )
    expected = (
        100 * 1
        + 200 * 10
        + 98 * 100
        + 2 * 10  # the 2 prompt tokens no detail names (a DOCUMENT, say): input audio
        + 10 * 1000
        + 50 * 10_000
        + 90 * 1000
        + 25 * 1
    ) / 1e6
    assert cost_usd(P, usage) == pytest.approx(expected)


def test_tokens_without_a_breakdown_are_priced_as_audio() -> None:
    # No details at all (§13.5 allows it): the estimate errs high, at the audio prices.
    assert cost_usd(P, Usage(120, 48, 168)) == pytest.approx((120 * 10 + 48 * 10_000) / 1e6)
    assert cost_usd(P, Usage()) == 0.0


def test_the_table_per_model_with_configured_prices_over_the_defaults() -> None:
    default = PriceTable()
    assert default.for_model("gemini-3.8-live") == DEFAULT_PRICES["*"]
    old = default.for_model("models/gemini-2.0-flash-live-001")
    assert old == DEFAULT_PRICES["gemini-2.0-flash-live-001"] != DEFAULT_PRICES["*"]
    vertex = "projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-live-001"
    assert default.for_model(vertex) == old
    mine = PriceTable({"gemini-3.8-live": P})
    assert mine.for_model("gemini-3.8-live") == P
    assert mine.for_model("gemini-3.1-flash-live-preview") == DEFAULT_PRICES["*"]
    assert mine.cost("gemini-3.8-live", Usage(prompt_tokens=1, input_text_tokens=1)) == 1e-6
    assert PriceTable({"*": P}).for_model("anything") == P


def test_the_default_table_matches_the_published_native_audio_prices() -> None:
    # Documented in README (settings) and live/pricing.py.
    p = DEFAULT_PRICES["*"]
    assert (p.input_text, p.input_audio, p.input_video) == (0.5, 3.0, 3.0)
    assert (p.output_text, p.output_audio) == (2.0, 12.0)
    one_minute_each_way = Usage(
        prompt_tokens=1920, response_tokens=1920, input_audio_tokens=1920, output_audio_tokens=1920
    )
    assert PriceTable().cost("gemini-3.8-live", one_minute_each_way) == pytest.approx(0.0288)


def test_prices_come_from_settings_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LIVE_PRICES",
        '{"gemini-3.8-live": {"input_text": 1, "input_audio": 10, "input_video": 100,'
        ' "output_text": 1000, "output_audio": 10000}}',
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.live_prices == {"gemini-3.8-live": P}
    monkeypatch.setenv("LIVE_PRICES", '{"gemini-3.8-live": {"input_text": -1}}')
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv("LIVE_PRICES")
    assert Settings(_env_file=None).live_prices == {}  # type: ignore[call-arg]
