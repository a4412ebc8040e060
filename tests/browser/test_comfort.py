"""Keyboard shortcuts, clickable rows, log search and download (issue 13, items 7 and 9)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster

from .helpers import expect_job_rows, finish, python_job

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_shortcuts_go_to_pages_move_between_rows_and_list_themselves(
    tw: Cluster, page: Page
) -> None:
    for name in ("kb.alpha", "kb.beta", "kb.gamma"):
        python_job(tw, name)
    page.goto("/")
    expect(page.get_by_test_id("nav-overview")).to_be_visible()
    page.keyboard.press("g")
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(r"/jobs$"))
    search = page.get_by_test_id("job-search")
    expect(search).to_be_visible()
    expect(search).not_to_be_focused()
    # / puts the cursor in the search field
    page.keyboard.press("/")
    expect(search).to_be_focused()
    search.fill("kb.")
    expect_job_rows(page, ["kb.alpha", "kb.beta", "kb.gamma"])
    page.locator("body").click(position={"x": 5, "y": 5})  # leave the field: keys are shortcuts
    page.keyboard.press("j")
    first = page.get_by_test_id("jobs-table").locator("tbody tr a.row-link")
    expect(first.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(first.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(first.nth(0)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/jobs/job-"))

    page.keyboard.press("?")
    help_dialog = page.get_by_test_id("shortcuts-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Go to runs")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("g")
    page.keyboard.press("r")
    expect(page).to_have_url(re.compile(r"/runs$"))


def test_typing_in_a_field_is_not_a_shortcut(tw: Cluster, page: Page) -> None:
    page.goto("/jobs")
    search = page.get_by_test_id("job-search")
    search.click()
    page.keyboard.type("gr")
    expect(search).to_have_value("gr")
    expect(page).to_have_url(re.compile(r"/jobs"))


def test_a_click_anywhere_on_a_row_opens_it(tw: Cluster, page: Page) -> None:
    python_job(tw, "rowclick.job")
    run_id = tw.trigger("rowclick.job")
    finish(tw, run_id, "completed")
    page.goto("/runs?job=rowclick.job")
    row = page.get_by_test_id(f"run-row-{run_id}")
    row.locator("td[data-label='Duration']").click()
    expect(page).to_have_url(re.compile(f"/runs/{run_id}$"))
    page.goto("/jobs?q=rowclick.")
    page.get_by_test_id("job-row-rowclick.job").locator("td[data-label='Tags']").click()
    expect(page).to_have_url(re.compile(r"/jobs/job-"))


def test_the_log_is_searchable_and_downloadable(tw: Cluster, page: Page) -> None:
    lines = ["connecting", "WARN slow partner", "rows: 10", "warn retrying", "done"]
    python_job(tw, "logsearch.job", parameters={"lines": lines})
    run_id = tw.trigger("logsearch.job")
    finish(tw, run_id, "completed")
    page.goto(f"/runs/{run_id}")
    log = page.get_by_test_id("log-stdout")
    expect(log).to_contain_text("rows: 10")
    page.get_by_test_id("log-stdout-search").fill("warn")
    expect(page.get_by_test_id("log-stdout-matches")).to_have_text("2 lines")
    expect(log).not_to_contain_text("rows: 10")
    expect(log.locator("mark")).to_have_text(["WARN", "warn"])
    page.get_by_test_id("log-stdout-search").fill("")
    expect(log).to_contain_text("rows: 10")

    with page.expect_download() as dl:
        page.get_by_test_id("log-stdout-download").click()
    download = dl.value
    assert download.suggested_filename == f"{run_id}-attempt-1-stdout.log"
    path = download.path()
    assert path is not None
    with open(path, encoding="utf-8") as f:
        assert f.read().splitlines() == lines


def test_a_queued_run_does_not_say_attempt_0(tw: Cluster, page: Page) -> None:
    python_job(tw, "attempt0.job", worker_tags=["nobody"])
    run_id = tw.trigger("attempt0.job")
    page.goto("/runs?job=attempt0.job")
    cell = page.get_by_test_id(f"run-row-{run_id}").locator("td[data-label='Attempt']")
    expect(cell).to_have_text("not yet")
    page.goto(f"/runs/{run_id}")
    expect(page.locator(".page-subtitle")).to_contain_text("not tried yet")
    expect(page.locator(".page-subtitle")).not_to_contain_text("attempt 0")
    tw.http.post(f"/api/runs/{run_id}/cancel").raise_for_status()


def test_run_presets_stay_relative_in_the_url_and_the_page_size_sticks(
    tw: Cluster, page: Page
) -> None:
    python_job(tw, "preset.job")
    run_id = tw.trigger("preset.job")
    finish(tw, run_id, "completed")
    asked: list[str] = []
    page.on("request", lambda r: "/api/runs?" in r.url and asked.append(r.url))
    page.goto("/runs?job=preset.job")
    expect(page.get_by_test_id(f"run-row-{run_id}")).to_be_visible()
    page.get_by_test_id("range--24h").click()
    expect(page).to_have_url(re.compile(r"since=-24h"))
    expect(page.get_by_test_id("range--24h")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id(f"run-row-{run_id}")).to_be_visible()
    # the server got an absolute time, computed when asking
    assert any(re.search(r"since=20\d\d-", u) for u in asked), asked
    page.reload()
    expect(page).to_have_url(re.compile(r"since=-24h"))
    expect(page.get_by_test_id(f"run-row-{run_id}")).to_be_visible()

    page.get_by_test_id("range-yesterday").click()
    expect(page).to_have_url(
        re.compile(r"since=yesterday&until=today|until=today.*since=yesterday")
    )
    expect(page.get_by_test_id("runs-table")).to_have_count(0)  # nothing ran yesterday
    page.get_by_test_id("range-today").click()
    expect(page.get_by_test_id(f"run-row-{run_id}")).to_be_visible()

    page.get_by_test_id("page-size").select_option("25")
    expect(page).to_have_url(re.compile(r"limit=25"))
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some((e) => /limit=25/.test(e.name))"
    )


def test_times_say_their_zone_and_the_zone_switch_is_remembered(tw: Cluster, page: Page) -> None:
    # the browser runs in UTC (see open_context); the job fires at 07:30 New York time
    python_job(tw, "tz.nyc", schedule="30 7 * * *", timezone="America/New_York")
    job_id = tw.http.get("/api/jobs/tz.nyc").json()["id"]
    page.goto(f"/jobs/{job_id}")
    at = page.get_by_test_id("job-next-run-at")
    expect(at).to_contain_text("UTC")
    expect(at).to_contain_text("12:30:00")
    page.get_by_test_id("zone-switch").select_option("job")
    expect(at).to_contain_text("07:30:00")
    expect(at).to_contain_text("EST")
    page.reload()
    expect(page.get_by_test_id("zone-switch")).to_have_value("job")
    expect(page.get_by_test_id("job-next-run-at")).to_contain_text("EST")

    # the schedule preview shows the job's zone and the reader's
    page.goto(f"/jobs/{job_id}/edit")
    preview = page.get_by_test_id("schedule-preview")
    expect(preview.locator("li").first).to_contain_text("EST")
    expect(preview.get_by_test_id("preview-local").first).to_contain_text("UTC")
    page.get_by_test_id("zone-switch").select_option("local")


def test_runs_sort_by_duration_asks_the_server_and_stays_in_the_url(
    tw: Cluster, page: Page
) -> None:
    page.goto("/runs")
    order = page.get_by_test_id("run-sort")
    expect(order).to_have_value("")
    with page.expect_request(
        lambda r: "/api/runs?" in r.url and "sort=duration" in r.url and "order=desc" in r.url
    ):
        order.select_option(label="Longest")
    expect(page).to_have_url(re.compile(r"sort=duration.*order=desc|order=desc.*sort=duration"))
    page.reload()
    expect(page.get_by_test_id("run-sort")).to_have_value("duration:desc")
