"""Job functions the CLI tests run on a real worker."""

from __future__ import annotations

import os
import time


def wait_for_file(path: str, timeout: float = 60) -> str:
    """Print, then wait until the test creates ``path``, then print again: live output."""
    print(f"waiting for {os.path.basename(path)}", flush=True)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)
    print("the file arrived", flush=True)
    return "done"
