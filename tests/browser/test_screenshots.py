"""Screenshots of every main page for docs/screenshots/, from a cluster with realistic data.

The data (names, schedules, outputs, outcomes) is fixed so the pictures only differ in ids and
times. A test run writes them to a temporary folder (it checks every page draws); `make
screenshots` sets TICKWORK_SCREENSHOT_DIR to docs/screenshots to refresh the README's.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.harness import Cluster, wait_until

from ..receivers import start_http_receiver
from .conftest import DESKTOP, PHONE, browser_cluster, open_context, watch_errors
from .helpers import STEPS, finish, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OUT = Path(
    os.environ.get("TICKWORK_SCREENSHOT_DIR")
    or Path(tempfile.gettempdir()) / f"tickwork-screenshots-{os.getpid()}"
)


def steps(*lines: str, seconds: float = 0.3) -> dict[str, Any]:
    return {"lines": list(lines), "seconds": seconds}


LOAD_LINES = [
    "loading staging.orders into warehouse.fact_orders",
    "partition 2026-11-22: 181,140 rows",
    "merge: 179,872 updated, 1,268 inserted",
    "analyze warehouse.fact_orders",
    "refreshed materialized view mv_daily_revenue (0.8s)",
    "load complete",
]

# name -> job body (python jobs run bjobs.steps unless a type is given)
JOBS: dict[str, dict[str, Any]] = {
    # a DAG of five: extract -> transform -> load -> (revenue report, dashboards)
    "etl.extract-orders": {
        "schedule": "0 1 * * *",
        "tags": ["etl", "nightly"],
        "parameters": steps(
            "connecting to orders-db (replica)",
            "extracting partition 2026-11-22",
            "wrote 182,344 rows to s3://lake/raw/orders/2026-11-22/",
        ),
    },
    "etl.transform-orders": {
        "depends_on": ["etl.extract-orders"],
        "tags": ["etl"],
        "parameters": steps(
            "reading s3://lake/raw/orders/2026-11-22/",
            "normalising currencies (EUR, USD, GBP)",
            "dropped 1,204 duplicate rows",
            "wrote 181,140 rows to staging.orders",
        ),
    },
    "etl.load-warehouse": {
        "depends_on": ["etl.transform-orders"],
        "tags": ["etl", "warehouse"],
        "retries": 0,
        "timeout": 1800,
        "description": "Merges the day's orders into the warehouse fact table.",
        "parameters": steps(*LOAD_LINES, seconds=0.6),
    },
    "reports.daily-revenue": {
        "depends_on": ["etl.load-warehouse"],
        "tags": ["reports", "finance"],
        "parameters": steps("revenue 2026-11-22: EUR 1,284,310.55", "sent to finance@"),
    },
    "etl.refresh-dashboards": {
        "depends_on": ["etl.load-warehouse"],
        "tags": ["etl", "bi"],
        "parameters": steps("refreshed 14 dashboards"),
    },
    # the rest of a plausible estate
    "billing.invoice-run": {"schedule": "0 2 * * *", "tags": ["billing"], "retries": 2},
    "billing.dunning-emails": {"schedule": "0 9 * * 1-5", "tags": ["billing", "email"]},
    "billing.usage-sync": {"schedule": "every 15m", "tags": ["billing"]},
    "payments.reconcile-stripe": {
        "schedule": "every 1h",
        "tags": ["payments"],
        "retries": 0,
        "on_overlap": "queue",
    },
    "payments.payout-sellers": {"schedule": "0 6 * * 1", "tags": ["payments"]},
    "etl.nightly-load": {"schedule": "30 0 * * *", "tags": ["etl", "nightly"]},
    "search.reindex-products": {"schedule": "every 6h", "tags": ["search"]},
    "search.sync-synonyms": {"schedule": "15 3 * * *", "tags": ["search"]},
    "cache.warm-homepage": {"schedule": "every 10m", "tags": ["cache", "web"]},
    "ml.retrain-recommender": {"schedule": "0 4 * * 0", "tags": ["ml"], "enabled": False},
    "ml.score-churn": {"schedule": "0 5 * * *", "tags": ["ml"]},
    "ops.backup-postgres": {
        "type": "shell",
        "command": 'echo "pg_dump: dumping database orders"; echo "backup: 2.4 GB uploaded"',
        "schedule": "0 3 * * *",
        "tags": ["ops"],
    },
    "ops.rotate-logs": {"type": "shell", "command": "echo rotated", "schedule": "0 0 * * *"},
    "ops.vacuum-analyze": {
        "type": "shell",
        "command": "echo vacuumed",
        "schedule": "0 4 * * 6",
        "tags": ["ops"],
        "enabled": False,
    },
    "notifications.daily-digest": {"schedule": "0 7 * * *", "tags": ["email"]},
    "notifications.push-reminders": {"schedule": "every 30m", "tags": ["mobile"]},
    "inventory.sync-suppliers": {
        "schedule": "every 2h",
        "tags": ["inventory"],
        "retries": 1,
        "retry_delay": 0.2,
    },
    "crm.sync-hubspot": {"schedule": "every 1h", "tags": ["crm"]},
    "web.generate-sitemap": {"schedule": "0 5 * * *", "tags": ["web", "seo"]},
    "web.purge-cdn": {"type": "shell", "command": "echo purged 1,812 paths", "tags": ["web"]},
    "hooks.status-page-ping": {
        "type": "http",
        "request": {"url": "https://status.example.com/api/ping", "method": "GET"},
        "schedule": "every 5m",
        "tags": ["monitoring"],
    },
    "security.scan-dependencies": {"schedule": "0 8 * * 1", "tags": ["security"]},
    "reports.weekly-kpis": {"schedule": "0 8 * * 1", "tags": ["reports"]},
    "analytics.sessionize-events": {"schedule": "every 1h", "tags": ["analytics"]},
    "analytics.export-bigquery": {"schedule": "2030-01-01T00:00:00Z", "tags": ["analytics"]},
}


def create_all(tw: Cluster) -> None:
    for name, body in JOBS.items():
        if body.get("type", "python") == "python":
            body = {"type": "python", "function": STEPS, **body}
        tw.create_job(name=name, **body)


def count_runs(tw: Cluster, job: str, status: str) -> int:
    r = tw.http.get("/api/runs", params={"job": job, "status": status, "limit": 1})
    return int(r.json()["total"])


def wait_runs(tw: Cluster, job: str, status: str, n: int) -> None:
    wait_until(lambda: count_runs(tw, job, status) >= n, what=f"{n} {status} runs of {job}")


def make_history(tw: Cluster) -> tuple[str, str]:
    """Runs with fixed outcomes; returns (a completed load run, a long running reindex run)."""
    # one nightly cascade through the DAG, side by side with the rest of a day's runs
    completed = [
        tw.trigger("etl.extract-orders"),
        tw.trigger("billing.invoice-run", parameters=steps("412 invoices issued")),
        tw.trigger("crm.sync-hubspot", parameters=steps("synced 96 contacts")),
        tw.trigger("cache.warm-homepage", parameters=steps("warmed 24 pages")),
        tw.trigger("ops.backup-postgres"),
        tw.trigger("web.purge-cdn"),
        tw.trigger("ml.score-churn", parameters=steps("scored 48,210 customers", seconds=0.8)),
        tw.trigger("payments.reconcile-stripe", parameters=steps("matched 3,118 payouts")),
    ]
    failed = [
        tw.trigger(
            "payments.reconcile-stripe",
            parameters={"fail": "stripe.error.RateLimitError: Too many requests (429)"},
        ),
        tw.trigger(
            "inventory.sync-suppliers",
            parameters={"fail": "ConnectionError: supplier feed timed out after 30s"},
        ),
    ]
    for run_id in completed:
        finish(tw, run_id, "completed")
    for run_id in failed:
        finish(tw, run_id, "failed")
    wait_runs(tw, "reports.daily-revenue", "completed", 1)  # the end of the cascade
    wait_runs(tw, "etl.refresh-dashboards", "completed", 1)
    # then the load job on its own, one run after the other: varied durations, one failure
    loads = []
    for seconds, fail in [(0.9, None), (1.4, "could not serialize access (40001)"), (0.6, None)]:
        params = {**steps(*LOAD_LINES, seconds=seconds), **({"fail": fail} if fail else {})}
        loads.append(tw.trigger("etl.load-warehouse", parameters=params))
        finish(tw, loads[-1], "failed" if fail else "completed")
    # each successful load ran the two jobs after it: 3 runs each, counting the cascade
    wait_runs(tw, "reports.daily-revenue", "completed", 3)
    wait_runs(tw, "etl.refresh-dashboards", "completed", 3)
    long = tw.trigger(
        "search.reindex-products",
        parameters=steps("reindexing 1,048,576 products", "batch 1/64", seconds=60),
    )
    finish(tw, long, "running")
    return loads[-1], long


@pytest.fixture(scope="module")
def demo(pg_template: str) -> Iterator[tuple[Cluster, str, str]]:
    receiver, server = start_http_receiver()
    with browser_cluster(pg_template) as tw:
        alerting(tw, receiver.url)
        create_all(tw)
        load_run, long_run = make_history(tw)
        yield tw, load_run, long_run
        tw.http.post(f"/api/runs/{long_run}/cancel")
        finish(tw, long_run, "cancelled")  # so the worker stops at once
    server.shutdown()
    server.server_close()


def alerting(tw: Cluster, url: str) -> None:
    """A signed webhook, a Slack channel and two rules."""
    for channel in (
        {"name": "ops-webhook", "type": "webhook", "url": f"{url}/hook", "secret": "k"},
        {"name": "data-team", "type": "slack", "url": f"{url}/slack"},
    ):
        assert tw.http.post("/api/alert-channels", json=channel).status_code == 201
    for rule in (
        {"name": "failures", "events": ["run.failed"], "channels": ["ops-webhook", "data-team"]},
        {
            "name": "etl-slas",
            "events": ["sla.breached", "job.silent"],
            "jobs": ["tag:etl"],
            "channels": ["data-team"],
        },
    ):
        assert tw.http.post("/api/alert-rules", json=rule).status_code == 201


SHOTS = ["overview", "jobs", "job-detail", "runs", "run-detail", "workers", "dead-letters", "dag"]
SHOTS += ["alerts"]
SHOTS += ["mobile-jobs", "dark-job-detail", "dark-runs"]
# and "pipeline-run", drawn by test_screenshot_of_a_pipeline_run


def shoot(page: Page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover effects
    page.screenshot(path=OUT / f"{name}.png", animations="disabled", caret="hide")


def test_screenshots_of_every_main_page(browser: Browser, demo: tuple[Cluster, str, str]) -> None:
    tw, load_run, long_run = demo
    context = open_context(browser, tw.url, DESKTOP)
    page = context.new_page()
    errors = [watch_errors(page)]
    try:
        page.goto("/")
        wait_live(page)
        expect(page.get_by_test_id("stat-jobs")).to_have_text(str(len(JOBS)))
        expect(page.get_by_test_id("stat-running")).to_have_text("1")
        expect(page.get_by_test_id(f"running-run-{long_run}")).to_be_visible()
        expect(
            page.get_by_test_id("success-rate-chart").locator(".recharts-bar-rectangle").first
        ).to_be_visible()
        shoot(page, "overview")

        page.goto("/jobs")
        expect(page.get_by_test_id("job-row-analytics.export-bigquery")).to_be_visible()
        expect(page.get_by_test_id("job-status-search.reindex-products")).to_have_text("Running")
        shoot(page, "jobs")

        page.goto("/jobs/etl.load-warehouse")
        expect(
            page.get_by_test_id("duration-chart").locator(".recharts-bar-rectangle")
        ).to_have_count(4)
        expect(page.get_by_test_id("recent-runs").locator("tbody tr")).to_have_count(4)
        expect(page.get_by_test_id("dag-node-reports.daily-revenue")).to_be_visible()
        shoot(page, "job-detail")

        page.goto("/runs")
        expect(page.get_by_test_id(f"run-row-{long_run}")).to_be_visible()
        shoot(page, "runs")

        page.goto(f"/runs/{load_run}")
        expect(page.get_by_test_id("log-stdout")).to_contain_text("load complete")
        expect(page.get_by_test_id("run-status")).to_have_text("Completed")
        shoot(page, "run-detail")

        page.goto("/workers")
        expect(page.get_by_test_id("workers-list")).to_contain_text("search.reindex-products")
        shoot(page, "workers")

        page.goto("/dead-letters")
        expect(page.get_by_test_id("dead-letters-table").locator("tbody tr")).to_have_count(3)
        shoot(page, "dead-letters")

        page.goto("/alerts")
        sent = page.get_by_test_id("alerts-table").locator("[data-status=sent]")
        expect(sent).to_have_count(6)  # three failed runs, two channels each
        shoot(page, "alerts")

        page.goto("/dag")
        for name in ["etl.extract-orders", "reports.daily-revenue", "etl.refresh-dashboards"]:
            expect(page.get_by_test_id(f"dag-node-{name}")).to_be_in_viewport()
        shoot(page, "dag")
    finally:
        context.close()

    dark = open_context(browser, tw.url, DESKTOP, color_scheme="dark")
    page = dark.new_page()
    errors.append(watch_errors(page))
    try:
        page.goto("/jobs/etl.load-warehouse")
        wait_live(page)
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        expect(
            page.get_by_test_id("duration-chart").locator(".recharts-bar-rectangle")
        ).to_have_count(4)
        expect(page.get_by_test_id("dag-node-reports.daily-revenue")).to_be_visible()
        shoot(page, "dark-job-detail")
        page.goto("/runs")
        expect(page.get_by_test_id(f"run-row-{long_run}")).to_be_visible()
        shoot(page, "dark-runs")
    finally:
        dark.close()

    phone = open_context(browser, tw.url, PHONE, is_mobile=True, has_touch=True)
    page = phone.new_page()
    errors.append(watch_errors(page))
    try:
        page.goto("/jobs")
        wait_live(page)
        expect(page.get_by_test_id("job-row-billing.invoice-run")).to_be_visible()
        shoot(page, "mobile-jobs")
    finally:
        phone.close()
    assert not [e for errs in errors for e in errs], errors
    assert {p.name for p in OUT.glob("*.png")} >= {f"{n}.png" for n in SHOTS}


# a pipeline whose load failed: the on-failure task ran, the report was skipped
PIPELINE: dict[str, Any] = {
    "name": "warehouse-sync",
    "schedule": "0 1 * * *",
    "description": "Nightly orders into the warehouse, with a page to on-call when the load fails.",
    "tasks": [
        {
            "name": "extract",
            "type": "python",
            "function": STEPS,
            "parameters": steps("extracting partition 2026-11-22", "182,344 rows", seconds=1.2),
        },
        {
            "name": "transform",
            "type": "python",
            "function": STEPS,
            "parameters": steps("normalising currencies", seconds=0.8),
            "depends_on": ["extract"],
        },
        {
            "name": "load",
            "type": "python",
            "function": STEPS,
            "retries": 0,
            "parameters": {**steps("merging", seconds=1.5), "fail": "deadlock detected"},
            "depends_on": ["transform"],
        },
        {"name": "report", "type": "python", "function": STEPS, "depends_on": ["load"]},
        {
            "name": "page-oncall",
            "type": "python",
            "function": STEPS,
            "parameters": steps("paged the data on-call"),
            "depends_on": [{"job": "load", "on": "failure"}],
        },
        {
            "name": "cleanup",
            "type": "python",
            "function": STEPS,
            "parameters": steps("dropped staging tables", seconds=0.4),
            "depends_on": [{"job": "load", "on": "done"}],
        },
    ],
}


def test_screenshot_of_a_pipeline_run(browser: Browser, demo: tuple[Cluster, str, str]) -> None:
    tw = demo[0]
    made = tw.http.post("/api/pipelines", json=PIPELINE)
    assert made.status_code == 201, made.text
    run = tw.http.post(f"/api/pipelines/{made.json()['id']}/trigger")
    assert run.status_code == 201, run.text
    prun = run.json()["id"]
    wait_until(
        lambda: tw.http.get(f"/api/pipeline-runs/{prun}").json()["status"] == "failed",
        timeout=60,
        what=f"pipeline run {prun} to fail",
    )
    context = open_context(browser, tw.url, DESKTOP)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"/pipeline-runs/{prun}")
        expect(page.get_by_test_id("pipeline-node-report")).to_have_attribute(
            "data-status", "skipped"
        )
        expect(page.get_by_test_id("gantt-bar-cleanup")).to_be_visible()
        shoot(page, "pipeline-run")
    finally:
        context.close()
    assert not errors, errors
    assert (OUT / "pipeline-run.png").exists()
