"""Approving an investigation's proposal on the /incidents page in Chromium: it is applied
through the same recording as the /config form, and the approval and the change land on the
incident's timeline; the form helper the rehearsal reuses changes the configuration."""
from __future__ import annotations

import pytest
import requests
from config_form import apply_config_in_form, log_in
from playwright.sync_api import expect
from support.webhook_auth import WEBHOOK_TOKEN, alert, notification, post_notification

pytestmark = pytest.mark.browser

DAVINCI = "Vector - DaVinci Configurator SE"
PATH = "/api/config/tools/Vector%20-%20DaVinci%20Configurator%20SE"


def proposals_report() -> dict:
    """A report as the investigator attaches it: Markdown and its actions."""
    return {"markdown": "## Hypotheses\n\nBuild job of team powertrain (80 %)", "top_hypothesis": "build_job",
            "first_action": "raise-commit",
            "actions": [
                {"priority": 1, "id": "raise-commit", "title": "Raise commit to 10", "hypothesis": "build_job",
                 "why": "demand peaked at 20 seats", "risk": "monthly cost rises",
                 "request": {"method": "PUT", "path": PATH, "json": {"commit": 10, "max_overage": 10}}},
                {"priority": 2, "id": "force-return", "title": "Free the seats of hog", "hypothesis": "hoarding",
                 "why": "hog holds 2 seats", "risk": "hog loses work",
                 "request": {"method": "POST", "path": "/api/users/hog/force-return"}}]}


def test_approving_a_proposal_applies_and_records_it(page, server_factory, admin_token):
    """raise-commit approved on the page: commit 10, overage 10, approval + change on the timeline."""
    server = server_factory(env={"ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN})
    url, admin = server.url, {"Authorization": f"Bearer {admin_token}"}
    for i in range(8):
        requests.post(url + "/api/borrow", json={"tool": DAVINCI, "user": "hog" if i < 2 else f"u{i}"}, timeout=10)
    post_notification(url, notification("firing", alert("HighOverageRate", "firing", "h1", tool=DAVINCI)))
    [incident] = requests.get(url + "/api/incidents", timeout=10).json()
    patched = requests.patch(f"{url}/api/incidents/{incident['id']}", headers=admin, timeout=10,
                             json={"events": [{"kind": "investigation_done", "detail": "top: build job"}],
                                   "report": proposals_report()})
    assert patched.status_code == 200, patched.text

    page.goto(f"{url}/incidents/{incident['id']}")
    expect(page.locator("#approve-login")).to_be_visible()        # no button before the login
    expect(page.locator("form.approve")).to_have_count(0)
    log_in(page, url, admin_token, name="presenter")
    page.goto(f"{url}/incidents/{incident['id']}")
    item = page.locator('li[data-action="raise-commit"]')
    with page.expect_navigation():
        item.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("Approved Raise commit to 10")
    expect(page.locator('li[data-action="raise-commit"] .approved')).to_contain_text("commit 5 → 10, max_overage 15 → 10")
    expect(page.locator('li[data-action="raise-commit"] form')).to_have_count(0)

    tool = requests.get(f"{url}/api/tools/{DAVINCI}", timeout=10).json()
    assert (tool["commit"], tool["max_overage"]) == (10, 10)
    record = requests.get(f"{url}/api/incidents/{incident['id']}", timeout=10).json()
    events = [(e["kind"], e["by"], e["detail"]) for e in record["timeline"]]
    assert ("action_approved", "presenter", "raise-commit: Raise commit to 10 (approved on the incident page)") in events
    assert ("action_applied", "presenter", "configuration changed: commit 5 → 10, max_overage 15 → 10 "
                                           "(incident page)") in events
    assert [a["action"] for a in record["approvals"]] == ["raise-commit"]
    metrics = requests.get(url + "/metrics", timeout=10).text
    assert f'license_config_changes_total{{tool="{DAVINCI}"}} 2.0' in metrics

    with page.expect_navigation():                                   # the second proposal: force-return
        page.locator('li[data-action="force-return"] button').click()
    expect(page.locator('li[data-action="force-return"] .approved')).to_contain_text("freed 2 seats of hog")
    assert requests.get(url + "/api/borrows?user=hog", timeout=10).json() == []
    kinds = [e["kind"] for e in page.locator(".timeline li").evaluate_all("l => l.map(i => ({kind: i.dataset.kind}))")]
    assert kinds.count("action_approved") == 2 and kinds.count("action_applied") == 2, kinds


def test_form_helper_changes_the_configuration(page, server, admin_token):
    """apply_config_in_form: the guide's fix through the real form."""
    apply_config_in_form(page, server.url, admin_token, DAVINCI, commit=10, max_overage=10)
    tool = requests.get(f"{server.url}/api/tools/{DAVINCI}", timeout=10).json()
    assert (tool["commit"], tool["max_overage"]) == (10, 10)
