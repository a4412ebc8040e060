"""Pipelines in the dashboard (issue 11, part 2): the list, a pipeline's page, and a pipeline
run as a live graph of its tasks with a Gantt of their timings, on a real coordinator + worker.

Each test names its pipelines ``pl-…`` and shares the package's clusters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster, wait_until

from .conftest import PHONE, Secured, SecuredPages
from .helpers import STEPS, horizontal_overflow, record, recorded, wait_live
from .test_secured import VIEWER_TRIGGER, expect_denied, writes_of

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def create_pipeline(tw: Cluster, **body: Any) -> dict[str, Any]:
    r = tw.http.post("/api/pipelines", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def pipeline_run(tw: Cluster, run_id: str) -> dict[str, Any]:
    r = tw.http.get(f"/api/pipeline-runs/{run_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_pipeline_run(tw: Cluster, run_id: str, *statuses: str, timeout: float = 60) -> None:
    wait_until(
        lambda: pipeline_run(tw, run_id)["status"] in statuses,
        timeout=timeout,
        what=f"pipeline run {run_id} to be {statuses}",
    )


def etl_tasks(marker: Path) -> list[dict[str, Any]]:
    """extract (slow enough to watch) → transform, which fails the first time it runs and
    succeeds the next (a marker file, whatever the attempt numbering) → load; cleanup runs on
    transform's failure, notify once cleanup is done either way."""
    flaky = (
        f'if [ -f "{marker}" ]; then echo transformed; '
        f'else touch "{marker}"; echo "bad row 7" >&2; exit 3; fi'
    )
    return [
        {
            "name": "extract",
            "type": "python",
            "function": STEPS,
            "parameters": {"lines": ["reading", "read 10 rows"], "seconds": 2},
        },
        {
            "name": "transform",
            "type": "shell",
            "command": flaky,
            "retries": 0,
            "depends_on": ["extract"],
        },
        {"name": "load", "type": "python", "function": STEPS, "depends_on": ["transform"]},
        {
            "name": "cleanup",
            "type": "python",
            "function": STEPS,
            "depends_on": [{"job": "transform", "on": "failure"}],
        },
        {
            "name": "notify",
            "type": "python",
            "function": STEPS,
            "depends_on": [{"job": "cleanup", "on": "done"}],
        },
    ]


def node(page: Page, name: str) -> Any:
    return page.get_by_test_id(f"pipeline-node-{name}")


def test_a_pipeline_run_is_a_live_graph_with_a_gantt_and_retry_failed_reruns_it(
    tw: Cluster, page: Page, tmp_path: Path
) -> None:
    created = create_pipeline(tw, name="pl-etl", tasks=etl_tasks(tmp_path / "transformed"))

    # the list: searchable, with the pipeline's schedule and its (no) last run
    page.goto("/pipelines?q=pl-etl")
    row = page.get_by_test_id("pipeline-row-pl-etl")
    expect(row).to_contain_text("5 tasks")
    expect(row).to_contain_text("never ran")
    expect(page.get_by_test_id("pipeline-enabled-pl-etl")).to_have_attribute("data-enabled", "true")
    row.get_by_role("link", name="pl-etl").click()

    # the pipeline's page: its definition as a graph, edges by condition, and the task table
    expect(page).to_have_url(re.compile(rf"/pipelines/{re.escape(created['id'])}$"))
    expect(page.get_by_test_id("pipeline-edge-transform-cleanup")).to_have_attribute(
        "data-on", "failure"
    )
    expect(page.get_by_test_id("pipeline-edge-cleanup-notify")).to_have_attribute("data-on", "done")
    expect(page.get_by_test_id("pipeline-edge-extract-transform")).to_have_attribute(
        "data-on", "success"
    )
    expect(page.get_by_test_id("pipeline-task-cleanup")).to_contain_text("transform · failure")
    wait_live(page)

    # Trigger opens the new pipeline run, and the page follows it live (no reload)
    page.get_by_test_id("pipeline-trigger-button").click()
    expect(page).to_have_url(re.compile(r"/pipeline-runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    page.evaluate("window.__same_page = true")
    record(
        page,
        extract=("pipeline-node-extract", "data-status"),
        status=("pipeline-run-status", "data-status"),
    )
    expect(node(page, "extract")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(node(page, "transform")).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(node(page, "load")).to_have_attribute("data-status", "skipped")
    expect(node(page, "load")).to_contain_text(re.compile("upstream", re.I))
    expect(page.get_by_test_id("task-reason-load")).to_contain_text(re.compile("upstream", re.I))
    expect(node(page, "cleanup")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(node(page, "notify")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(page.get_by_test_id("pipeline-run-status")).to_have_attribute("data-status", "failed")
    assert page.evaluate("window.__same_page") is True
    assert recorded(page, "extract")[-1] == "completed"
    assert "running" in recorded(page, "extract") or recorded(page, "extract")[0] == "completed"
    assert recorded(page, "status")[-1] == "failed"

    # the legend and the words for screen readers say what the graph draws
    expect(page.get_by_test_id("pipeline-legend")).to_contain_text("On failure")
    expect(page.get_by_test_id("pipeline-graph-text")).to_contain_text(
        "cleanup: Completed; runs when transform fails."
    )
    expect(page.get_by_test_id("pipeline-graph-text")).to_contain_text("load: Skipped")

    # the Gantt: a bar for each task that ran, none for the skipped one
    for name in ("extract", "transform", "cleanup", "notify"):
        bar = page.get_by_test_id(f"gantt-bar-{name}")
        expect(bar).to_be_visible()
        box = bar.bounding_box()
        assert box is not None and box["width"] >= 3, (name, box)
    expect(page.get_by_test_id("gantt-bar-load")).to_have_count(0)
    extract_box = page.get_by_test_id("gantt-bar-extract").bounding_box()
    transform_box = page.get_by_test_id("gantt-bar-transform").bounding_box()
    assert extract_box and transform_box
    # one time axis: transform starts after extract ends
    assert transform_box["x"] >= extract_box["x"] + extract_box["width"] - 1

    # a task opens its run, which links back to the pipeline run
    node(page, "transform").click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "failed")
    page.get_by_test_id("run-pipeline-link").click()
    expect(page).to_have_url(re.compile(rf"/pipeline-runs/{re.escape(run_id)}$"))

    # Retry failed: transform runs again (and succeeds now), and what waited on it follows
    page.get_by_test_id("pipeline-retry-button").click()
    expect(node(page, "transform")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(node(page, "load")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(page.get_by_test_id("pipeline-run-status")).to_have_attribute(
        "data-status", "completed", timeout=30_000
    )
    expect(page.get_by_test_id("gantt-bar-load")).to_be_visible()
    expect(page.get_by_test_id("task-earlier-transform")).to_contain_text("before the retry")
    expect(page.get_by_test_id("pipeline-retry-button")).to_have_count(0)
    assert pipeline_run(tw, run_id)["status"] == "completed"

    # the list shows the last run
    page.goto("/pipelines?q=pl-etl")
    expect(page.get_by_test_id("pipeline-last-pl-etl")).to_have_attribute(
        "data-status", "completed"
    )


def test_pause_resume_and_delete_a_pipeline_from_its_page(tw: Cluster, page: Page) -> None:
    created = create_pipeline(
        tw,
        name="pl-paused",
        schedule="0 3 * * *",
        tasks=[{"name": "only", "type": "python", "function": STEPS}],
    )
    page.goto(f"/pipelines/{created['id']}")
    expect(page.get_by_test_id("pipeline-enabled")).to_have_attribute("data-enabled", "true")
    page.get_by_test_id("pipeline-pause-button").click()
    expect(page.get_by_test_id("pipeline-enabled")).to_have_attribute("data-enabled", "false")
    assert tw.http.get(f"/api/pipelines/{created['id']}").json()["enabled"] is False
    page.get_by_test_id("pipeline-resume-button").click()
    expect(page.get_by_test_id("pipeline-enabled")).to_have_attribute("data-enabled", "true")

    # its task's job is changed only through the pipeline: its page says so and leads back
    node(page, "only").click()
    expect(page.get_by_test_id("job-pipeline-banner")).to_be_visible()
    expect(page.get_by_test_id("edit-button")).to_have_count(0)
    expect(page.get_by_test_id("delete-button")).to_have_count(0)
    expect(page.get_by_test_id("trigger-button")).to_be_visible()
    page.get_by_test_id("job-pipeline-button").click()
    expect(page).to_have_url(re.compile(rf"/pipelines/{re.escape(created['id'])}$"))
    # and the job list says which jobs are tasks of a pipeline
    page.goto("/jobs?q=pl-paused")
    page.get_by_test_id("job-pipeline-pl-paused.only").click()
    expect(page).to_have_url(re.compile(rf"/pipelines/{re.escape(created['id'])}$"))

    page.get_by_test_id("pipeline-delete-button").click()
    page.get_by_test_id("dialog-confirm").click()
    expect(page).to_have_url(re.compile(r"/pipelines$"))
    assert tw.http.get(f"/api/pipelines/{created['id']}").status_code == 404


def test_the_pipeline_pages_fit_a_phone(
    tw: Cluster, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    # a long task name, and a skip with a long reason (its condition can no longer hold)
    handler = {
        "name": "page-the-on-call-engineer-when-extract-fails",
        "type": "python",
        "function": STEPS,
        "depends_on": [
            {"job": "extract", "on": "failure"},
            {"job": "transform", "on": "success"},
        ],
        "trigger_rule": "any",
    }
    created = create_pipeline(tw, name="pl-phone", tasks=[*etl_tasks(tmp_path / "phone"), handler])
    r = tw.http.post(f"/api/pipelines/{created['id']}/trigger")
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    wait_pipeline_run(tw, run_id, "failed", "completed")

    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    pages = {
        "/pipelines?q=pl-phone": "pipeline-row-pl-phone",
        f"/pipelines/{created['id']}": f"pipeline-run-row-{run_id}",
        f"/pipeline-runs/{run_id}": "gantt-bar-extract",
    }
    for path, testid in pages.items():
        page.goto(path)
        expect(page.get_by_test_id(testid)).to_be_visible()
        overflow = horizontal_overflow(page)
        # against the phone's width: a page that overflows widens the layout viewport itself
        assert overflow["document"] <= PHONE["width"], (path, overflow)
        assert not overflow["offenders"], (path, overflow)
    expect(node(page, "transform")).to_have_attribute("data-status", "failed")
    expect(node(page, handler["name"])).to_have_attribute("data-status", "skipped")
    # the graph scrolls inside its own box, and the keyboard reaches its nodes
    node(page, "extract").focus()
    expect(node(page, "extract")).to_be_focused()


def test_a_viewer_may_watch_a_pipeline_run_but_not_trigger_or_cancel_it(
    secured: Secured, secured_pages: SecuredPages
) -> None:
    tw = secured.cluster
    # no worker has the tag: the task stays queued and the pipeline run stays active
    created = create_pipeline(
        tw,
        name="pl-sec",
        tasks=[{"name": "wait", "type": "python", "function": STEPS, "worker_tags": ["pl-nobody"]}],
    )
    r = tw.http.post(f"/api/pipelines/{created['id']}/trigger")
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    try:
        page = secured_pages(secured.tokens["viewer"])
        sent = writes_of(page)
        page.goto(f"/pipelines/{created['id']}")
        expect_denied(page.get_by_test_id("pipeline-trigger-button"), VIEWER_TRIGGER)
        expect(page.get_by_test_id("pipeline-pause-button")).to_have_attribute(
            "aria-disabled", "true"
        )
        expect(page.get_by_test_id("pipeline-delete-button")).to_have_attribute(
            "aria-disabled", "true"
        )

        page.goto(f"/pipeline-runs/{run_id}")
        expect(node(page, "wait")).to_have_attribute("data-status", re.compile("pending|queued"))
        cancel = page.get_by_test_id("pipeline-cancel-button")
        expect(cancel).to_have_attribute("aria-disabled", "true")
        expect(cancel).to_have_attribute("title", re.compile("Viewer tokens are read-only"))
        assert not sent, sent

        # an operator may
        operator = secured_pages(secured.tokens["operator"])
        operator.goto(f"/pipeline-runs/{run_id}")
        operator.get_by_test_id("pipeline-cancel-button").click()
        operator.get_by_test_id("dialog-confirm").click()
        expect(operator.get_by_test_id("pipeline-run-status")).to_have_attribute(
            "data-status", "cancelled"
        )
        expect(node(operator, "wait")).to_have_attribute(
            "data-status", re.compile("cancelled|skipped")
        )
    finally:
        tw.http.post(f"/api/pipeline-runs/{run_id}/cancel")


def test_the_keyboard_reaches_pipelines_and_their_tasks(tw: Cluster, page: Page) -> None:
    created = create_pipeline(
        tw,
        name="pl-keys",
        tasks=[
            {"name": "first", "type": "python", "function": STEPS},
            {"name": "second", "type": "python", "function": STEPS, "depends_on": ["first"]},
        ],
    )
    page.goto("/")
    expect(page.get_by_test_id("nav-pipelines")).to_be_visible()
    page.keyboard.press("g")
    page.keyboard.press("p")
    expect(page).to_have_url(re.compile(r"/pipelines$"))
    search = page.get_by_test_id("pipeline-search")
    expect(search).to_be_visible()
    expect(search).not_to_be_focused()
    page.keyboard.press("/")
    expect(search).to_be_focused()
    search.fill("pl-keys")
    expect(page.get_by_test_id("pipelines-table").locator("tbody tr")).to_have_count(1)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="pl-keys")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/pipelines/{re.escape(created['id'])}$"))

    # Enter on the trigger button opens the new run; Tab walks the graph's nodes to a task's run
    page.get_by_test_id("pipeline-trigger-button").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/pipeline-runs/[^/]+$"))
    expect(node(page, "second")).to_have_attribute("data-status", "completed", timeout=30_000)
    node(page, "first").focus()
    page.keyboard.press("Tab")
    expect(node(page, "second")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "completed")
