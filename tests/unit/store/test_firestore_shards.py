"""The day's shard count keeps up with the backend's deployed scale (`_firestore_daily`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from liveavatar.store._firestore_daily import SHARDS, TURN_EVERY_S

SERVICE = Path(__file__).resolve().parents[3] / "deploy" / "cloudrun" / "backend.yaml"


def test_each_shard_takes_about_a_write_a_second_at_full_scale() -> None:
    service: dict[str, Any] = yaml.safe_load(SERVICE.read_text())
    template = service["spec"]["template"]
    instances = int(template["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"])
    conversations = instances * int(template["spec"]["containerConcurrency"])
    # Raising the service's scale without the shards would make each day's documents hot.
    assert conversations / TURN_EVERY_S <= SHARDS
