"""Everything that talks to GitHub: credentials, budgets, retries, GraphQL paging, redaction."""

from __future__ import annotations

from ghcapture.github.auth import (
    AppInstallationAuth,
    Auth,
    TokenAuth,
    auth_from_settings,
    make_app_jwt,
)
from ghcapture.github.errors import (
    BadCredentials,
    Forbidden,
    GitHubError,
    GraphQLQueryError,
    GraphQLTimeoutError,
    NotFound,
    PermanentError,
    RateLimitedError,
    TransientError,
    Unprocessable,
)
from ghcapture.github.graphql import AdaptivePageSize, execute_paged, load_query
from ghcapture.github.http import ClientStats, GitHubClient, RestResponse
from ghcapture.github.ratelimit import RateLimitBudget, RateLimitMonitor
from ghcapture.github.redact import RedactingFilter, install_log_redaction, redact, register_secret

__all__ = [
    "AdaptivePageSize",
    "AppInstallationAuth",
    "Auth",
    "BadCredentials",
    "ClientStats",
    "Forbidden",
    "GitHubClient",
    "GitHubError",
    "GraphQLQueryError",
    "GraphQLTimeoutError",
    "NotFound",
    "PermanentError",
    "RateLimitBudget",
    "RateLimitMonitor",
    "RateLimitedError",
    "RedactingFilter",
    "RestResponse",
    "TokenAuth",
    "TransientError",
    "Unprocessable",
    "auth_from_settings",
    "execute_paged",
    "install_log_redaction",
    "load_query",
    "make_app_jwt",
    "redact",
    "register_secret",
]
