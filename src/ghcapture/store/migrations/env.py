"""Alembic environment: always runs on a connection handed over by `ghcapture.store.database`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ghcapture.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through ghcapture.store.database.upgrade(), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=context.config.get_main_option("version_table") or "alembic_version",
    # SQLite alters tables by copying them; batch mode lets later revisions do that.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
