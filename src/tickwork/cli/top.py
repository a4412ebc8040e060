"""`tickwork top`: a live terminal dashboard of one coordinator (see ``tickwork.tui``)."""

from __future__ import annotations

from typing import Annotated

import typer

from tickwork.cli.common import Chosen, ServerOpt, TokenOpt
from tickwork.client.core import default_server


def top(
    server: ServerOpt = None,
    token: TokenOpt = None,
    interval: Annotated[
        float,
        typer.Option(
            min=0.5, envvar="TICKWORK_TOP_INTERVAL", help="Seconds between two refreshes at most."
        ),
    ] = 2.0,
) -> None:
    """Live view of one namespace (tickwork --namespace): queue depth, running runs (elapsed
    against timeout), recent failures, workers with busy slots and scheduler lag, following
    the event stream. Keys: t trigger, c cancel, r retry, l log tail, Tab next panel, q quit."""
    from tickwork.tui import TopApp  # Textual loads only for this command

    url = server or default_server()
    TopApp(url, token, interval=interval, namespace=Chosen.namespace).run()
