"""The dashboard is reachable only through IAP: no deploy grants it to everyone.

The page's backend is public on purpose (its users are checked by Firebase ID tokens);
the dashboard must never be. The IAP annotation itself is checked by test_cloudrun.py,
the admins' IAP grant by test_deploy_script.py.
"""

from __future__ import annotations

from tests.deploy.fake_cloud import PROJECT_NUMBER, FakeCloud
from tests.deploy.test_deploy_script import BASE_ARGS, deploy, flag

PUBLIC = {"allUsers", "allAuthenticatedUsers"}
IAP_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-iap.iam.gserviceaccount.com"


def test_only_iap_may_invoke_the_dashboard(fake_cloud: FakeCloud) -> None:
    assert deploy(fake_cloud, *BASE_ARGS, "--admin", "ops@example.com").returncode == 0
    grants = [c for c in fake_cloud.calls() if "add-iam-policy-binding" in c]
    dashboard = [c for c in grants if "liveavatar-dashboard" in c]
    assert dashboard  # the grants below were looked at, not skipped
    assert not [c for c in dashboard if flag(c, "--member") in PUBLIC]
    invokers = [flag(c, "--member") for c in dashboard if flag(c, "--role") == "roles/run.invoker"]
    assert invokers == [IAP_AGENT]
    public = [c for c in grants if flag(c, "--member") in PUBLIC]
    assert all("liveavatar-backend" in c for c in public)
