"""The ghcapture command. Each command group lives in its own module of this package and adds itself
to `app` when imported; `main` imports them all."""

from __future__ import annotations

import errno
import importlib
import os
import pkgutil
import re
import socket
import sys
from typing import TYPE_CHECKING, Any

import typer

from ghcapture import __version__
from ghcapture.config import settings_help_text
from ghcapture.errors import GhcaptureError

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(
    name="ghcapture",
    help="Keep a database of GitHub pull-request activity complete and current.",
    epilog="Settings (environment variables, or keys of ghcapture.toml):\n\n"
    + settings_help_text().replace("\n", "\n\n"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ghcapture {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
    ),
) -> None:
    # Only --version lives here; every command is a subcommand.
    pass


def _flags_show_no_value() -> None:
    """Rich help of typer 0.29 prints a type placeholder (`<bool>`) for every option, flags included;
    a flag takes no value, so it shows none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_ghcapture_flags", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._ghcapture_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_value()


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


# Click's and pydantic's wording of a refused value, in the words of ghcapture's own errors.
_REASONS = [
    (re.compile(r"^Input should be greater than or equal to (.+)$"), r"must be at least \1"),
    (re.compile(r"^Input should be less than or equal to (.+)$"), r"must be at most \1"),
    (re.compile(r"^Input should be greater than (.+)$"), r"must be above \1"),
    (re.compile(r"^Input should be less than (.+)$"), r"must be below \1"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid number.*$"), "must be a number"),
    (re.compile(r"^Value error, (.+)$"), r"\1"),
    (re.compile(r"^Option '(.+)' requires an argument$"), r"\1: needs a value"),
    (re.compile(r"^Got unexpected extra argument(?:\(s\))? \((.+)\)$"), r"unexpected argument: \1"),
    (
        re.compile(r"^No such option: (\S+) \(Possible options: (.+)\)$"),
        r"no such option: \1 (did you mean \2?)",
    ),
]


def _param_name(param: Any) -> str | None:
    if param is None:
        return None
    longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if longs:
        return str(max(longs, key=len))
    return str(param.name).upper() if param.name else None


def usage_error_line(exc: Any) -> str:
    """One line for a usage error of Click: `--limit: must be at least 1`, `no such option: --x`."""
    param = getattr(exc, "param", None)
    name = _param_name(param)
    if name and type(exc).__name__ == "MissingParameter":
        return f"missing {'option' if name.startswith('-') else 'argument'} {name}"
    message = str(getattr(exc, "message", "") or "") if param is not None else exc.format_message()
    message = " ".join(message.split()).rstrip(".")
    for pattern, replacement in _REASONS:
        message = pattern.sub(replacement, message)
    message = message[:1].lower() + message[1:]
    return f"{name}: {message}" if name and not message.startswith(name) else message


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening, so that a server is announced only once it can serve;
    a port in use or an unknown address is one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restarted server may take the port of one whose connections are still closing.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError) as exc:
        sock.close()
        if isinstance(exc, socket.gaierror):
            reason = "unknown address"
        elif isinstance(exc, OSError) and exc.errno is not None:
            reason = os.strerror(exc.errno) if exc.errno != errno.EADDRINUSE else "address already in use"
        else:
            reason = str(exc)
        raise GhcaptureError(f"cannot listen on {host}:{port}: {reason[:1].lower() + reason[1:]}") from None
    sock.set_inheritable(True)
    return sock


def serve_on(asgi: Any, sock: socket.socket) -> None:
    """Serve an ASGI app on an already listening socket until stopped."""
    import uvicorn

    config = uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


_FOLD_FROM = 16  # a cell longer than this may be folded to let its table fit


def print_table(table: Table) -> None:
    """Prints a table that fits the terminal (80 columns when not one): a rule under the header instead
    of a box; short cells kept whole (their headers a word a line when space is short), and long text
    (a repository, a message) wrapped or folded instead of cut, so ids and headers are shown whole."""
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console

    console = Console()
    table.box = box.SIMPLE_HEAD
    table.show_edge = False
    table.pad_edge = False
    table.padding = (0, 1, 0, 0)  # with the blank divider, two spaces between columns
    fits = console.measure(table, options=console.options.update_width(10_000)).maximum <= console.width
    for column in table.columns:
        if column.no_wrap:
            continue
        if max((cell_len(str(c)) for c in column.cells), default=0) <= _FOLD_FROM:
            # Rich shrinks every wrapable column alike; only long text should give way.
            column.no_wrap = True
            if not fits and isinstance(column.header, str):
                column.header = "\n".join(column.header.split())
        else:
            column.overflow = "fold"
    console.print(table)


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
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]  # the help, asked for by giving no command
        else:
            print(f"ghcapture: error: {usage_error_line(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        print("ghcapture: interrupted", file=sys.stderr)
        sys.exit(130)
    if result == 130:
        # Typer turns Ctrl-C into a silent exit 130 before it reaches the handler above.
        print("ghcapture: interrupted", file=sys.stderr)
    if isinstance(result, int) and result:
        sys.exit(result)


def _quiet_retry_library() -> None:
    # The GitHub client logs each retry itself (redacted); stamina's own log line would repeat it bare.
    # Its logger is silenced rather than its hooks replaced, so that stamina is imported only by the
    # commands that talk to GitHub.
    import logging

    logging.getLogger("stamina").disabled = True
