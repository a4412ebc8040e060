"""Bulk selection on dead letters and runs (issue 13, item 2): the UI part.

The bulk endpoints answer on the server side's branch; here the selection, "all matching this
filter" and the confirmation that states the count are checked, and nothing is sent before
the confirmation.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster

from .helpers import finish, python_job

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_dead_letters_select_a_page_and_confirm_with_the_count(tw: Cluster, page: Page) -> None:
    python_job(
        tw,
        "bulk.flaky",
        retries=0,
        on_overlap="allow",
        parameters={"fail": "partner API returned 503"},
    )
    runs = [tw.trigger("bulk.flaky") for i in range(3)]
    for run_id in runs:
        finish(tw, run_id, "failed")
    posted: list[str] = []
    page.on("request", lambda r: r.method == "POST" and posted.append(r.url))
    page.goto("/dead-letters")
    table = page.get_by_test_id("dead-letters-table")
    flaky = table.locator("tbody tr", has_text="bulk.flaky")
    expect(flaky).to_have_count(3)
    # the reason, not "exit code": the exception line
    expect(flaky.first.locator("td[data-label='Error']")).to_contain_text(
        "partner API returned 503"
    )
    expect(page.get_by_test_id("bulk-bar")).to_have_count(0)
    ids = flaky.evaluate_all("rows => rows.map(r => r.dataset.testid.replace('dead-letter-', ''))")
    page.get_by_test_id(f"select-{ids[0]}").check()
    expect(page.get_by_test_id("bulk-count")).to_have_text("1 dead letters selected")
    page.get_by_test_id(f"select-{ids[1]}").check()
    page.get_by_test_id("bulk-resolve").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Resolve 2 dead letters?")
    expect(page.get_by_test_id("bulk-note")).to_be_visible()
    page.get_by_test_id("dialog-dismiss").click()
    expect(dialog).to_be_hidden()

    page.get_by_test_id("select-page").check()
    total = table.locator("tbody tr").count()
    expect(page.get_by_test_id("bulk-count")).to_have_text(f"{total} dead letters selected")
    page.get_by_test_id("bulk-replay").click()
    expect(page.get_by_role("dialog")).to_contain_text(f"Replay {total} dead letters?")
    page.get_by_test_id("dialog-dismiss").click()
    page.get_by_test_id("select-page").uncheck()
    expect(page.get_by_test_id("bulk-bar")).to_have_count(0)
    assert not [u for u in posted if "/api/dead-letters" in u], posted


def test_runs_select_and_confirm_a_bulk_cancel_with_the_count(tw: Cluster, page: Page) -> None:
    python_job(tw, "bulk.stuck", worker_tags=["nobody"], on_overlap="allow")  # stays queued
    runs = [tw.trigger("bulk.stuck") for i in range(3)]
    posted: list[str] = []
    page.on("request", lambda r: r.method == "POST" and posted.append(r.url))
    page.goto("/runs?job=bulk.stuck")
    for run_id in runs:
        expect(page.get_by_test_id(f"run-row-{run_id}")).to_be_visible()
    page.get_by_test_id("select-page").check()
    expect(page.get_by_test_id("bulk-count")).to_have_text("3 runs selected")
    # the ticked box did not open the run
    expect(page).to_have_url(f"{tw.url}/runs?job=bulk.stuck")
    page.get_by_test_id("bulk-cancel").click()
    expect(page.get_by_role("dialog")).to_contain_text("Cancel up to 3 runs?")
    expect(page.get_by_test_id("bulk-consequence")).to_contain_text("the queued ones leave")
    page.get_by_test_id("dialog-dismiss").click()
    assert not [u for u in posted if "/api/runs" in u], posted
    for run_id in runs:
        tw.http.post(f"/api/runs/{run_id}/cancel").raise_for_status()


def test_one_dead_letter_resolved_with_a_note_shows_it(tw: Cluster, page: Page) -> None:
    python_job(tw, "notes.flaky", retries=0, parameters={"fail": "feed missing"})
    run_id = tw.trigger("notes.flaky")
    finish(tw, run_id, "failed")
    page.goto("/dead-letters")
    row = page.get_by_test_id("dead-letters-table").locator("tbody tr", has_text="notes.flaky")
    expect(row).to_have_count(1)
    dl_id = row.evaluate("r => r.dataset.testid.replace('dead-letter-', '')")
    page.get_by_test_id(f"resolve-{dl_id}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Resolve the dead letter of notes.flaky?")
    page.get_by_test_id("bulk-note").fill("the feed is back; tomorrow's run covers it")
    dialog.get_by_role("button", name="Resolve").click()
    expect(row).to_have_count(0)
    page.get_by_role("tab", name="Resolved", exact=True).click()
    expect(page.get_by_test_id(f"dl-note-{dl_id}")).to_have_text(
        "the feed is back; tomorrow's run covers it"
    )
