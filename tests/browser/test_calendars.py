"""The calendar in the job form's schedule preview: picking a business calendar shows the
closed days the schedule's ticks are skipped (or moved) on, with the reason, and saves the
calendar with the job; the calendars page lists it with its coming days."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster

from .helpers import STEPS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_job_form_previews_a_schedule_under_a_calendar(tw: Cluster, page: Page) -> None:
    made = tw.http.post(
        "/api/calendars",
        json={"name": "br-weekdays", "weekdays": [1, 2, 3, 4, 5], "description": "office days"},
    )
    assert made.status_code == 201, made.text

    page.goto("/jobs/new")
    page.locator("#name").fill("cal.report")
    page.locator("#function").fill(STEPS)
    page.locator("#schedule").fill("0 9 * * *")
    preview = page.get_by_test_id("schedule-preview")
    expect(preview.locator("li").first).to_be_visible()
    expect(preview.get_by_test_id("preview-skipped")).to_have_count(0)  # no calendar yet
    expect(page.locator("#calendar_policy")).to_be_disabled()

    page.locator("#calendar").select_option("br-weekdays")
    expect(preview.get_by_test_id("preview-calendar")).to_contain_text("br-weekdays · skip")
    skipped = preview.get_by_test_id("preview-skipped")
    expect(skipped.first).to_contain_text("weekend")  # five fire times always cross a weekend
    expect(preview.get_by_test_id("preview-skipped-summary")).to_contain_text("closed day")

    page.locator("#calendar_policy").select_option("next_business_day")
    expect(preview.get_by_test_id("preview-calendar")).to_contain_text("next business day")
    expect(skipped.first).to_contain_text(re.compile(r"weekend; moved to \d{4}-\d{2}-\d{2}"))

    page.get_by_test_id("save-job").click()
    expect(page).to_have_url(re.compile(r"/jobs/job-"))
    job = tw.http.get("/api/jobs/cal.report").json()
    assert (job["calendar"], job["calendar_policy"]) == ("br-weekdays", "next_business_day")

    page.goto("/calendars")
    expect(page.get_by_test_id("calendar-row-br-weekdays")).to_contain_text("Mon\u2013Fri")
    detail = page.get_by_test_id("calendar-detail")
    expect(detail.get_by_test_id("calendar-jobs")).to_have_text("cal.report")
    expect(detail.get_by_test_id("calendar-days").locator("li")).to_have_count(30)
    expect(detail.get_by_test_id("calendar-days")).to_contain_text("weekend")
