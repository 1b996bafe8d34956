"""`ghcapture dashboard`: the monitoring web app."""

from __future__ import annotations

import ipaddress

import typer

from ghcapture.cli import app, listening_socket, serve_on
from ghcapture.errors import ConfigError

# A token shorter than this is guessable by anyone who can reach the port.
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_token(host: str, token: str | None) -> str | None:
    """The token the dashboard will demand; bound beyond loopback, one is required."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"GHCAPTURE_DASHBOARD_TOKEN: too short; give at least {MIN_TOKEN_LENGTH} characters"
        )
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"--host {host}: listening beyond this machine needs GHCAPTURE_DASHBOARD_TOKEN "
            "(e.g. export GHCAPTURE_DASHBOARD_TOKEN=$(openssl rand -hex 24))"
        )
    return token


@app.command()
def dashboard(
    host: str = typer.Option("127.0.0.1", help="Address to listen on; beyond 127.0.0.1 a token is required."),
    port: int = typer.Option(8080, min=1, max=65535, help="Port to listen on."),
    refresh: float = typer.Option(10.0, min=1.0, help="Seconds between an open page's refreshes."),
) -> None:
    """Serve the dashboard until stopped: an overview at /, then /rate-limits, /cost, /repositories,
    /jobs (filterable), /jobs/ID (a short id will do) and /workers, each also as JSON (/index.json,
    /jobs.json...), Prometheus metrics at /metrics and a health check at /healthz. It only reads the
    database, which must exist. With GHCAPTURE_DASHBOARD_TOKEN set, every request but /healthz needs the
    token (an "Authorization: Bearer" header, or the sign-in form's cookie).

    Example: GHCAPTURE_DASHBOARD_TOKEN=$(openssl rand -hex 24) ghcapture dashboard --host 0.0.0.0
    """
    from ghcapture.config import load_settings
    from ghcapture.monitor.dashboard import create_app, options_from_settings
    from ghcapture.store.database import open_existing_database

    settings = load_settings()
    token = checked_token(host, settings.extra.get("dashboard_token"))
    options = options_from_settings(settings, refresh_seconds=refresh)
    asgi = create_app(open_existing_database(settings.database_url), token=token, options=options)
    sock = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"dashboard at http://{shown}:{port}/" + (" (token required)" if token else ""))
    serve_on(asgi, sock)
