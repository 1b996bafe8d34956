"""`ghcapture workflows`: the GitHub Actions workflows that run the bulk lane."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ghcapture.cli import app
from ghcapture.errors import GhcaptureError
from ghcapture.workflows.generate import DEFAULT_GHCAPTURE_SPEC, generate_workflows

workflows_app = typer.Typer(
    help="The GitHub Actions workflows of the bulk lane (historical backfills).",
    no_args_is_help=True,
)
app.add_typer(workflows_app, name="workflows")


class AuthChoice(StrEnum):
    app = "app"
    token = "token"


@workflows_app.command(
    "generate",
    epilog="Example: ghcapture workflows generate --out .github/workflows --auth app",
)
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the workflow files into.")] = Path(
        ".github/workflows"
    ),
    auth: Annotated[
        AuthChoice,
        typer.Option(
            "--auth",
            help="app: a GitHub App token (variable GHCAPTURE_APP_ID, secret GHCAPTURE_APP_PRIVATE_KEY); "
            "token: the secret GHCAPTURE_GITHUB_TOKEN.",
        ),
    ] = AuthChoice.app,
    ghcapture_spec: Annotated[
        str,
        typer.Option(
            "--ghcapture-spec", help="What the runner installs with pip: a requirement, path or URL."
        ),
    ] = DEFAULT_GHCAPTURE_SPEC,
    max_parallel: Annotated[
        int,
        typer.Option(
            "--max-parallel",
            min=1,
            max=256,
            help="Default number of chunks run at once; a dispatch can set its own.",
        ),
    ] = 4,
) -> None:
    """Write the bulk workflows (one per capture kind) for a jobs repository.

    Each needs the repository secret GHCAPTURE_DATABASE_URL, and the App or token named by --auth.
    """
    try:
        paths = generate_workflows(
            out, ghcapture_spec=ghcapture_spec, auth=auth.value, max_parallel=max_parallel
        )
    except OSError as exc:
        reason = str(exc.strerror or exc)
        where = "it" if exc.filename in (None, str(out)) else exc.filename
        raise GhcaptureError(f"--out {out}: cannot write {where}: {reason[:1].lower()}{reason[1:]}") from None
    console = Console()
    for path in paths:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
