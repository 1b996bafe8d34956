"""The ghcapture command. Each command group lives in its own module of this package and adds itself
to `app` when imported; `main` imports them all."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from ghcapture.config import settings_help_text
from ghcapture.errors import GhcaptureError

app = typer.Typer(
    name="ghcapture",
    help="Keep a database of GitHub pull-request activity complete and current.",
    epilog="Settings (environment variables, or keys of ghcapture.toml):\n\n"
    + settings_help_text().replace("\n", "\n\n"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")


def _click_exceptions() -> tuple[type[BaseException], ...]:
    """Usage errors of click and of the click copy that newer typer releases carry."""
    import click

    usage: list[type[BaseException]] = [click.exceptions.ClickException]
    try:
        from typer._click import exceptions as bundled  # type: ignore[import-not-found,unused-ignore]

        usage.append(bundled.ClickException)
    except ImportError:
        pass
    return tuple(usage)


def _quiet_retry_library() -> None:
    # The GitHub client logs each retry itself (redacted); stamina's own log line would repeat it bare.
    import stamina.instrumentation

    stamina.instrumentation.set_on_retry_hooks([])


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns known errors into one line and a non-zero exit."""
    _register()
    _quiet_retry_library()
    import click

    usage_errors = _click_exceptions()
    try:
        result = app(args=argv, standalone_mode=False)
    except GhcaptureError as exc:
        print(f"ghcapture: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        print("ghcapture: aborted", file=sys.stderr)
        sys.exit(1)
    except usage_errors as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        print("ghcapture: interrupted", file=sys.stderr)
        sys.exit(130)
    if isinstance(result, int) and result:
        sys.exit(result)
