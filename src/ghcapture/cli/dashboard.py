"""`ghcapture dashboard`: the monitoring web app."""

from __future__ import annotations

import typer

from ghcapture.cli import app, listening_socket, serve_on


@app.command()
def dashboard(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, min=1, max=65535, help="Port to listen on."),
) -> None:
    """Serve the dashboard until stopped: spend, alerts, repositories and jobs at /, a page per job at
    /jobs/ID, Prometheus metrics at /metrics and the same figures as JSON at /api/snapshot.

    Example: ghcapture dashboard --port 8080
    """
    from ghcapture.config import load_settings
    from ghcapture.monitor.dashboard import create_app
    from ghcapture.store.database import open_database

    asgi = create_app(open_database(load_settings().database_url))
    sock = listening_socket(host, port)
    typer.echo(f"dashboard at http://{host}:{port}/")
    serve_on(asgi, sock)
