"""`python -m benchmarks.slow_link`: the dashboard's Overview on a slow phone link.

A coordinator (SQLite, in process) with a few jobs and runs; Chromium (Debian's, headless)
with the network throttled through the DevTools protocol to a slow 4G-like link (1.6 Mbit/s
down, 750 kbit/s up, 150 ms round trip), cold cache. Prints the time until the first stat
card shows data and until the page has nothing left to load, and the bytes that crossed the
link, with the browser asking for compressed answers (as browsers do) and without.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS
from tests.client.served import serve

from tickwork.client import Client

LINK = {"latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}


def measure(url: str, *, compressed: bool) -> dict[str, float]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(
            extra_http_headers={} if compressed else {"Accept-Encoding": "identity"}
        )
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", {"offline": False, **LINK})
        received = 0.0

        def count(params: dict[str, float]) -> None:
            nonlocal received
            received += params.get("encodedDataLength", 0)

        cdp.on("Network.loadingFinished", count)
        start = time.perf_counter()
        page.goto(url + "/", wait_until="commit")
        page.wait_for_function(
            "() => { const v = document.querySelector('[data-testid=stat-jobs]');"
            " return v && /\\d/.test(v.textContent) }",
            timeout=120_000,
        )
        data = time.perf_counter() - start
        page.wait_for_load_state("networkidle", timeout=120_000)
        idle = time.perf_counter() - start
        browser.close()
    return {"data": data, "idle": idle, "kb": received / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "tickwork.db") as served:
        with Client(served.url, token="") as client:
            for i in range(12):
                client.create_job({"name": f"link-{i}", "type": "shell", "command": "true"})
                client.trigger(f"link-{i}")
        print("Overview on a slow link (1.6 Mbit/s, 150 ms RTT), cold cache, best of", args.repeat)
        for compressed in (True, False):
            runs = [measure(served.url, compressed=compressed) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["data"])
            label = "compressed (br/gzip)" if compressed else "identity (uncompressed)"
            print(
                f"  {label:<24} first data {best['data']:.2f} s, "
                f"all loaded {best['idle']:.2f} s, {best['kb']:.0f} KB over the link"
            )


if __name__ == "__main__":
    main()
