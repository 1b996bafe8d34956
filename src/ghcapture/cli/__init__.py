"""The ghcapture command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import sys

import typer

from ghcapture.config import settings_help_text
from ghcapture.errors import GhcaptureError

app = typer.Typer(
    name="ghcapture",
    help="Keep a database of GitHub pull-request activity complete and current.",
    epilog="Settings (environment variables, or keys of ghcapture.toml):\n\n" + settings_help_text().replace("\n", "\n\n"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Imported for their side effect of adding commands to `app`.
    from ghcapture.cli import simulate  # noqa: F401


def main() -> None:
    """Entry point: runs the app and turns known errors into one line and a non-zero exit."""
    _register()
    try:
        app(standalone_mode=False)
    except GhcaptureError as exc:
        print(f"ghcapture: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("ghcapture: interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's usage errors and aborts arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise
