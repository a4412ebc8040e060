"""`tickwork workers`: the workers a coordinator knows, with their slots and heartbeats."""

from __future__ import annotations

from tickwork.cli.common import JsonOpt, ServerOpt, TokenOpt, err, out, print_json, session
from tickwork.cli.render import workers_table


def workers(server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Workers: tags, busy/total slots, status and last heartbeat."""
    with session(server, token) as client:
        found = client.list_workers()
    if as_json:
        print_json(found)
        return
    out().print(workers_table(found))
    online = sum(1 for w in found if w.status == "online")
    err().print(f"{online} online of {len(found)} worker(s)")
