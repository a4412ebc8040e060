"""The dashboard while workers drain a queue of thousands of runs (issue 13, item 1).

Every event batch used to refetch the visible queries and cancel the ones still in flight, so
under load a page never got its first rows. Here real workers drain a few thousand queued runs
while fresh pages of Jobs, Runs and the busy job measure the time to their first rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from tests.integration.harness import Cluster, wait_until

from .conftest import JOBS_DIR, browser_cluster, open_context, watch_errors
from .helpers import STEPS

# solo: its 1.5 s is a target for a person at a browser, not for two cores shared with a
# parallel test session; make test runs it after the rest, alone
pytestmark = [
    pytest.mark.browser,
    pytest.mark.solo,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(300),
]

QUEUED = 4000
FIRST_ROWS_LIMIT_MS = 1500
BUSY = "updating every 5 s while busy"


@pytest.fixture(scope="module")
def busy(pg_template: str) -> Iterator[Cluster]:
    """Its own coordinator, so the drain does not slow the other browser tests' cluster."""
    with browser_cluster(pg_template) as c:
        yield c


def queued(c: Cluster, job: str) -> int:
    r = c.http.get("/api/runs", params={"job": job, "status": "queued", "limit": 1})
    return int(r.json()["total"])


def first_rows_ms(browser: Browser, c: Cluster, path: str, table: str) -> tuple[float, int, str]:
    """Open ``path`` in a fresh browser; ms from navigation start to the first row of ``table``
    on screen, how many API requests the page aborted meanwhile, and the busy notice it shows
    while events pour in."""
    context = open_context(browser, c.url)
    page: Page = context.new_page()
    errors = watch_errors(page)
    aborted: list[str] = []
    page.on(
        "requestfailed",
        lambda r: "/api/" in r.url and aborted.append(f"{r.url} {r.failure}"),
    )
    page.add_init_script(
        """window.__long = [];
        new PerformanceObserver((l) => l.getEntries().forEach((e) =>
            window.__long.push([Math.round(e.startTime), Math.round(e.duration)]))
        ).observe({ type: 'longtask', buffered: true })"""
    )
    try:
        page.goto(path, wait_until="commit")
        ms = float(
            page.wait_for_function(
                """(table) => {
                    const t = document.querySelector(`[data-testid="${table}"] tbody tr`)
                    return t && t.getBoundingClientRect().height > 0 && performance.now()
                }""",
                arg=table,
                polling="raf",
                timeout=30_000,
            ).json_value()
        )
        if ms > FIRST_ROWS_LIMIT_MS:
            print(f"\n{path}: where the {ms:.0f} ms went (start, duration, resource):")
            for entry in page.evaluate(
                """() => performance.getEntriesByType('resource')
                    .map((e) => [Math.round(e.startTime), Math.round(e.duration), e.name])"""
            ):
                print(f"  {entry[0]:6} {entry[1]:6}  {entry[2].replace(c.url, '')}")
            print("  long tasks (start, ms):", page.evaluate("window.__long"))
        notice = page.get_by_test_id("live-busy")
        with contextlib.suppress(PlaywrightError):
            notice.wait_for(timeout=15_000)
        return ms, len(aborted), notice.text_content() if notice.count() else ""

    finally:
        context.close()
        assert not errors, errors


def test_first_rows_within_1_5_s_while_workers_drain_thousands_of_runs(
    browser: Browser, busy: Cluster
) -> None:
    c = busy
    for i in range(12):
        c.create_job(name=f"load.quiet-{i:02}", type="python", function=STEPS, tags=["load"])
    c.create_job(name="load.hot", type="python", function=STEPS, tags=["load"], retries=0)
    hot_id = str(c.http.get("/api/jobs/load.hot").json()["id"])
    body = {"runs": [{"job": "load.hot", "idempotency_key": f"k{i}"} for i in range(QUEUED)]}
    c.http.post("/api/runs/bulk", json=body, timeout=120).raise_for_status()
    # a second worker joins the fixture's: both drain as fast as they can
    c.start_worker(concurrency=8, extra=["--path", str(JOBS_DIR)])
    wait_until(lambda: queued(c, "load.hot") < QUEUED - 50, timeout=60, what="the drain to start")

    timings: dict[str, tuple[float, int, str]] = {}
    for name, path, table in [
        ("Jobs", "/jobs", "jobs-table"),
        ("Runs", "/runs", "runs-table"),
        ("Job page", f"/jobs/{hot_id}", "recent-runs"),
    ]:
        # the better of two fresh visits: one page load on a 2-core box shared with the
        # drain and another test session can lose the CPU for a moment; a slow page stays
        # slow on both. Aborted requests count from both visits.
        tries = [first_rows_ms(browser, c, path, table) for _ in range(2)]
        best = min(tries, key=lambda t: t[0])
        timings[name] = (best[0], sum(t[1] for t in tries), best[2])
    left = queued(c, "load.hot")
    print("\ntime to first rows while draining (ms, API requests aborted, busy notice):")
    for name, (ms, aborted, notice) in timings.items():
        print(f"  {name:<9} {ms:7.0f} ms  aborted {aborted}  {notice!r}")
    print(f"  still queued at the end: {left} of {QUEUED}")

    assert left > 0, "the queue drained before the pages were measured: queue more runs"
    slow = {n: round(ms) for n, (ms, _, _) in timings.items() if ms > FIRST_ROWS_LIMIT_MS}
    assert not slow, f"first rows took longer than {FIRST_ROWS_LIMIT_MS} ms: {slow}"
    cancelled = {n: a for n, (_, a, _) in timings.items() if a}
    assert not cancelled, f"pages aborted their own API requests: {cancelled}"
    quiet = [n for n, (_, _, notice) in timings.items() if notice != BUSY]
    assert not quiet, f"no {BUSY!r} notice on {quiet} while events poured in"
