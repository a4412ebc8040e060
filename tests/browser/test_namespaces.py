"""The dashboard's namespace switcher (issue 10, item 5) against a coordinator with auth on.

A token scoped to two namespaces sees just those two in the header's switcher (with their job
counts), each list keeps to the one chosen, the choice survives a reload and rides in the URL
(``?ns=``), and the actions follow the token's role in the namespace shown: operator in one,
viewer in the other. A token that may read every namespace is offered all of them at once, each
row naming its own. Tests name their namespaces ``nsui-…`` and share the package's secured cluster.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import PHONE, Secured, SecuredPages
from .helpers import python_job, wait_live
from .test_secured import expect_denied

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPS = "nsui-ops"  # the scoped token is an operator here
SEE = "nsui-see"  # and a viewer here


@pytest.fixture(scope="module")
def scoped(secured: Secured) -> str:
    """Jobs in two namespaces (a name in both); a token, operator in one and viewer in the other."""
    tw = secured.cluster
    for ns, only in ((OPS, "nsui.ops-only"), (SEE, "nsui.see-only")):
        for name in ("nsui.shared", only):
            python_job(tw, name, namespace=ns, worker_tags=["nobody"])  # runs stay queued
    made = tw.http.post(
        "/api/tokens", json={"name": "nsui-two", "scopes": {OPS: "operator", SEE: "viewer"}}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def job_rows(page: Page) -> list[str]:
    return sorted(
        page.get_by_test_id("jobs-table")
        .locator("tbody tr")
        .evaluate_all("rows => rows.map(r => r.dataset.testid)")
    )


def test_a_token_of_two_namespaces_switches_between_them_and_keeps_its_choice(
    secured: Secured, secured_pages: SecuredPages, scoped: str
) -> None:
    page = secured_pages(token=scoped)
    asked: list[str] = []
    page.on("request", lambda r: "/api/" in r.url and asked.append(r.url))
    page.goto("/jobs")
    switch = page.get_by_test_id("namespace-switch")
    expect(switch).to_have_value(OPS)  # it may not read `default` or `*`: the first it may
    options = switch.locator("option")
    expect(options).to_have_count(2)  # no "All namespaces": it may not read every one
    expect(options.nth(0)).to_have_text(f"{OPS} (2 jobs · operator)")
    expect(options.nth(1)).to_have_text(f"{SEE} (2 jobs · viewer)")
    expect(page).to_have_url(re.compile(rf"[?&]ns={OPS}"))
    expect(page.get_by_test_id("job-row-nsui.ops-only")).to_be_visible()
    assert job_rows(page) == ["job-row-nsui.ops-only", "job-row-nsui.shared"]
    trigger = page.get_by_test_id("job-trigger-nsui.shared")
    expect(trigger).not_to_have_attribute("aria-disabled", "true")
    expect(page.get_by_test_id("whoami")).to_contain_text("· operator")

    switch.select_option(SEE)
    expect(page).to_have_url(re.compile(rf"[?&]ns={SEE}"))
    expect(page.get_by_test_id("job-row-nsui.see-only")).to_be_visible()
    assert job_rows(page) == ["job-row-nsui.see-only", "job-row-nsui.shared"]
    viewer = f"Viewer tokens are read-only in namespace '{SEE}': triggering needs an operator token"
    expect_denied(page.get_by_test_id("job-trigger-nsui.shared"), viewer)
    wait_live(page)  # the stream reconnected for the namespace chosen
    expect(page.get_by_test_id("whoami")).to_contain_text("· viewer")  # its role here

    page.reload()
    expect(switch).to_have_value(SEE)
    expect(page.get_by_test_id("job-row-nsui.see-only")).to_be_visible()
    page.goto("/jobs")  # a link without ?ns= opens on the remembered choice
    expect(page).to_have_url(re.compile(rf"[?&]ns={SEE}"))
    expect(page.get_by_test_id("job-row-nsui.see-only")).to_be_visible()

    # a job by name is looked up in the namespace chosen
    page.goto(f"/jobs/nsui.shared?ns={SEE}")
    expect_denied(page.get_by_test_id("trigger-button"), viewer)
    page.goto(f"/jobs/nsui.shared?ns={OPS}")
    expect(switch).to_have_value(OPS)  # the URL's namespace wins
    trigger = page.get_by_test_id("trigger-button")
    expect(trigger).not_to_have_attribute("aria-disabled", "true")
    trigger.click()
    expect(page.get_by_test_id("toast").filter(has_text="Triggered nsui.shared")).to_be_visible()

    runs = secured.cluster.http.get("/api/runs", params={"job": "nsui.shared", "namespace": OPS})
    assert runs.json()["total"] == 1
    lists = [u for u in asked if re.search(r"/api/(jobs|runs|dead-letters)\?", u)]
    assert lists and all("namespace=" in u for u in lists), lists
    sockets = [u for u in secured_pages.urls if "/api/ws" in u]
    assert any(f"namespace={SEE}" in u for u in sockets), sockets
    assert any(f"namespace={OPS}" in u for u in sockets), sockets


def test_a_token_of_every_namespace_may_see_them_all_at_once(
    secured: Secured, secured_pages: SecuredPages, scoped: str
) -> None:
    page = secured_pages(token=secured.tokens["viewer"])
    page.goto("/jobs?q=nsui.")
    switch = page.get_by_test_id("namespace-switch")
    expect(switch).to_have_value("*")
    expect(switch.locator("option", has_text="All namespaces")).to_have_count(1)
    rows = page.get_by_test_id("jobs-table").locator("tbody tr")
    expect(rows).to_have_count(4)
    badges = page.get_by_test_id("jobs-table").get_by_test_id("ns-badge")
    assert sorted(badges.all_inner_texts()) == [OPS, OPS, SEE, SEE]

    switch.select_option(OPS)
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(rf"q=nsui\..*ns={OPS}|ns={OPS}.*q=nsui\."))
    expect(page.get_by_test_id("ns-badge")).to_have_count(0)  # one namespace: no column

    # no room in a phone's top bar: the switcher is in the navigation drawer
    phone = secured_pages(token=secured.tokens["viewer"], viewport=PHONE)
    phone.goto("/jobs")
    expect(phone.get_by_test_id("namespace-switch")).to_be_hidden()
    phone.get_by_test_id("nav-toggle").click()
    in_nav = phone.get_by_test_id("namespace-switch-nav")
    expect(in_nav).to_have_value("*")  # a browser of its own: nothing remembered yet
    in_nav.select_option(SEE)
    expect(phone).to_have_url(re.compile(rf"[?&]ns={SEE}"))


def test_the_overview_draws_the_quota_use_of_the_namespace_shown(
    secured: Secured, secured_pages: SecuredPages, scoped: str
) -> None:
    """Quotas set by an admin are drawn as bars (use of limit) on the overview of their
    namespace; a namespace without quotas draws none."""
    tw = secured.cluster
    ns = "nsui-quota"
    python_job(tw, "nsui.quota", namespace=ns, worker_tags=["nobody"], on_overlap="allow")
    for _ in range(2):
        assert tw.http.post("/api/jobs/nsui.quota/trigger", params={"namespace": ns}).is_success
    quotas = {"max_jobs": 2, "max_queued": 2, "max_running": 10}
    assert tw.http.put(f"/api/namespaces/{ns}/quotas", json=quotas).status_code == 200
    page = secured_pages(token=secured.tokens["viewer"])
    page.goto(f"/?ns={ns}")
    usage = page.get_by_test_id("quota-usage")
    expect(usage.get_by_test_id("quota-max_jobs")).to_contain_text("1 of 2")
    queued = usage.get_by_test_id("quota-max_queued")
    expect(queued).to_contain_text("2 of 2")
    expect(queued).to_have_attribute("data-tone", "danger")  # full: the next trigger gets 429
    expect(usage.get_by_test_id("quota-max_running")).to_have_attribute("data-tone", "info")
    page.get_by_test_id("namespace-switch").select_option(OPS)
    expect(page.get_by_test_id("quota-usage")).to_have_count(0)
