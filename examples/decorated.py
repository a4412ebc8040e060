"""Jobs declared next to their code with ``@tickwork.job``.

    tickwork apply --module decorated           # from this directory: sync these jobs
    tickwork apply --module decorated --prune   # also delete jobs this module no longer declares

The decorator leaves each function as it is (``python decorated.py`` calls them directly) and
records a python job: ``function`` is ``decorated.<name>``, the job name is the function name
with ``_`` → ``-`` unless given, and every job gets the tag ``module:decorated`` so that
``--prune`` only ever touches jobs this module created.
"""

from __future__ import annotations

import tickwork


@tickwork.job(schedule="*/15 * * * *", tags=["examples"], parameters={"region": "eu"})
def refresh_cache(region: str = "eu") -> str:
    print(f"cache refreshed for {region}")
    return region


@tickwork.job(
    schedule="0 6 * * 1",
    name="weekly-digest",
    timezone="Europe/Berlin",
    retries=1,
    parameters={"team": "data"},
)
def send_weekly_digest(team: str) -> dict[str, str]:
    print(f"weekly digest sent to the {team} team")
    return {"team": team}


@tickwork.job(depends_on=["weekly-digest"])
def archive_digest() -> None:
    print("digest archived")


if __name__ == "__main__":
    refresh_cache("us")
    send_weekly_digest("data")
    archive_digest()
