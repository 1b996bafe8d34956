"""`ghcapture app manifest`: the GitHub App manifest to register ghcapture's App from."""

from __future__ import annotations

import json

import typer

from ghcapture.cli import app

github_app = typer.Typer(help="ghcapture's GitHub App.", no_args_is_help=True)
app.add_typer(github_app, name="app")


@github_app.command("manifest")
def manifest(
    webhook_url: str = typer.Option(..., help="Where GitHub delivers webhooks: the receiver's public URL."),
    name: str = typer.Option("ghcapture", help="The App's name (unique on GitHub)."),
    homepage: str = typer.Option("https://github.com", help="The App's homepage URL."),
    bulk_lane: bool = typer.Option(
        False, "--bulk-lane", help="Also let it dispatch bulk workflows (actions: write, workflow_run)."
    ),
) -> None:
    """Print a GitHub App manifest (JSON) with the least privileges the capture needs.

    Example: ghcapture app manifest --webhook-url https://ci.example.com/webhooks/github
    """
    from ghcapture.github.manifest import app_manifest

    typer.echo(
        json.dumps(app_manifest(webhook_url, name=name, homepage=homepage, bulk_lane=bulk_lane), indent=2)
    )
