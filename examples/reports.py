"""The daily report of examples/jobs.yaml (``reports.generate_daily``).

Runs as a tickwork python job (the worker imports it from its ``--path``) or on its own:
``python reports.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

ORDERS = [("books", 3, 12.50), ("games", 1, 59.99), ("books", 2, 8.00), ("music", 4, 9.99)]


def generate_daily(recipients: list[str], day: str | None = None) -> dict[str, object]:
    """Sum yesterday's orders and "send" the report: prints it, returns the totals."""
    report_day = day or (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    date.fromisoformat(report_day)  # a bad day fails the run (and it is retried)
    count = sum(quantity for _, quantity, _ in ORDERS)
    revenue = round(sum(quantity * price for _, quantity, price in ORDERS), 2)
    print(f"Daily report for {report_day}: {count} items sold, revenue {revenue:.2f} EUR")
    for recipient in recipients:
        print(f"sent to {recipient}")
    return {"day": report_day, "items": count, "revenue": revenue, "sent": len(recipients)}


if __name__ == "__main__":
    generate_daily(["you@example.com"])
