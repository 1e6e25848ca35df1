"""What each emulated model accepts in `setup`, refused the way the service refuses it.

The rules follow the protocol reference (§10, §13.1), independently of the backend's own
table (`live/models.py`), so that the one checks the other. Where the reference knows the
service's reason it is used (`Unknown name "enable_affective_dialog" at 'setup'`);
where it knows only that the socket closes (3.8 with `thinkingConfig`, the
extended-thinking model without a thinking level or with a BLOCKING tool, 3.1 with
`proactivity`) the close is 1007 with the service's generic `Request contains an invalid
argument.`. Where the reference says nothing (a NON_BLOCKING tool on 3.1, a thinking
budget on 3.1, `mediaResolution` where frames have a fixed budget) the emulator refuses
the same way, as an emulator choice (docs/EMULATOR.md): a client that sends such a field
learns so here rather than from the service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from .errors import (
    INVALID_ARGUMENT,
    POLICY,
    REASON_INVALID_ARGUMENT,
    LiveCloseError,
    model_not_found,
)
from .outbound import Flavor
from .routing import Route
from .wire import Setup

logger = logging.getLogger(__name__)

Thinking = Literal["none", "level", "budget", "any"]
# "removed": the field no longer exists for the model (refused as an unknown name);
# "v1alpha": taken only on the Gemini API's `v1alpha` endpoint (2.5 native-audio previews).
Feature = Literal["always", "yes", "no", "removed", "v1alpha"]
Behavior = Literal["BLOCKING", "NON_BLOCKING"]

_BOTH: frozenset[Flavor] = frozenset({"gemini", "vertex"})
_GEMINI: frozenset[Flavor] = frozenset({"gemini"})
_VERTEX: frozenset[Flavor] = frozenset({"vertex"})
_ANY: frozenset[Behavior] = frozenset({"BLOCKING", "NON_BLOCKING"})
_LEVELS = frozenset({"MINIMAL", "LOW", "MEDIUM", "HIGH"})
UNKNOWN_AFFECTIVE = (
    "Invalid JSON payload received. Unknown name \"enable_affective_dialog\" at 'setup': "
    "Cannot find field."
)


@dataclass(frozen=True)
class ModelRules:
    """One model's setup rules and the behaviour that follows from them.

    Attributes:
        flavors: the APIs that serve it (elsewhere: 1008, not found).
        thinking: what `thinkingConfig` may carry: nothing at all ("none"), a level, a
            budget, or either ("any").
        levels: the thinking levels taken (upper case); `level_required`: one must come.
        affective_dialog, proactive_audio: whether `enableAffectiveDialog` and
            `proactivity` are taken ("always": proactive audio is on and `false` is refused).
        behaviors: the function `behavior`s taken; empty: no function tools at all.
        default_behavior: a declaration without `behavior`.
        google_search, media_resolution: whether those fields are taken.
        interaction_status: turn completes carry `interactionStatus` (extended thinking).
        avatar: `VIDEO` responses with `avatarConfig` on Vertex (reference §14.1).
    """

    flavors: frozenset[Flavor] = _BOTH
    thinking: Thinking = "any"
    levels: frozenset[str] = _LEVELS
    level_required: bool = False
    affective_dialog: Feature = "yes"
    proactive_audio: Feature = "yes"
    behaviors: frozenset[Behavior] = _ANY
    default_behavior: Behavior = "BLOCKING"
    google_search: bool = True
    media_resolution: bool = True
    interaction_status: bool = False
    avatar: bool = False

    def non_blocking(self, behavior: str | None) -> bool:
        """Whether a function declared with `behavior` runs NON_BLOCKING on this model."""
        declared = (behavior or self.default_behavior).upper()
        return declared == "NON_BLOCKING"


_3_8 = ModelRules(
    thinking="none",
    affective_dialog="removed",
    proactive_audio="always",
    default_behavior="NON_BLOCKING",
    avatar=True,
)
_2_5_VERTEX = ModelRules(flavors=_VERTEX, thinking="budget", media_resolution=False)
_2_5_PREVIEW = ModelRules(
    flavors=_GEMINI, thinking="budget", affective_dialog="v1alpha", proactive_audio="v1alpha"
)

MODELS: dict[str, ModelRules] = {
    "gemini-3.8-live": _3_8,
    "gemini-3.8-live-preview": _3_8,
    "gemini-3.8-live-extended-thinking": ModelRules(
        flavors=_GEMINI,
        thinking="any",  # a budget alone is reported to work too (R2); both at once is not
        levels=frozenset({"LOW", "MEDIUM", "HIGH"}),
        level_required=True,
        affective_dialog="no",
        proactive_audio="no",
        behaviors=frozenset({"NON_BLOCKING"}),
        default_behavior="NON_BLOCKING",
        interaction_status=True,
    ),
    "gemini-3.1-flash-live-preview": ModelRules(
        flavors=_GEMINI,
        thinking="level",
        affective_dialog="no",
        proactive_audio="no",
        behaviors=frozenset({"BLOCKING"}),
    ),
    "gemini-live-2.5-flash-native-audio": _2_5_VERTEX,
    "gemini-live-2.5-flash-preview-native-audio-09-2025": _2_5_VERTEX,
    "gemini-2.5-flash-native-audio-preview-12-2025": _2_5_PREVIEW,
    "gemini-2.5-flash-native-audio-preview-09-2025": _2_5_PREVIEW,
    "gemini-3.5-live-translate-preview": ModelRules(
        flavors=_GEMINI,
        thinking="none",
        affective_dialog="no",
        proactive_audio="no",
        behaviors=frozenset(),
        google_search=False,
        media_resolution=False,
    ),
    # Retired names still seen in old samples: accepted with everything, as before.
    "gemini-2.0-flash-live-001": ModelRules(),
    "gemini-2.0-flash-exp": ModelRules(),
    "gemini-live-2.5-flash-preview": ModelRules(),
}


_UNLISTED = ModelRules(avatar=True)  # a model a test server was configured with: no rules


def check_setup(setup: Setup, model: str, route: Route) -> ModelRules:
    """The rules of `model` (a bare id the server serves), once `setup` passes them.

    Raises:
        LiveCloseError: 1008 when the route's API does not serve the model, 1007 for a
            field the model does not accept.
    """
    rules = MODELS.get(model, _UNLISTED)
    if route.flavor not in rules.flavors:
        raise LiveCloseError(POLICY, model_not_found(setup.model, route.api_version))
    problem = _problem(setup, rules, route)
    if problem is not None:
        why, reason = problem
        logger.info("setup refused", extra={"model": model, "why": why})
        raise LiveCloseError(INVALID_ARGUMENT, reason)
    return rules


def _allowed(feature: Feature, route: Route) -> bool:
    return feature in ("always", "yes") or (feature == "v1alpha" and route.api_version == "v1alpha")


def _problem(setup: Setup, rules: ModelRules, route: Route) -> tuple[str, str] | None:
    """What in `setup` the model refuses (for the log) and the close reason, if anything."""
    generic = REASON_INVALID_ARGUMENT
    gc = setup.generation_config
    tc = gc.thinking_config if gc else None
    level = (tc.thinking_level or "").upper() if tc else ""
    budget = tc.thinking_budget if tc else None
    if tc is not None and rules.thinking == "none":
        return "thinkingConfig", generic
    if level and (rules.thinking not in ("level", "any") or level not in rules.levels):
        return f"thinkingLevel {level}", generic
    if budget is not None and (rules.thinking not in ("budget", "any") or level):
        return "thinkingBudget", generic
    if rules.level_required and not level and budget is None:
        return "no thinkingLevel", generic
    if (
        gc
        and gc.enable_affective_dialog is not None
        and not _allowed(rules.affective_dialog, route)
    ):
        reason = UNKNOWN_AFFECTIVE if rules.affective_dialog == "removed" else generic
        return "enableAffectiveDialog", reason
    pro = setup.proactivity
    if pro is not None and not _allowed(rules.proactive_audio, route):
        return "proactivity", generic
    if pro is not None and rules.proactive_audio == "always" and pro.proactive_audio is False:
        return "proactiveAudio false", generic
    if gc and gc.media_resolution and not rules.media_resolution:
        return "mediaResolution", generic
    for tool in setup.tools or []:
        if tool.google_search is not None and not rules.google_search:
            return "googleSearch", generic
        for fd in tool.function_declarations or []:
            if not rules.behaviors:
                return "functionDeclarations", generic
            behavior = (fd.behavior or rules.default_behavior).upper()
            if behavior not in rules.behaviors:
                return f"behavior {behavior}", generic
    return None
