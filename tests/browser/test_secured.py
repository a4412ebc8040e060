"""The dashboard against a coordinator with authentication on (issue 8, item 1).

A fresh browser gets the sign-in page; a token opens the dashboard and its live updates; no URL
the page asks for carries a token (``secured_pages`` checks every test's URLs) and no log line
does; each role sees what it may do, and the actions it may not take are disabled with the
reason. Tests name their jobs ``sec-…`` and share the package's secured cluster.
"""

from __future__ import annotations

import re

import httpx
import pytest
import websockets.sync.client
from playwright.sync_api import Locator, Page, expect
from websockets.exceptions import ConnectionClosed

from tests.integration.harness import wait_until

from .conftest import JOBS_DIR, Secured, SecuredPages
from .helpers import STEPS, python_job, record, recorded, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

VIEWER_TRIGGER = "Viewer tokens are read-only: triggering needs an operator token."
OPERATOR = "Operator tokens run, pause and cancel jobs but do not change them"


def expect_denied(button: Locator, reason: str) -> None:
    """Disabled with ``reason`` as its tooltip and its accessible description; clicking it only
    shows the reason (the caller checks that no request left)."""
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", re.compile(re.escape(reason)))
    expect(button).to_have_accessible_description(re.compile(re.escape(reason)))
    button.click(force=True)  # past Playwright's own "is it enabled" wait
    toast = button.page.get_by_test_id("toast").filter(has_text="Not allowed with this token")
    expect(toast).to_contain_text(reason)


def writes_of(page: Page) -> list[str]:
    """Every request other than a read that ``page`` sends from now on."""
    sent: list[str] = []
    page.on("request", lambda r: r.method not in ("GET", "HEAD") and sent.append(r.url))
    return sent


def test_a_fresh_browser_gets_the_sign_in_page_and_a_token_opens_the_dashboard(
    secured: Secured, secured_pages: SecuredPages
) -> None:
    page = secured_pages()
    page.goto("/jobs")  # a deep link: the shell loads without a token, the API asks for one
    expect(page.get_by_role("heading", name="Sign in to tickwork")).to_be_visible()
    token = page.get_by_label("API token")
    token.fill("tw_not-a-token-of-this-server")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That token was not accepted.")).to_be_visible()

    token.fill(secured.tokens["viewer"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    wait_live(page)  # the event stream took the token too
    expect(page.get_by_test_id("whoami")).to_have_attribute("data-role", "viewer")
    expect(page.get_by_test_id("nav-audit")).to_have_count(0)  # admins only

    page.reload()  # the token stays in this browser
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    wait_live(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to tickwork")).to_be_visible()
    assert any("/api/ws" in url for url in secured_pages.urls)


def test_live_updates_under_auth_move_a_run_queued_running_completed(
    secured: Secured, secured_pages: SecuredPages
) -> None:
    tw = secured.cluster
    # only a worker with the "sec-ws" tag takes it: none runs until the test starts one
    python_job(
        tw, "sec-ws.sleeper", worker_tags=["sec-ws"], parameters={"lines": ["a"], "seconds": 1}
    )
    page = secured_pages(token=secured.tokens["operator"])
    page.goto("/jobs?q=sec-ws.")
    badge = page.get_by_test_id("job-status-sec-ws.sleeper")
    expect(badge).to_have_attribute("data-status", "idle")
    wait_live(page)
    page.evaluate("window.__sameDocument = true")
    record(page, status=("job-status-sec-ws.sleeper", "data-status"))

    run_id = tw.trigger("sec-ws.sleeper")
    expect(badge).to_have_attribute("data-status", "queued")
    tw.start_worker(
        tags="sec-ws",
        concurrency=1,
        extra=["--path", str(JOBS_DIR)],
        env={"TICKWORK_TOKEN": secured.tokens["worker"]},
    )
    expect(badge).to_have_attribute("data-status", "completed")
    assert page.evaluate("window.__sameDocument") is True
    assert tw.run(run_id)["status"] == "completed"
    assert list(dict.fromkeys(recorded(page, "status"))) == [
        "idle",
        "queued",
        "running",
        "completed",
    ]
    sockets = [url for url in secured_pages.urls if "/api/ws" in url]
    assert sockets and all("token" not in url for url in sockets), sockets


def test_a_viewer_sees_every_action_disabled_with_the_reason_and_changes_nothing(
    secured: Secured, secured_pages: SecuredPages
) -> None:
    tw = secured.cluster
    python_job(tw, "sec-view.job", worker_tags=["nobody"])  # its run stays queued
    run_id = tw.trigger("sec-view.job")
    page = secured_pages(token=secured.tokens["viewer"])
    sent = writes_of(page)

    page.goto("/jobs?q=sec-view.")
    expect_denied(page.get_by_test_id("job-trigger-sec-view.job"), VIEWER_TRIGGER)
    expect_denied(page.get_by_test_id("new-job"), "creating a job needs an admin token")

    page.goto("/jobs/sec-view.job")
    for testid, reason in [
        ("trigger-button", VIEWER_TRIGGER),
        ("trigger-params-button", VIEWER_TRIGGER),
        ("pause-button", "pausing a job needs an operator token"),
        ("edit-button", "Viewer tokens are read-only: editing a job needs an admin token."),
        ("delete-button", "deleting a job needs an admin token"),
    ]:
        expect_denied(page.get_by_test_id(testid), reason)
    expect(page.locator("dialog[open]")).to_have_count(0)  # no confirmation opened

    page.goto(f"/runs/{run_id}")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "queued")
    expect_denied(page.get_by_test_id("cancel-button"), "cancelling a run needs an operator")

    page.goto("/jobs/new")
    expect(page.get_by_test_id("editor-denied")).to_contain_text("creating a job needs an admin")
    expect_denied(page.get_by_test_id("save-job"), "creating a job needs an admin token")

    assert sent == [], sent
    assert tw.run(run_id)["status"] == "queued"
    job = tw.http.get("/api/jobs/sec-view.job").json()
    assert job["enabled"] is True and job["stats"]["total_runs"] == 1
    # the server is the authority: the same request by hand is refused
    status = page.evaluate(
        """async (token) => (await fetch('/api/jobs/sec-view.job/trigger', {
            method: 'POST', headers: {Authorization: `Bearer ${token}`}})).status""",
        secured.tokens["viewer"],
    )
    assert status == 403


def test_an_operator_triggers_and_cancels_but_does_not_change_jobs(
    secured: Secured, secured_pages: SecuredPages
) -> None:
    tw = secured.cluster
    tw.create_job(
        name="sec-op.long",
        type="shell",
        command='for i in $(seq 1 600); do echo "tick $i"; sleep 0.1; done',
    )
    page = secured_pages(token=secured.tokens["operator"])
    page.goto("/jobs")
    expect_denied(page.get_by_test_id("new-job"), f"{OPERATOR}: creating a job needs an admin")

    page.goto("/jobs/sec-op.long")
    wait_live(page)
    expect_denied(page.get_by_test_id("edit-button"), f"{OPERATOR}: editing a job needs an admin")
    expect_denied(page.get_by_test_id("delete-button"), "deleting a job needs an admin token")
    trigger = page.get_by_test_id("trigger-button")
    expect(trigger).not_to_have_attribute("aria-disabled", "true")
    trigger.click()
    toast = page.get_by_test_id("toast").filter(has_text="Triggered sec-op.long")
    toast.get_by_role("link", name="View run").click()
    expect(page).to_have_url(re.compile(r"/runs/run-"))
    status = page.get_by_test_id("run-status")
    expect(status).to_have_attribute("data-status", "running")
    expect(page.get_by_test_id("log-stdout")).to_contain_text("tick 3")  # the live tail, signed in

    page.get_by_test_id("cancel-button").click()
    page.get_by_test_id("dialog-confirm").click()
    expect(status).to_have_attribute("data-status", "cancelled")
    run_id = page.url.rsplit("/", 1)[-1]
    assert tw.run(run_id)["status"] == "cancelled"
    assert tw.http.get("/api/jobs/sec-op.long").status_code == 200  # still there


def test_an_admin_creates_a_job_in_the_form_and_runs_it(
    secured: Secured, secured_pages: SecuredPages
) -> None:
    tw = secured.cluster
    page = secured_pages(token=secured.tokens["admin"])
    page.goto("/jobs")
    expect(page.get_by_test_id("whoami")).to_have_attribute("data-role", "admin")
    expect(page.get_by_test_id("nav-audit")).to_be_visible()
    page.get_by_test_id("new-job").click()
    page.locator("#name").fill("sec-admin.made")
    page.locator("#function").fill(STEPS)
    page.get_by_test_id("save-job").click()
    expect(page.get_by_role("heading", name="sec-admin.made")).to_be_visible()
    wait_live(page)
    for testid in ("trigger-button", "pause-button", "edit-button", "delete-button"):
        expect(page.get_by_test_id(testid)).not_to_have_attribute("aria-disabled", "true")
    page.get_by_test_id("trigger-button").click()
    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "completed")
    made = wait_until(  # a job's stats are kept totals, folded in about a second later
        lambda: (
            (j := tw.http.get("/api/jobs/sec-admin.made").json())["stats"]["completed"] == 1 and j
        ),
        timeout=10,
        what="the completed run in the job's stats",
    )
    assert made["function"] == STEPS
    entries = tw.http.get("/api/audit", params={"action": "jobs-create"}).json()
    assert [e["actor"] for e in entries if e["target"] == made["id"]] == ["admin token"]


def test_no_token_reaches_the_coordinator_log(secured: Secured) -> None:
    """Old clients put the token in the URL; the server refuses it and its log masks it."""
    tw = secured.cluster
    viewer = secured.tokens["viewer"]
    ws_url = tw.url.replace("http://", "ws://") + f"/api/ws?since=0&token={viewer}"
    with (
        websockets.sync.client.connect(ws_url, open_timeout=10) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert httpx.get(f"{tw.url}/api/stats?token={viewer}").status_code == 401
    assert httpx.get(
        f"{tw.url}/api/stats", headers={"Authorization": f"Bearer {viewer}"}
    ).is_success
    coordinator = tw.coordinators[0]
    wait_until(
        lambda: any("/api/stats?token=***" in line for line in coordinator.lines),
        what="the request line in the access log",
    )
    assert any("/api/ws?since=0&token=***" in line for line in coordinator.lines)
    lines = [line for proc in [*tw.coordinators, *tw.workers] for line in proc.lines]
    leaked = [line for line in lines for t in secured.tokens.values() if t[3:20] in line]
    assert leaked == []
