"""The estimated cost of Live usage: a price table per model, per modality and direction.

Prices are US dollars per million tokens. The defaults below are the published paid-tier
prices of the Live API's native-audio models (Gemini 2.5 Flash native audio; the older
`gemini-2.0-flash-live-001`) and stand in for models whose prices are not in the table;
they are estimates, not a bill. `LIVE_PRICES` (settings, JSON) replaces them per model, e.g.

    LIVE_PRICES='{"gemini-3.8-live": {"input_text": 0.5, "input_audio": 3, "input_video": 3,
                  "output_text": 2, "output_audio": 12}, "*": {...}}'

where `"*"` is the price of any model not named.

How one usage report is priced (`cost_usd`):
- input text, audio and video tokens at their own prices (video covers images: frames);
- prompt tokens the report does not break down by modality (no details, or details that
  add up to less than the prompt, which the service does send) at the input audio price,
  the Live API's main and dearer input, so an estimate errs high rather than low;
- output text and audio at their own prices, and output tokens not broken down at the
  output audio price;
- thoughts at `thoughts` (default: the output text price), tool-use prompt tokens (the
  search results a grounded answer read) at `tool_use_prompt` (default: the input text
  price).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from .events import Usage

PER_TOKENS = 1_000_000
ANY_MODEL = "*"


class ModelPrices(BaseModel):
    """One model's prices, US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_text: float = Field(ge=0)
    input_audio: float = Field(ge=0)
    input_video: float = Field(ge=0)
    output_text: float = Field(ge=0)
    output_audio: float = Field(ge=0)
    thoughts: float | None = Field(default=None, ge=0)
    tool_use_prompt: float | None = Field(default=None, ge=0)


_NATIVE_AUDIO = ModelPrices(
    input_text=0.50, input_audio=3.00, input_video=3.00, output_text=2.00, output_audio=12.00
)
DEFAULT_PRICES: Mapping[str, ModelPrices] = {
    ANY_MODEL: _NATIVE_AUDIO,
    "gemini-2.5-flash-native-audio-preview-12-2025": _NATIVE_AUDIO,
    "gemini-2.5-flash-native-audio-preview-09-2025": _NATIVE_AUDIO,
    "gemini-live-2.5-flash-native-audio": _NATIVE_AUDIO,
    "gemini-2.0-flash-live-001": ModelPrices(
        input_text=0.35, input_audio=2.10, input_video=2.10, output_text=1.50, output_audio=8.50
    ),
}


def cost_usd(prices: ModelPrices, usage: Usage) -> float:
    """The estimated cost of one usage report at `prices` (see the module's rules)."""
    u = usage
    input_known = u.input_text_tokens + u.input_audio_tokens + u.input_video_tokens
    output_known = u.output_text_tokens + u.output_audio_tokens
    thoughts = prices.output_text if prices.thoughts is None else prices.thoughts
    tool_use = prices.input_text if prices.tool_use_prompt is None else prices.tool_use_prompt
    dollars = (
        u.input_text_tokens * prices.input_text
        + u.input_audio_tokens * prices.input_audio
        + u.input_video_tokens * prices.input_video
        + max(0, u.prompt_tokens - input_known) * prices.input_audio
        + u.output_text_tokens * prices.output_text
        + u.output_audio_tokens * prices.output_audio
        + max(0, u.response_tokens - output_known) * prices.output_audio
        + u.thoughts_tokens * thoughts
        + u.tool_use_prompt_tokens * tool_use
    )
    return dollars / PER_TOKENS


class PriceTable:
    """The default prices with the configured ones laid over them, model by model."""

    def __init__(self, configured: Mapping[str, ModelPrices] | None = None) -> None:
        self._prices = {**DEFAULT_PRICES, **(configured or {})}

    def for_model(self, model: str) -> ModelPrices:
        """The prices of `model` (bare id or `models/…`/Vertex path), else of any model."""
        bare = model.rsplit("/", 1)[-1]
        return self._prices.get(bare) or self._prices[ANY_MODEL]

    def cost(self, model: str, usage: Usage) -> float:
        """The estimated cost of one usage report of `model`, in US dollars."""
        return cost_usd(self.for_model(model), usage)
