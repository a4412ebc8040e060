"""Accessibility (issue 13, item 8): axe-core over every page in both themes, keyboard use.

axe-core comes from the dashboard's npm dev dependencies and is injected by Playwright; a
serious or critical violation on any page, light or dark, fails the test with axe's own words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster, wait_until

from .conftest import PHONE
from .helpers import STEPS, finish, python_job

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Path(__file__).resolve().parents[2] / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): run `npm ci --prefix dashboard`", pytrace=False)
    if not page.evaluate("typeof axe !== 'undefined'"):  # once per page load
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, { resultTypes: ['violations'] })
            return r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 4).map((n) => ({
                    target: n.target.join(' '), summary: n.failureSummary,
                })),
            }))
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING]


@pytest.fixture(scope="module")
def a11y_data(tw: Cluster) -> dict[str, str]:
    """A job with a completed run, one with a failed run (a dead letter), one depending on it."""
    python_job(tw, "a11y.extract", schedule="0 3 1 * *", tags=["a11y"])
    python_job(tw, "a11y.load", depends_on=["a11y.extract"], tags=["a11y"])
    python_job(tw, "a11y.broken", retries=0, parameters={"fail": "partner API returned 503"})
    ok = tw.trigger("a11y.extract")
    bad = tw.trigger("a11y.broken")
    finish(tw, ok, "completed")
    finish(tw, bad, "failed")
    job = tw.http.get("/api/jobs/a11y.extract").json()
    pipeline, prun = a11y_pipeline(tw)
    return {"job": job["id"], "run": ok, "failed": bad, "pipeline": pipeline, "prun": prun}


def a11y_pipeline(tw: Cluster) -> tuple[str, str]:
    """A pipeline run that failed: a completed, a failed, a skipped and an on-failure task."""
    tasks = [
        {"name": "extract", "type": "python", "function": STEPS},
        {
            "name": "load",
            "type": "python",
            "function": STEPS,
            "retries": 0,
            "parameters": {"fail": "warehouse refused the connection"},
            "depends_on": ["extract"],
        },
        {"name": "report", "type": "python", "function": STEPS, "depends_on": ["load"]},
        {
            "name": "alert",
            "type": "python",
            "function": STEPS,
            "depends_on": [{"job": "load", "on": "failure"}],
        },
    ]
    made = tw.http.post("/api/pipelines", json={"name": "a11y-etl", "tasks": tasks})
    assert made.status_code == 201, made.text
    run = tw.http.post(f"/api/pipelines/{made.json()['id']}/trigger")
    assert run.status_code == 201, run.text
    prun = run.json()["id"]
    wait_until(
        lambda: tw.http.get(f"/api/pipeline-runs/{prun}").json()["status"] == "failed",
        timeout=60,
        what=f"pipeline run {prun} to fail",
    )
    return str(made.json()["id"]), str(prun)


PAGES: list[tuple[str, Callable[[dict[str, str]], str], str]] = [
    ("overview", lambda d: "/", "nav-overview"),
    ("jobs", lambda d: "/jobs?q=a11y", "jobs-table"),
    ("job", lambda d: f"/jobs/{d['job']}", "recent-runs"),
    ("new job", lambda d: "/jobs/new", "job-form"),
    ("runs", lambda d: "/runs?job=a11y.extract", "runs-table"),
    ("run", lambda d: f"/runs/{d['run']}", "run-status"),
    ("failed run", lambda d: f"/runs/{d['failed']}", "run-status"),
    ("dependencies", lambda d: "/dag", "nav-dag"),
    ("workers", lambda d: "/workers", "nav-workers"),
    ("calendars", lambda d: "/calendars", "nav-calendars"),
    ("dead letters", lambda d: "/dead-letters", "nav-dead-letters"),
    ("pipelines", lambda d: "/pipelines?q=a11y", "pipelines-table"),
    ("pipeline", lambda d: f"/pipelines/{d['pipeline']}", "pipeline-runs-table"),
    ("pipeline run", lambda d: f"/pipeline-runs/{d['prun']}", "gantt-bar-load"),
    ("audit", lambda d: "/audit", "nav-audit"),
    ("alerts", lambda d: "/alerts", "nav-alerts"),
    ("not found", lambda d: "/no-such-page", "nav-overview"),
]


def test_no_serious_axe_violation_on_any_page_in_either_theme(
    new_page: Callable[..., Page], a11y_data: dict[str, str]
) -> None:
    """Each page is loaded once and judged in both themes: the system's scheme switches and the
    page follows it. Every other page loads in the dark theme, so both themes are also judged
    as first drawn."""
    page = new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    for i, (name, path, ready) in enumerate(PAGES):
        schemes = ("light", "dark") if i % 2 == 0 else ("dark", "light")
        page.emulate_media(color_scheme=schemes[0], reduced_motion="reduce")
        page.goto(path(a11y_data))
        expect(page.get_by_test_id(ready).first).to_be_visible()
        for scheme in schemes:
            page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
            expect(page.locator("html")).to_have_attribute("data-theme", scheme)
            # settled: charts loaded and no table refreshing, so axe judges the whole page
            expect(page.locator(".chart-loading, [aria-busy='true']")).to_have_count(0)
            violations = axe_violations(page)
            if violations:
                found[f"{name} ({scheme} theme)"] = violations
    assert not found, json.dumps(found, indent=1)


def test_a_failed_submit_moves_focus_to_the_first_invalid_field(page: Page) -> None:
    page.goto("/jobs/new")
    page.get_by_test_id("save-job").click()
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-invalid", "true")
    # the first one in the form's order: the name comes before everything else
    first = page.locator("[data-testid=job-form] [aria-invalid=true]").first
    assert focused.evaluate("el => el.id") == first.evaluate("el => el.id")
    assert first.evaluate("el => el.id"), "the invalid field has an id its label points at"


def test_notifications_are_a_named_region(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("region", name="Notifications")).to_be_attached()


def test_the_theme_toggle_switches_and_is_remembered(new_page: Callable[..., Page]) -> None:
    page = new_page(color_scheme="light")
    page.goto("/jobs")
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    page.get_by_role("button", name="Switch to dark theme").click()
    expect(html).to_have_attribute("data-theme", "dark")
    page.wait_for_function(
        "getComputedStyle(document.documentElement).backgroundColor === 'rgb(11, 17, 32)'"
    )
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    page.get_by_role("button", name="Switch to light theme").click()
    expect(html).to_have_attribute("data-theme", "light")


def test_the_top_bar_controls_fit_on_a_phone(new_page: Callable[..., Page]) -> None:
    page = new_page(PHONE, is_mobile=True, has_touch=True)
    page.goto("/jobs")
    expect(page.get_by_test_id("theme-toggle")).to_be_visible()
    for testid in ("nav-toggle", "live-toggle", "bell", "theme-toggle"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box is not None, testid
        # against the phone's width: a page that overflows widens the layout viewport itself
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (testid, box)
