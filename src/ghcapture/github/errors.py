"""What can go wrong when talking to GitHub, sorted by what the caller should do about it."""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

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


class ConnectionFailed(TransientError):
    """No connection to `origin` (scheme://host[:port]); `reason` is set when the failure is definitive
    (refused, no such host, no route), which on a host never reached means a wrong URL, not a blip."""

    def __init__(self, message: str, *, origin: str, reason: str | None) -> None:
        super().__init__(message)
        self.origin = origin
        self.reason = reason


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


class TokenExchangeLimited(RateLimitedError):
    """A secondary limit on the App's token exchange: the client waits (retry-after, else GitHub's minute)
    before it asks for an installation token again."""

    def __init__(self, message: str, *, retry_after: float | None, status: int | None = None) -> None:
        super().__init__(message, resource="core", wait_seconds=retry_after or 60.0, status=status)
        self.retry_after = retry_after


class PermanentError(GitHubError):
    """GitHub refused the request; sending it again will not help."""


class BadCredentials(PermanentError):
    """401 even with fresh credentials."""

    def __init__(self, message: str = "GitHub rejected the credentials (401 Bad credentials)") -> None:
        super().__init__(message, status=401)


class Unreachable(PermanentError):
    """The first contact with a host failed definitively: retrying for minutes would not fix the URL."""


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


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, without user, password, path or query: safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number: the URL itself will fail to connect
        port = ""
    return f"{parts.scheme}://{host}{port}"


def definitive_connect_reason(exc: BaseException) -> str | None:
    """Why a connection could not be made, if the cause says it will not work on a second try either.

    httpx wraps the socket's OSError (sometimes twice); the errno or the resolver's error is the cause.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "host not found"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, OSError) and current.errno in _DEFINITIVE_ERRNOS:
            return _DEFINITIVE_ERRNOS[current.errno]
        current = current.__cause__ or current.__context__
    return None


_DEFINITIVE_ERRNOS = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
}
