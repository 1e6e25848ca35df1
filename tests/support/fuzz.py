"""Hypothesis profiles for the hostile-input suites, chosen by `LIVEAVATAR_FUZZ`.

`ci` (the default, what `make test` runs) is derandomized: every run checks the same few
thousand cases, so main stays reproducible. `long` draws fresh random cases, many times
more of them (docs/PERFORMANCE.md, "Hostile input"); a failure prints the example and a
blob that `@reproduce_failure` replays.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("LIVEAVATAR_FUZZ", "ci")
SCALE = {"ci": 1, "long": 25}[PROFILE]

for name in ("ci", "long"):
    settings.register_profile(
        name,
        derandomize=name == "ci",
        deadline=None,  # the machine is shared: a slow example is not a failing one
        database=None,  # nothing written into the checkout
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
settings.load_profile(PROFILE)


def examples(n: int) -> settings:
    """Settings for a test that checks `n` cases in `make test` (more in the long run)."""
    return settings(max_examples=n * SCALE)
