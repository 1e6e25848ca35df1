"""What each Live model accepts in its setup, and where it is served (reference §10, §13.1).

One table for everything the backend decides per model: which setup fields both Live
clients may send (a field a model rejects is never sent: 3.8 closes with 1007 on
`thinkingConfig` or `enableAffectiveDialog`), how function tools are declared
(`behavior`), and which persona settings are refused when a persona is saved or loaded
(`check_choices`, whose message names the setting).

Where the reference says "not found" for a model, the table takes the conservative side:
a field is sent only where a source says the model takes it, except for the session-wide
fields every Live model has taken so far (`mediaResolution`, `contextWindowCompression`),
which are refused only where a source says the model has no use for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

Api = Literal["gemini", "vertex"]
"""The Gemini Developer API (`generativelanguage`, also the emulator's) or Vertex AI."""
ThinkingLevel = Literal["minimal", "low", "medium", "high"]
MediaResolution = Literal["LOW", "MEDIUM", "HIGH"]
Behavior = Literal["BLOCKING", "NON_BLOCKING"]
ProactiveAudio = Literal["always", "optional", "unsupported"]

THINKING_LEVELS: tuple[ThinkingLevel, ...] = get_args(ThinkingLevel)
_API_NAMES: dict[Api, str] = {"gemini": "the Gemini API", "vertex": "Vertex AI"}
_BOTH: frozenset[Api] = frozenset({"gemini", "vertex"})
_ANY_BEHAVIOR: frozenset[Behavior] = frozenset({"BLOCKING", "NON_BLOCKING"})


class UnsupportedSetting(ValueError):
    """A persona asks its model for something the model does not accept; the message
    names the model and the setting (for example "model gemini-3.8-live does not accept
    thinking_level")."""


@dataclass(frozen=True)
class LiveModel:
    """What one Live model accepts in `setup`.

    Attributes:
        name: the bare model id.
        apis: where it is served.
        thinking_levels: the `thinkingConfig.thinkingLevel` values it takes; empty means
            `thinkingConfig` is never sent (3.8 closes with 1007 on it; 2.5 takes only a
            budget, which personas do not set).
        thinking_required: a thinking level must be sent (the extended-thinking model
            closes the socket without one).
        affective_dialog: takes `generationConfig.enableAffectiveDialog`.
        proactive_audio: "always" (on, and `proactiveAudio: false` is an error, so it is
            never sent), "optional" (sent when the persona turns it on) or "unsupported".
        behaviors: the function `behavior`s it takes; empty: no function tools at all.
        default_behavior: what a declaration without `behavior` means.
        google_search: takes the `googleSearch` tool.
        media_resolution: takes `generationConfig.mediaResolution`.
        context_compression: takes `contextWindowCompression`.
    """

    name: str
    apis: frozenset[Api]
    thinking_levels: frozenset[ThinkingLevel] = frozenset()
    thinking_required: bool = False
    affective_dialog: bool = False
    proactive_audio: ProactiveAudio = "unsupported"
    behaviors: frozenset[Behavior] = _ANY_BEHAVIOR
    default_behavior: Behavior = "BLOCKING"
    google_search: bool = True
    media_resolution: bool = True
    context_compression: bool = True

    def behavior(self, non_blocking: bool) -> Behavior | None:
        """The `behavior` to declare for a tool that may (`non_blocking`) or may not be
        answered later; None: send no `behavior` (a sync-only model, where the field has
        no use). Explicit wherever the model takes both, since the default differs by
        model (NON_BLOCKING on 3.8, BLOCKING on 2.5)."""
        if self.behaviors == {"NON_BLOCKING"}:
            return "NON_BLOCKING"  # async only: every call is answered later
        if "NON_BLOCKING" not in self.behaviors:
            return None
        return "NON_BLOCKING" if non_blocking else "BLOCKING"


MODELS: dict[str, LiveModel] = {
    m.name: m
    for m in (
        # §10, §13.1 [D1][D8]: no thinkingConfig, no enableAffectiveDialog (both 1007),
        # proactive audio always on, NON_BLOCKING the default and BLOCKING still allowed.
        LiveModel(
            "gemini-3.8-live", _BOTH, proactive_audio="always", default_behavior="NON_BLOCKING"
        ),
        # [D2][R1][R2][R5]: a thinking level low/medium/high is required (minimal or none
        # closes the socket); tools are async only (BLOCKING is an error).
        LiveModel(
            "gemini-3.8-live-extended-thinking",
            frozenset({"gemini"}),
            thinking_levels=frozenset({"low", "medium", "high"}),
            thinking_required=True,
            behaviors=frozenset({"NON_BLOCKING"}),
            default_behavior="NON_BLOCKING",
        ),
        # [D4][D7]: thinking levels minimal..high (default minimal), sync calls only, no
        # proactive audio or affective dialog.
        LiveModel(
            "gemini-3.1-flash-live-preview",
            frozenset({"gemini"}),
            thinking_levels=frozenset(THINKING_LEVELS),
            behaviors=frozenset({"BLOCKING"}),
        ),
        # [D8][D10][D11]: affective dialog and proactive audio on request, sync and async
        # calls, a fixed token budget per frame (no mediaResolution), thinking by budget.
        LiveModel(
            "gemini-live-2.5-flash-native-audio",
            frozenset({"vertex"}),
            affective_dialog=True,
            proactive_audio="optional",
            media_resolution=False,
        ),
        LiveModel(
            "gemini-live-2.5-flash-preview-native-audio-09-2025",
            frozenset({"vertex"}),
            affective_dialog=True,
            proactive_audio="optional",
            media_resolution=False,
        ),
        # The Gemini API's native-audio previews: affective dialog and proactivity need
        # `v1alpha` [R7], and both clients speak `v1beta`, so neither is offered.
        LiveModel("gemini-2.5-flash-native-audio-preview-12-2025", frozenset({"gemini"})),
        LiveModel("gemini-2.5-flash-native-audio-preview-09-2025", frozenset({"gemini"})),
        # [D5]: audio in, translated audio out, continuously: no tools, no search, no
        # media resolution (audio input only).
        LiveModel(
            "gemini-3.5-live-translate-preview",
            frozenset({"gemini"}),
            behaviors=frozenset(),
            google_search=False,
            media_resolution=False,
        ),
    )
}


def live_model(name: str) -> LiveModel:
    """The table's entry for a model id (`models/…` and resource paths allowed).

    Raises:
        UnsupportedSetting: the model is not in the table.
    """
    bare = name.rsplit("/", 1)[-1]
    found = MODELS.get(bare)
    if found is None:
        known = ", ".join(sorted(MODELS))
        raise UnsupportedSetting(f"model {bare} is not a known Live model (known: {known})")
    return found


def check_choices(
    model: str,
    *,
    api: Api | None = None,
    thinking_level: ThinkingLevel | None = None,
    media_resolution: MediaResolution | None = None,
    affective_dialog: bool | None = None,
    proactive_audio: bool | None = None,
    context_compression: bool = False,
    tools: Sequence[str] = (),
    google_search: bool = False,
) -> LiveModel:
    """Refuse a combination of persona settings that `model` does not accept.

    None (or False, for the switches) means "the model's default": never refused. `api`
    is checked when given (the store does not know the deployment; loading does).

    Raises:
        UnsupportedSetting: naming the model and the first setting it does not accept.
    """
    m = live_model(model)

    def refuse(setting: str, why: str = "") -> UnsupportedSetting:
        return UnsupportedSetting(f"model {m.name} does not accept {setting}{why}")

    if api is not None:
        check_api(model, api)
    if thinking_level is not None and thinking_level not in m.thinking_levels:
        if not m.thinking_levels:
            raise refuse("thinking_level")
        raise refuse(f"thinking_level {thinking_level!r}", f" (it takes {_levels(m)})")
    if thinking_level is None and m.thinking_required:
        raise UnsupportedSetting(f"model {m.name} requires thinking_level ({_levels(m)})")
    if media_resolution is not None and not m.media_resolution:
        raise refuse("media_resolution")
    if affective_dialog is not None and not m.affective_dialog:
        raise refuse("affective_dialog")
    if proactive_audio is not None:
        if m.proactive_audio == "unsupported":
            raise refuse("proactive_audio")
        if m.proactive_audio == "always" and not proactive_audio:
            raise refuse("proactive_audio false", " (proactive audio is always on)")
    if context_compression and not m.context_compression:
        raise refuse("context_compression")
    if tools and not m.behaviors:
        raise refuse("tools")
    if google_search and not m.google_search:
        raise refuse("google_search")
    return m


def check_api(model: str, api: Api) -> None:
    """Refuse a model that `api` does not serve (the service would answer 1008).

    Raises:
        UnsupportedSetting: for example "model gemini-live-2.5-flash-native-audio is not
            served by the Gemini API (only by Vertex AI)".
    """
    m = live_model(model)
    if api not in m.apis:
        served = " or ".join(_API_NAMES[a] for a in sorted(m.apis))
        raise UnsupportedSetting(
            f"model {m.name} is not served by {_API_NAMES[api]} (only by {served})"
        )


def _levels(m: LiveModel) -> str:
    ordered = [level for level in THINKING_LEVELS if level in m.thinking_levels]
    return ", ".join(ordered[:-1]) + " or " + ordered[-1]
