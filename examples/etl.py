"""The ETL pipeline of examples/jobs.yaml: ``etl.extract`` → ``etl.transform`` → ``etl.load``.

Each step is its own job; tickwork starts the next when the previous one succeeds. The steps
hand data on through a staging directory (``$TICKWORK_ETL_STAGING``, else a ``tickwork-etl``
directory in the temp dir), so the example works on one machine; across machines use shared
storage. Run it on its own with ``python etl.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def staging() -> Path:
    path = Path(os.environ.get("TICKWORK_ETL_STAGING") or tempfile.gettempdir()) / "tickwork-etl"
    path.mkdir(parents=True, exist_ok=True)
    return path


def extract(source: str = "orders") -> int:
    """Fetch the raw rows (here: made up) and stage them."""
    rows = [{"id": i, "region": "eu" if i % 2 else "us", "amount": 10.0 * i} for i in range(1, 7)]
    (staging() / "raw.json").write_text(json.dumps(rows))
    print(f"extracted {len(rows)} {source} rows")
    return len(rows)


def transform() -> dict[str, float]:
    """Aggregate the staged rows by region."""
    rows = json.loads((staging() / "raw.json").read_text())
    totals: dict[str, float] = {}
    for row in rows:
        totals[row["region"]] = totals.get(row["region"], 0.0) + row["amount"]
    (staging() / "totals.json").write_text(json.dumps(totals))
    print(f"transformed {len(rows)} rows into {len(totals)} regions")
    return totals


def load(table: str = "analytics.daily_orders") -> str:
    """Write the aggregates to the warehouse (here: print them)."""
    totals = json.loads((staging() / "totals.json").read_text())
    for region, amount in sorted(totals.items()):
        print(f"{table}: {region} = {amount:.2f}")
    print(f"loaded {len(totals)} rows into {table}")
    return table


if __name__ == "__main__":
    extract()
    transform()
    load()
