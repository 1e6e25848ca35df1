"""The deploy files agree with each other and with the code they describe."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import DEPLOY, ROOT

MONITORING = DEPLOY / "monitoring"


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (DEPLOY / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            found[canonicalize_name(name)] = version
    return found


def test_constraints_pin_every_runtime_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = pins()
    for text in project["dependencies"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is missing: run deploy/freeze-constraints.sh"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"{req.name}=={pinned[name]} is outside {req.specifier}: "
            "run deploy/freeze-constraints.sh"
        )
    dev = {canonicalize_name(Requirement(t).name) for t in project["optional-dependencies"]["dev"]}
    assert not {"pytest", "mypy", "ruff", "playwright"} & dev & set(pinned)


@pytest.mark.parametrize(
    ("dockerfile", "command"),
    [
        ("backend.Dockerfile", ["liveavatar", "serve"]),
        ("dashboard.Dockerfile", ["liveavatar", "dashboard"]),
    ],
)
def test_dockerfile_shape(dockerfile: str, command: list[str]) -> None:
    lines = [ln.strip() for ln in (DEPLOY / dockerfile).read_text().splitlines()]
    code = [ln for ln in lines if ln and not ln.startswith("#")]
    assert re.fullmatch(r"ARG BASE_IMAGE=python:3\.\d+(\.\d+)?-slim(-\w+)?", code[0])
    stages: dict[str, tuple[str, list[str]]] = {}  # name: (parent, lines)
    current = ""
    for ln in code[1:]:
        if ln.startswith("FROM "):
            words = ln.split()
            current = words[3] if len(words) == 4 and words[2] == "AS" else "final"
            stages[current] = (words[1], [])
        else:
            stages[current][1].append(ln)
    for parent, _ in stages.values():
        assert parent == "${BASE_IMAGE}" or parent in stages  # one pinned base everywhere
    assert len(stages) >= 2  # the build tools stay in the build stage
    final = list(stages)[-1]
    path, at = [], final
    while at in stages:  # the final image and the stages it is made from
        path.append(at)
        at = stages[at][0]
    body = [ln for name in path for ln in stages[name][1]]
    assert any("--requirement deploy/constraints.txt" in ln for ln in code)
    users = [ln for ln in body if ln.startswith("USER ")]
    assert users and users[-1] == "USER 10001:10001"
    cmd = [ln for ln in body if ln.startswith("CMD ")]
    assert cmd and json.loads(cmd[-1][4:]) == command  # exec form: signals reach the app
    assert not any("espeak" in ln for ln in body)  # the emulator's speech stays out


def test_the_image_context_holds_what_the_build_copies() -> None:
    kept = [ln for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.startswith("!")]
    assert {
        "!pyproject.toml",
        "!README.md",
        "!src/",
        "!knowledge/",
        "!deploy/constraints.txt",
    } <= set(kept)


def test_compose_runs_the_four_services_from_the_images() -> None:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"backend", "dashboard", "emulator", "frontend"}
    backend_env = services["backend"]["environment"]
    assert backend_env["LIVE_BACKEND"] == "emulator"
    assert backend_env["EMULATOR_HOST"] == "emulator"
    assert services["emulator"]["build"]["target"] == "emulator"
    for name in ("backend", "dashboard"):
        assert (ROOT / "deploy" / Path(services[name]["build"]["dockerfile"]).name).exists()


def log_metrics() -> dict[str, dict[str, Any]]:
    files = sorted((MONITORING / "metrics").glob("*.json"))
    return {f.stem: json.loads(f.read_text()) for f in files}


def test_log_metrics_are_named_as_their_files_and_match_logged_messages() -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "src" / "liveavatar").rglob("*.py"))
    metrics = log_metrics()
    assert {
        "liveavatar_sessions",
        "liveavatar_session_errors",
        "liveavatar_live_reconnects",
    } <= set(metrics)
    for name, metric in metrics.items():
        assert metric["name"] == name
        assert 'resource.labels.service_name="liveavatar-backend"' in metric["filter"]
        for message in re.findall(r'jsonPayload\.message="([^"]+)"', metric["filter"]):
            assert f'"{message}"' in sources, f"{name}: the backend no longer logs {message!r}"
        for field in re.findall(r"EXTRACT\(jsonPayload\.(\w+)\)", json.dumps(metric)):
            assert field in sources, f"{name}: no log line carries {field}"


def test_alerts_and_dashboard_use_only_metrics_that_exist() -> None:
    metrics = set(log_metrics())
    alerts = {f.stem: json.loads(f.read_text()) for f in (MONITORING / "alerts").glob("*.json")}
    assert set(alerts) == {"error-rate", "ttfa-p95", "live-reconnect-rate", "instances-near-max"}
    texts = [json.dumps(a) for a in alerts.values()]
    texts.append((MONITORING / "dashboard.json").read_text())
    for text in texts:
        for used in re.findall(r"logging_googleapis_com:user_(\w+?)(?:_bucket)?\{", text):
            assert used in metrics, f"{used} is not a log-based metric in monitoring/metrics"
    for alert in alerts.values():
        assert alert["displayName"].startswith("liveavatar: ")
        assert alert["conditions"] and alert["documentation"]["content"]
    error_rate = json.dumps(alerts["error-rate"])
    assert "> 0.05" in error_rate


def test_instances_near_max_follows_the_backends_max_scale() -> None:
    service = yaml.safe_load((DEPLOY / "cloudrun" / "backend.yaml").read_text())
    high = int(
        service["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"]
    )
    alert = json.loads((MONITORING / "alerts" / "instances-near-max.json").read_text())
    query = alert["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]
    threshold = int(query.rsplit(">=", 1)[1])
    assert high * 0.7 <= threshold < high


def test_the_armor_policy_limits_each_address_to_100_requests_a_minute() -> None:
    policy = yaml.safe_load((DEPLOY / "armor-policy.yaml").read_text())
    rule = next(r for r in policy["rules"] if r["action"] == "rate_based_ban")
    limits = rule["rateLimitOptions"]
    assert limits["enforceOnKey"] == "IP"
    assert limits["rateLimitThreshold"] == {"count": 100, "intervalSec": 60}
    assert limits["banDurationSec"] > 0
    assert policy["rules"][-1]["priority"] == 2147483647


def test_firebase_hosting_caches_and_applies_the_indexes() -> None:
    firebase = json.loads((DEPLOY / "firebase.json").read_text())
    assert (DEPLOY / firebase["firestore"]["indexes"]).exists()
    headers = {h["source"]: h["headers"] for h in firebase["hosting"]["headers"]}
    cache = {
        src: {x["key"]: x["value"] for x in hs}.get("Cache-Control") for src, hs in headers.items()
    }
    assert cache["/deploy-config.json"] == "no-store"  # written at each deploy
    assert any(v and "max-age" in v for v in cache.values())
    assert any(v == "no-cache" for v in cache.values())
