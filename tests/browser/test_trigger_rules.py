"""Trigger rules in the dashboard: the DAG page draws a failure edge apart from a success
edge (dashed, its own colour, a label and a legend, and says it in words for screen
readers), and the job form lets a person choose each dependency's condition."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster, wait_until

from .helpers import STEPS, finish, python_job

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_dag_page_shows_a_failure_edge_distinctly(tw: Cluster, page: Page) -> None:
    python_job(tw, "tr.load")
    python_job(tw, "tr.report", depends_on=["tr.load"])
    python_job(tw, "tr.cleanup", depends_on=[{"job": "tr.load", "on": "failure"}])

    page.goto("/dag")
    dag = page.get_by_test_id("dag-view")
    expect(dag.get_by_test_id("dag-node-tr.cleanup")).to_be_visible()
    failure = dag.get_by_test_id("rf__edge-tr.load->tr.cleanup")
    success = dag.get_by_test_id("rf__edge-tr.load->tr.report")
    expect(failure).to_have_class(re.compile("dag-edge-failure"))
    expect(success).to_have_class(re.compile("dag-edge-success"))
    expect(failure.locator("path.react-flow__edge-path")).to_have_attribute(
        "style", re.compile("stroke-dasharray: 6(px)?,? 4")
    )
    expect(success.locator("path.react-flow__edge-path")).not_to_have_attribute(
        "style", re.compile("dasharray")
    )
    expect(failure).to_contain_text("on failure")
    expect(page.get_by_test_id("dag-legend")).to_contain_text("on failure")
    expect(dag.locator(".sr-only")).to_contain_text("tr.cleanup runs when tr.load fails")


def test_the_job_form_chooses_a_condition(tw: Cluster, page: Page) -> None:
    python_job(tw, "tr.extract")
    page.goto("/jobs/new")
    page.locator("#name").fill("tr.alert")
    page.locator("#function").fill(STEPS)
    page.locator("#depends_on").fill("tr.extract")
    page.locator("#depends_on").press("Enter")
    page.get_by_label("Condition for tr.extract").select_option("failure")
    page.get_by_test_id("save-job").click()
    expect(page).to_have_url(re.compile(r"/jobs/job-"))
    assert tw.http.get("/api/jobs/tr.alert").json()["depends_on"] == [
        {"job": "tr.extract", "on": "failure"}
    ]
    expect(page.get_by_test_id("job-depends-on")).to_contain_text("tr.extract")
    expect(page.get_by_test_id("job-depends-on")).to_contain_text("on failure")


def test_a_run_fired_by_a_failure_shows_the_failed_upstream(tw: Cluster, page: Page) -> None:
    python_job(tw, "tr.ingest", parameters={"fail": "partner API returned 503"}, retries=0)
    python_job(tw, "tr.page", depends_on=[{"job": "tr.ingest", "on": "failure"}])
    upstream = finish(tw, tw.trigger("tr.ingest"), "failed")
    fired = wait_until(
        lambda: tw.http.get("/api/runs", params={"job": "tr.page"}).json()["runs"],
        what="the on-failure dependent's run",
    )[0]
    page.goto(f"/runs/{fired['id']}")
    shown = page.get_by_test_id("run-upstream")
    expect(shown).to_contain_text("tr.ingest")
    expect(shown).to_contain_text("Failed")
    expect(shown).to_contain_text(upstream["error_summary"])
    shown.get_by_role("link", name="tr.ingest").click()
    expect(page).to_have_url(re.compile(f"/runs/{upstream['id']}"))
