"""Alembic environment: run from tickwork (programmatic config) or the alembic CLI."""

from __future__ import annotations

from alembic import context

from tickwork.store.tables import metadata

config = context.config
target_metadata = metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("tickwork runs migrations with a connection: use `tickwork db upgrade`")
_run(connection)
