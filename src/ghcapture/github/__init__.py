"""Everything that talks to GitHub: credentials, budgets, retries, GraphQL paging, redaction."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported at once (it needs only the standard library): its function `redact` shares the module's name,
# and a name bound here is not shadowed by the submodule when that is imported.
from ghcapture.github.redact import RedactingFilter, install_log_redaction, redact, register_secret

# Each name is imported from its module when first used, so that a module needing one piece (the budget
# names of ratelimit, say) does not pay for the HTTP client's imports.
_MODULE_OF = {
    "AdaptivePageSize": "ghcapture.github.graphql",
    "AppInstallationAuth": "ghcapture.github.auth",
    "Auth": "ghcapture.github.auth",
    "BadCredentials": "ghcapture.github.errors",
    "ClientStats": "ghcapture.github.http",
    "Forbidden": "ghcapture.github.errors",
    "GitHubClient": "ghcapture.github.http",
    "GitHubError": "ghcapture.github.errors",
    "GraphQLQueryError": "ghcapture.github.errors",
    "GraphQLTimeoutError": "ghcapture.github.errors",
    "NotFound": "ghcapture.github.errors",
    "PermanentError": "ghcapture.github.errors",
    "RateLimitBudget": "ghcapture.github.ratelimit",
    "RateLimitMonitor": "ghcapture.github.ratelimit",
    "RateLimitedError": "ghcapture.github.errors",
    "RestResponse": "ghcapture.github.http",
    "TokenAuth": "ghcapture.github.auth",
    "TransientError": "ghcapture.github.errors",
    "Unprocessable": "ghcapture.github.errors",
    "auth_from_settings": "ghcapture.github.auth",
    "execute_paged": "ghcapture.github.graphql",
    "load_query": "ghcapture.github.graphql",
    "make_app_jwt": "ghcapture.github.auth",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
