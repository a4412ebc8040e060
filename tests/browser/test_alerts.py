"""The Alerts page in Chromium against a real coordinator and worker: a failing run's alert
is delivered to a real local webhook receiver and listed with its status and run link; rules
and channels are shown without their secrets; a channel's test goes out from the page; a job
with an SLA carries its badges."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster, wait_until

from ..receivers import HttpReceiver
from .helpers import finish, python_job

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_alerts_page_lists_rules_channels_and_deliveries(
    tw: Cluster, page: Page, webhook_receiver: HttpReceiver
) -> None:
    hook = f"{webhook_receiver.url}/services/SECRETPATH"
    made = tw.http.post(
        "/api/alert-channels",
        json={"name": "alr-ops", "type": "webhook", "url": hook, "secret": "key"},
    )
    assert made.status_code == 201, made.text
    rule = {
        "name": "alr-failures",
        "events": ["run.failed"],
        "jobs": ["tag:alr"],
        "channels": ["alr-ops"],
    }
    assert tw.http.post("/api/alert-rules", json=rule).status_code == 201
    python_job(tw, "alr-broken", tags=["alr"], retries=0, parameters={"fail": "no data"})
    run_id = tw.trigger("alr-broken")
    finish(tw, run_id, "failed")
    wait_until(lambda: webhook_receiver.received, timeout=30, what="the alert to be delivered")

    page.goto("/alerts")
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    expect(page.get_by_test_id("alert-rule-alr-failures")).to_contain_text(
        "run.failed of tag:alr → alr-ops"
    )
    channel = page.get_by_test_id("alert-channel-alr-ops")
    expect(channel).to_contain_text("http://127.0.0.1/…")
    expect(channel).to_contain_text("signed")
    expect(page.locator("body")).not_to_contain_text("SECRETPATH")
    row = page.get_by_test_id("alerts-table").locator("tr", has_text="alr-broken")
    expect(row).to_contain_text("run.failed: alr-broken (attempt 1): RuntimeError: no data")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "sent")
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/runs/{run_id}$"))

    page.goto("/alerts")
    before = len(webhook_receiver.received)
    page.get_by_test_id("test-channel-alr-ops").click()
    expect(page.get_by_text("Sent a test to alr-ops")).to_be_visible()
    assert len(webhook_receiver.received) == before + 1
    assert webhook_receiver.received[-1].json()["event"] == "test"


def test_a_job_with_an_sla_shows_its_badges(tw: Cluster, page: Page) -> None:
    job = python_job(
        tw, "alr-sla", sla={"finish_within": 600, "max_duration": 300}, expect_every="26h"
    )
    page.goto(f"/jobs/{job['id']}")
    badges = page.get_by_test_id("sla-badge")
    expect(badges).to_have_count(3)
    expect(badges.nth(0)).to_have_text("SLA: finish within 10m")
    expect(badges.nth(1)).to_have_text("SLA: run at most 5m")
    expect(badges.nth(2)).to_have_text("Heartbeat: expects a success every 26h")
    expect(badges.nth(0)).to_have_attribute("data-tone", "success")
