"""Small helpers shared by the browser tests (waits are Playwright's, never fixed sleeps)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.integration.harness import Cluster

STEPS = "bjobs.steps"


def python_job(tw: Cluster, name: str, **body: Any) -> dict[str, Any]:
    """Create a python job running ``bjobs.steps`` unless told otherwise."""
    return tw.create_job(**{"name": name, "type": "python", "function": STEPS, **body})


def finish(tw: Cluster, run_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
    """``tw.wait_status`` that says where the run got stuck."""
    try:
        return tw.wait_status(run_id, *statuses, timeout=timeout)
    except AssertionError:
        run = tw.run(run_id)
        brief = {k: run.get(k) for k in ("status", "attempt", "worker", "error", "not_before")}
        raise AssertionError(f"run {run_id} did not reach {statuses}: {brief}") from None


def wait_live(page: Page) -> None:
    """The dashboard's event socket is open, so later events reach the page."""
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")


def row_ids(page: Page, table: str) -> list[str]:
    return sorted(
        page.get_by_test_id(table)
        .locator("tbody tr")
        .evaluate_all("rows => rows.map(r => r.dataset.testid)")
    )


def expect_rows(page: Page, table: str, testids: list[str], timeout: float = 15_000) -> None:
    """Wait until ``table`` (not busy) shows exactly these rows, in any order."""
    want = sorted(testids)
    try:
        page.wait_for_function(
            """([table, want]) => {
                const t = document.querySelector(`[data-testid="${table}"]`)
                if (!t || t.getAttribute('aria-busy') === 'true') return false
                const got = [...t.querySelectorAll('tbody tr')].map((r) => r.dataset.testid).sort()
                return JSON.stringify(got) === JSON.stringify(want)
            }""",
            arg=[table, want],
            timeout=timeout,
        )
    except PlaywrightError:
        shown = row_ids(page, table) if page.get_by_test_id(table).count() else "no table"
        raise AssertionError(f"{table} should show {want}, shows {shown}") from None


def expect_job_rows(page: Page, names: list[str]) -> None:
    expect_rows(page, "jobs-table", [f"job-row-{n}" for n in names])


def record(page: Page, **watch: tuple[str, str]) -> None:
    """Log each value the watched attributes take, commit by commit, as ``name=value`` in
    ``window.__log`` (a MutationObserver sees every DOM change, even one never painted).
    ``watch`` maps a short name to (data-testid, attribute)."""
    page.evaluate(
        """(watch) => {
            window.__log = []
            const last = {}
            const read = () => {
                for (const [name, [testid, attribute]] of Object.entries(watch)) {
                    const el = document.querySelector(`[data-testid="${testid}"]`)
                    const v = el ? el.getAttribute(attribute) : null
                    if (v !== null && last[name] !== v) {
                        last[name] = v
                        window.__log.push(`${name}=${v}`)
                    }
                }
            }
            read()
            new MutationObserver(read).observe(document.body, {
                subtree: true, childList: true, attributes: true,
                attributeFilter: [...new Set(Object.values(watch).map(([, a]) => a))],
            })
        }""",
        {name: list(pair) for name, pair in watch.items()},
    )


def recorded(page: Page, name: str) -> list[str]:
    """The values ``name`` took, in order."""
    prefix = f"{name}="
    return [e[len(prefix) :] for e in page.evaluate("window.__log") if e.startswith(prefix)]


def horizontal_overflow(page: Page) -> dict[str, Any]:
    """Page width against the viewport, and any element sticking out to the right that no
    ancestor scrolls or clips (those would be cut off or scroll the whole page)."""
    return dict(
        page.evaluate(
            """() => {
                const vw = window.innerWidth
                const offenders = []
                for (const el of document.querySelectorAll('body *')) {
                    const r = el.getBoundingClientRect()
                    if (r.width === 0 || r.height === 0 || r.right <= vw + 1) continue
                    let p = el.parentElement
                    let contained = false
                    while (p && p !== document.body) {
                        if (getComputedStyle(p).overflowX !== 'visible') { contained = true; break }
                        p = p.parentElement
                    }
                    if (!contained) {
                        const id = el.dataset.testid ? `[${el.dataset.testid}]` : ''
                        const what = `${el.tagName.toLowerCase()}.${el.className}${id}`
                        offenders.push(`${what} right=${Math.round(r.right)}`)
                    }
                }
                return {
                    viewport: vw,
                    document: document.documentElement.scrollWidth,
                    body: document.body.scrollWidth,
                    offenders: offenders.slice(0, 8),
                }
            }"""
        )
    )
