"""deploy/deploy.sh against fake gcloud/firebase: the commands, their order, their flags."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveavatar.store._firestore_resume import RESUMPTIONS, TTL_FIELD
from tests.deploy.conftest import DEPLOY, ROOT
from tests.deploy.fake_cloud import FAIL_EXIT, FOUND, PROJECT_NUMBER, FakeCloud

PROJECT = "demo-avatar"
REGION = "europe-west4"
TAG = "t1"
BASE_ARGS = ["--project", PROJECT, "--region", REGION, "--tag", TAG, "--firebase-api-key", "k"]


def deploy(fake: FakeCloud, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY / "deploy.sh"), *args],
        env=fake.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def position(calls: list[list[str]], *words: str) -> int:
    """The index of the first call holding `words` in this order, side by side."""
    n = len(words)
    for i, call in enumerate(calls):
        if any(call[j : j + n] == list(words) for j in range(len(call))):
            return i
    raise AssertionError(f"no call with {words!r} in {[' '.join(c) for c in calls]}")


def flag(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def test_a_first_deploy_runs_every_step_in_order(fake_cloud: FakeCloud) -> None:
    done = deploy(fake_cloud, *BASE_ARGS)
    assert done.returncode == 0, done.stderr
    calls = fake_cloud.calls()
    order = [
        position(calls, "services", "enable"),
        position(calls, "artifacts", "repositories", "create"),
        position(calls, "iam", "service-accounts", "create"),
        position(calls, "firestore", "databases", "create"),
        position(calls, "firestore", "fields", "ttls", "update", "expiresAt"),
        position(calls, "storage", "buckets", "create"),
        position(calls, "builds", "submit"),
        position(calls, "run", "services", "replace"),
        position(calls, "liveavatar-backend", "--region"),
        position(calls, "firebase", "deploy"),
        position(calls, "logging", "metrics", "create"),
        position(calls, "monitoring", "policies", "create"),
        position(calls, "monitoring", "dashboards", "create"),
        position(calls, "monitoring", "uptime", "create"),
    ]
    assert order == sorted(order)
    replaced = [c for c in calls if c[1:4] == ["run", "services", "replace"]]
    assert [Path(c[4]).name for c in replaced] == ["backend.yaml", "dashboard.yaml"]
    for call in replaced:
        assert flag(call, "--region") == REGION and flag(call, "--project") == PROJECT
    assert "Cloud Armor: skipped" in done.stdout
    backend = yaml.safe_load((fake_cloud.kept / "backend.yaml").read_text())
    env = backend["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "TRUSTED_PROXY_HOPS", "value": "1"} in env  # Cloud Run's front end
    assert f"https://{PROJECT}.web.app/" in done.stdout


def test_every_gcloud_call_names_the_project(fake_cloud: FakeCloud) -> None:
    assert deploy(fake_cloud, *BASE_ARGS).returncode == 0
    for call in fake_cloud.calls():
        if call[0] != "gcloud":
            continue
        if call[1] == "projects":  # the project is the command's own argument
            assert call[3] == PROJECT, call
        else:
            assert "--project" in call and flag(call, "--project") == PROJECT, call


def test_the_services_run_the_images_the_build_pushes(fake_cloud: FakeCloud) -> None:
    assert deploy(fake_cloud, *BASE_ARGS).returncode == 0
    build = next(c for c in fake_cloud.calls() if c[1:3] == ["builds", "submit"])
    subs = dict(kv.split("=", 1) for kv in flag(build, "--substitutions").split(","))
    assert subs["_TAG"] == TAG and subs["_REGION"] == REGION
    assert Path(flag(build, "--config")) == DEPLOY / "cloudbuild.yaml"
    pushed = yaml.safe_load((DEPLOY / "cloudbuild.yaml").read_text())["images"]
    pushed = [
        image.replace("${_REGION}", subs["_REGION"])
        .replace("${PROJECT_ID}", PROJECT)
        .replace("${_REPO}", subs["_REPO"])
        .replace("${_TAG}", subs["_TAG"])
        for image in pushed
    ]
    for name in ("backend", "dashboard"):
        text = (fake_cloud.kept / f"{name}.yaml").read_text()
        assert not re.search(r"\$\{[A-Z_]+\}", text), f"{name}.yaml left a placeholder unfilled"
        service = yaml.safe_load(text)
        assert service["metadata"]["labels"]["cloud.googleapis.com/location"] == REGION
        image = service["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image in pushed


def test_the_page_gets_the_deploy_config_it_reads(fake_cloud: FakeCloud) -> None:
    assert deploy(fake_cloud, *BASE_ARGS).returncode == 0
    site = fake_cloud.kept / "site"
    config: dict[str, Any] = json.loads((site / "public" / "deploy-config.json").read_text())
    backend = f"liveavatar-backend-{PROJECT_NUMBER}.{REGION}.run.app"
    assert config["backendUrl"] == f"wss://{backend}/ws"
    assert (
        config["dashboardUrl"] == f"https://liveavatar-dashboard-{PROJECT_NUMBER}.{REGION}.run.app"
    )
    assert config["firebase"] == {
        "apiKey": "k",
        "authDomain": f"{PROJECT}.firebaseapp.com",
        "projectId": PROJECT,
    }
    assert config["authRequired"] is True
    assert (site / "public" / "index.html").exists()
    sdk = site / "public" / "vendor" / "firebase" / "firebase-auth.js"
    assert "gstatic" not in sdk.read_text(), "the sign-in SDK is the site's own copy"
    firebase = json.loads((site / "firebase.json").read_text())
    assert (site / firebase["firestore"]["indexes"]).exists()
    assert firebase["hosting"]["public"] == "public"
    call = next(c for c in fake_cloud.calls() if c[0] == "firebase")
    assert flag(call, "--only") == "hosting,firestore:indexes"
    assert flag(call, "--project") == PROJECT


def test_a_second_deploy_updates_what_exists(fake_cloud: FakeCloud) -> None:
    assert deploy(fake_cloud, *BASE_ARGS, FAKE_EXISTS="1").returncode == 0
    calls = fake_cloud.calls()
    lines = [" ".join(c) for c in calls]
    creates = [line for line in lines if re.search(r"\b(create|databases create)\b", line)]
    assert creates == [], creates
    assert any(c[1:4] == ["logging", "metrics", "update"] for c in calls)
    policy_updates = [c for c in calls if c[1:5] == ["alpha", "monitoring", "policies", "update"]]
    assert len(policy_updates) == len(list((DEPLOY / "monitoring" / "alerts").glob("*.json")))
    assert all(c[5] == FOUND for c in policy_updates)
    assert any(c[1:4] == ["monitoring", "dashboards", "update"] for c in calls)
    # Existing secrets are granted to both service accounts.
    granted = [c for c in calls if c[1:3] == ["secrets", "add-iam-policy-binding"]]
    assert {c[3] for c in granted} == {"GEMINI_API_KEY", "ADMIN_TOKEN"}
    assert len(granted) == 4


def _normalised(line: list[str], kept: set[str]) -> list[str]:
    out = []
    for word in line:
        word = word.replace(PROJECT_NUMBER, "PROJECT_NUMBER")
        if "/" in word and Path(word).name in kept and not word.startswith(str(ROOT)):
            word = Path(word).name  # the staging folder differs between runs
        out.append(word)
    return out


def test_dry_run_prints_every_command_and_runs_none(fake_cloud: FakeCloud) -> None:
    dry = deploy(fake_cloud, *BASE_ARGS, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert fake_cloud.calls() == []
    printed = [shlex.split(line[2:]) for line in dry.stdout.splitlines() if line.startswith("+ ")]
    assert deploy(fake_cloud, *BASE_ARGS).returncode == 0
    staged = {"backend.yaml", "dashboard.yaml", "firebase.json"}
    assert [_normalised(c, staged) for c in printed] == [
        _normalised(c, staged) for c in fake_cloud.calls()
    ]


def test_a_failing_step_stops_the_deploy_with_its_message(fake_cloud: FakeCloud) -> None:
    done = deploy(fake_cloud, *BASE_ARGS, FAKE_FAIL="builds submit")
    assert done.returncode == FAIL_EXIT
    assert "ERROR: (fake gcloud) builds submit was refused" in done.stderr
    assert "deploy.sh: step 'build the images' failed (exit 3): gcloud builds submit" in done.stderr
    assert not any(c[1:3] == ["run", "services"] for c in fake_cloud.calls())
    assert "Deployed" not in done.stdout


def test_a_failing_capture_stops_the_deploy(fake_cloud: FakeCloud) -> None:
    done = deploy(fake_cloud, *BASE_ARGS, FAKE_FAIL="projects describe")
    assert done.returncode != 0
    assert "step 'read the project number' failed" in done.stderr
    assert len(fake_cloud.calls()) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", REGION, "--firebase-api-key", "k"], "--project is required"),
        (["--project", PROJECT], "--firebase-api-key (or FIREBASE_WEB_API_KEY) is required"),
        (["--project"], "--project needs a value"),
        ([*BASE_ARGS, "--bogus"], "unknown option '--bogus'"),
    ],
)
def test_bad_arguments_stop_before_any_command(
    fake_cloud: FakeCloud, args: list[str], message: str
) -> None:
    done = deploy(fake_cloud, *args, FIREBASE_WEB_API_KEY="")
    assert done.returncode != 0
    assert message in done.stderr
    assert fake_cloud.calls() == []


def test_behind_a_load_balancer_the_armor_policy_is_applied(fake_cloud: FakeCloud) -> None:
    done = deploy(fake_cloud, *BASE_ARGS, "--lb-backend-service", "avatar-lb")
    assert done.returncode == 0, done.stderr
    calls = fake_cloud.calls()
    enable = calls[position(calls, "services", "enable")]
    assert "compute.googleapis.com" in enable
    create = position(calls, "security-policies", "create")
    imported = position(calls, "security-policies", "import")
    attach = position(calls, "backend-services", "update")
    assert create < imported < attach
    assert Path(flag(calls[imported], "--file-name")) == DEPLOY / "armor-policy.yaml"
    assert flag(calls[attach], "--security-policy") == "liveavatar-armor"
    assert calls[attach][4] == "avatar-lb"
    backend = yaml.safe_load((fake_cloud.kept / "backend.yaml").read_text())
    env = backend["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "TRUSTED_PROXY_HOPS", "value": "2"} in env  # Cloud Run's front end + the LB


def test_admins_are_granted_the_dashboard_through_iap(fake_cloud: FakeCloud) -> None:
    args = [*BASE_ARGS, "--admin", "ops@example.com"]
    assert deploy(fake_cloud, *args).returncode == 0
    calls = fake_cloud.calls()
    grant = calls[position(calls, "iap", "web", "add-iam-policy-binding")]
    assert flag(grant, "--member") == "user:ops@example.com"
    assert flag(grant, "--service") == "liveavatar-dashboard"


def test_firestore_expires_resumption_entries_by_the_field_the_store_writes(
    fake_cloud: FakeCloud,
) -> None:
    assert deploy(fake_cloud, *BASE_ARGS).returncode == 0
    calls = fake_cloud.calls()
    call = calls[position(calls, "firestore", "fields", "ttls", "update")]
    assert TTL_FIELD in call and f"--collection-group={RESUMPTIONS}" in call
    assert "--enable-ttl" in call
