"""`ghcapture db`: apply schema migrations and show what the database holds."""

from __future__ import annotations

import typer

from ghcapture.cli import app

db_app = typer.Typer(help="Manage the database: migrations and row counts.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Apply every schema migration the database lacks and print its revision.

    Example: GHCAPTURE_DATABASE_URL=sqlite:///ghcapture.db ghcapture db upgrade
    """
    from ghcapture.config import load_settings
    from ghcapture.store.database import current_revision, open_database, redact_url

    url = load_settings().database_url
    engine = open_database(url)
    try:
        typer.echo(f"{redact_url(url)}: at revision {current_revision(engine)} (latest)")
    finally:
        engine.dispose()


@db_app.command("status")
def status_command() -> None:
    """Print the schema revision and the rows in each table, without changing anything.

    Example: GHCAPTURE_DATABASE_URL=postgresql://user@localhost/ghcapture ghcapture db status
    """
    from ghcapture.config import load_settings
    from ghcapture.store.counts import table_counts
    from ghcapture.store.database import (
        check_connection,
        create_engine_for,
        current_revision,
        head_revision,
        redact_url,
    )
    from ghcapture.store.tables import ALL_TABLES

    url = load_settings().database_url
    engine = create_engine_for(url)
    try:
        check_connection(engine)
        revision = current_revision(engine)
        head = head_revision()
        if revision is None:
            state = "not migrated (run: ghcapture db upgrade)"
        elif revision == head:
            state = f"{revision} (latest)"
        else:
            state = f"{revision} (latest is {head}; run: ghcapture db upgrade)"
        typer.echo(f"database: {redact_url(url)}")
        typer.echo(f"revision: {state}")
        with engine.connect() as connection:
            counts = table_counts(connection, ALL_TABLES)
        width = max((len(name) for name in counts), default=0)
        for name, rows in counts.items():
            typer.echo(f"{name:<{width}}  {rows:>10,}")
    finally:
        engine.dispose()
