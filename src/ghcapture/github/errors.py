"""What can go wrong when talking to GitHub, sorted by what the caller should do about it."""

from __future__ import annotations

from ghcapture.errors import GhcaptureError
from ghcapture.github.redact import redact


class GitHubError(GhcaptureError):
    """A failed GitHub call; the message is one line and never holds a secret."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        # One line: GitHub's messages sometimes carry newlines, the CLI prints one line.
        line = " ".join(redact(message).split())
        super().__init__(line)
        self.message = line
        self.status = status

    def __str__(self) -> str:
        return self.message


class TransientError(GitHubError):
    """5xx, a dropped connection, a read timeout or a body that is not JSON: worth retrying."""


class GraphQLTimeoutError(TransientError):
    """GitHub gave up on a GraphQL query (its 10 s limit); retry with a smaller page."""


class RateLimitedError(GitHubError):
    """A budget is spent; the client waits `wait_seconds` for `resource` and resends."""

    def __init__(
        self, message: str, *, resource: str, wait_seconds: float, status: int | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.resource = resource
        self.wait_seconds = wait_seconds


class PermanentError(GitHubError):
    """GitHub refused the request; sending it again will not help."""


class BadCredentials(PermanentError):
    """401 even with fresh credentials."""

    def __init__(self, message: str = "GitHub rejected the credentials (401 Bad credentials)") -> None:
        super().__init__(message, status=401)


class NotFound(PermanentError):
    """404: the thing does not exist or this token may not see it."""


class Unprocessable(PermanentError):
    """422: GitHub understood the request and refused its content."""


class Forbidden(PermanentError):
    """403 that is not a rate limit: missing permission or a blocked resource."""


class GraphQLQueryError(PermanentError):
    """GraphQL errors that a smaller page or a wait will not fix (NOT_FOUND, MAX_NODE_LIMIT_EXCEEDED, ...)."""

    def __init__(self, message: str, *, types: tuple[str, ...] = (), status: int | None = 200) -> None:
        super().__init__(message, status=status)
        self.types = types
