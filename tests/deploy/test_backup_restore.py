"""deploy/backup.sh and deploy/restore.sh against a fake gcloud."""

from __future__ import annotations

import re
import subprocess

from tests.deploy.conftest import DEPLOY
from tests.deploy.fake_cloud import FAIL_EXIT, FakeCloud

PROJECT = "demo-avatar"
STAMP = r"\d{8}T\d{6}Z"
BACKUP = "gs://b/20260101T000000Z"


def script(fake: FakeCloud, name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY / name), *args],
        env=fake.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_backup_exports_firestore_and_copies_media_into_one_dated_folder(
    fake_cloud: FakeCloud,
) -> None:
    done = script(fake_cloud, "backup.sh", "--project", PROJECT)
    assert done.returncode == 0, done.stderr
    calls = fake_cloud.calls()
    assert [c[1:4] for c in calls] == [
        ["storage", "buckets", "describe"],
        ["storage", "buckets", "create"],
        ["firestore", "export", calls[2][3]],
        ["storage", "rsync", f"gs://{PROJECT}-liveavatar-media"],
    ]
    folder = re.fullmatch(rf"(gs://{PROJECT}-liveavatar-backups/{STAMP})/firestore", calls[2][3])
    assert folder, calls[2]
    assert calls[3][4] == f"{folder[1]}/media" and "--recursive" in calls[3]
    assert "--database=(default)" in calls[2]
    assert all(c[c.index("--project") + 1] == PROJECT for c in calls)
    assert done.stdout.strip() == f"backup written to {folder[1]}"


def test_backup_into_an_existing_bucket_creates_nothing(fake_cloud: FakeCloud) -> None:
    done = script(
        fake_cloud, "backup.sh", "--project", PROJECT, "--backup-bucket", "bk", FAKE_EXISTS="1"
    )
    assert done.returncode == 0, done.stderr
    assert [c[1:3] for c in fake_cloud.calls()] == [
        ["storage", "buckets"],
        ["firestore", "export"],
        ["storage", "rsync"],
    ]
    assert fake_cloud.calls()[1][3].startswith("gs://bk/")


def test_backup_dry_run_prints_the_commands_and_runs_none(fake_cloud: FakeCloud) -> None:
    done = script(fake_cloud, "backup.sh", "--project", PROJECT, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert fake_cloud.calls() == []
    printed = [line for line in done.stdout.splitlines() if line.startswith("+ gcloud ")]
    assert len(printed) == 4
    assert "+ gcloud firestore export" in printed[2]


def test_a_failed_export_stops_the_backup(fake_cloud: FakeCloud) -> None:
    done = script(fake_cloud, "backup.sh", "--project", PROJECT, FAKE_FAIL="firestore export")
    assert done.returncode == FAIL_EXIT
    assert "backup.sh: step 'export Firestore' failed (exit 3)" in done.stderr
    assert not any("rsync" in c for c in fake_cloud.calls())


def test_restore_imports_firestore_then_copies_the_media_back(fake_cloud: FakeCloud) -> None:
    done = script(fake_cloud, "restore.sh", "--project", PROJECT, "--from", BACKUP + "/", "--yes")
    assert done.returncode == 0, done.stderr
    assert [c[1:] for c in fake_cloud.calls()] == [
        [
            "firestore",
            "import",
            f"{BACKUP}/firestore",
            "--database=(default)",
            "--project",
            PROJECT,
        ],
        [
            "storage",
            "rsync",
            f"{BACKUP}/media",
            f"gs://{PROJECT}-liveavatar-media",
            "--recursive",
            "--project",
            PROJECT,
        ],
    ]


def test_restore_needs_yes_or_dry_run(fake_cloud: FakeCloud) -> None:
    done = script(fake_cloud, "restore.sh", "--project", PROJECT, "--from", BACKUP)
    assert done.returncode != 0
    assert "add --yes" in done.stderr
    assert fake_cloud.calls() == []
    dry = script(fake_cloud, "restore.sh", "--project", PROJECT, "--from", BACKUP, "--dry-run")
    assert dry.returncode == 0
    assert fake_cloud.calls() == []
    assert f"+ gcloud firestore import {BACKUP}/firestore" in dry.stdout


def test_restore_refuses_a_folder_that_is_not_a_backup(fake_cloud: FakeCloud) -> None:
    done = script(fake_cloud, "restore.sh", "--project", PROJECT, "--from", "/tmp/x", "--yes")
    assert done.returncode != 0
    assert "--from must be a backup folder" in done.stderr


def test_a_failed_import_stops_the_restore(fake_cloud: FakeCloud) -> None:
    args = ["--project", PROJECT, "--from", BACKUP, "--yes"]
    done = script(fake_cloud, "restore.sh", *args, FAKE_FAIL="firestore import")
    assert done.returncode == FAIL_EXIT
    assert "restore.sh: step 'import Firestore' failed" in done.stderr
    assert len(fake_cloud.calls()) == 1
