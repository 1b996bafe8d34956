"""Errors a user can act on: each carries one clear line for the command line to print."""


class GhcaptureError(Exception):
    """An error with a message fit for one line on stderr; the CLI prints it and exits non-zero."""

    exit_code = 1


class ConfigError(GhcaptureError):
    """A setting is missing or malformed."""

    exit_code = 2


class InputError(GhcaptureError):
    """A command argument is malformed (a repository name, a date, a list of numbers)."""

    exit_code = 2
