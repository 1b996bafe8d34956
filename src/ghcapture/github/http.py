"""GitHubClient: REST and GraphQL over one httpx client, with budgets, retries and credential renewal."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal

import httpx
import stamina

from ghcapture import __version__
from ghcapture.config import Settings
from ghcapture.errors import ConfigError
from ghcapture.github.auth import API_VERSION_HEADERS, AppInstallationAuth, Auth, auth_from_settings
from ghcapture.github.errors import (
    BadCredentials,
    ConnectionFailed,
    Forbidden,
    GraphQLQueryError,
    GraphQLTimeoutError,
    NotFound,
    PermanentError,
    RateLimitedError,
    TokenExchangeLimited,
    TransientError,
    Unprocessable,
    Unreachable,
    definitive_connect_reason,
    origin_of,
)
from ghcapture.github.ratelimit import CORE, DEFAULT_RESERVE_FRACTION, GRAPHQL, RateLimitMonitor, budget_name
from ghcapture.github.redact import RedactingFilter, register_secret

log = logging.getLogger("ghcapture.github")
# Records from this logger are redacted whatever handlers the application installs.
if not any(isinstance(f, RedactingFilter) for f in log.filters):
    log.addFilter(RedactingFilter())

Kind = Literal["rest", "graphql"]

# The error types one graphql() call accepts, seen by the classifier below without a parameter at each layer.
_TOLERATED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("tolerated", default=frozenset())
GRAPHQL_RATE_LIMIT_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
GRAPHQL_TIMEOUT_STATUSES = frozenset({502, 504})
_TIMEOUT_MESSAGES = ("something went wrong while executing your query", "timeout", "timed out")
_RATE_LIMIT_MESSAGES = ("rate limit", "abuse detection")
_REPO_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)(/.*)?$")


@dataclass
class RestResponse:
    """One REST answer: status, headers, parsed JSON, and the Link rel="next" URL if there is one."""

    status: int
    headers: httpx.Headers
    data: Any
    next_url: str | None
    url: str


@dataclass
class ClientStats:
    """What a client has spent and met, for job rows and the cost report."""

    rest_requests: int = 0
    graphql_requests: int = 0
    graphql_points: int = 0
    retries: int = 0
    waits: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


class _Unauthorized(Exception):
    """A 401; the client renews the credentials, unless it has just renewed them for this request."""


@dataclass
class _CallState:
    """What one call has seen since its last renewal of the credentials."""

    # A non-401 answer since the renewal: the renewed token worked, so a later 401 is a later expiry.
    answered: bool = False


def _github_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(body, dict):
        return ""
    message = str(body.get("message") or "")
    details = []
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            if error.get("message"):
                details.append(str(error["message"]))
            elif error.get("field"):
                details.append(
                    f"{error.get('resource', '')}.{error['field']} {error.get('code', '')}".strip()
                )
        elif isinstance(error, str):
            details.append(error)
    return f"{message}: {'; '.join(details)}" if details else message


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def describe_not_found(path: str) -> str:
    """A 404 in the user's words: which repository or installation is missing."""
    match = _REPO_PATH.match(path)
    if match and match.group(3) in (None, "", "/"):
        return f"repository {match.group(1)}/{match.group(2)} not found or not visible to this token"
    if match and match.group(3) == "/installation":
        return f"no GitHub App installation on {match.group(1)}/{match.group(2)} visible to this App"
    if match:
        return (
            f"{path} not found (repository {match.group(1)}/{match.group(2)} may not exist "
            "or not be visible to this token)"
        )
    return f"{path} not found or not visible to this token"


def reserve_fraction(settings: Settings) -> float:
    """The share of each budget a capture leaves for others (ghcapture.toml: rate_limit_reserve)."""
    value = settings.extra.get("rate_limit_reserve", DEFAULT_RESERVE_FRACTION)
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"rate_limit_reserve must be a number between 0 and 1, got {value!r}") from None
    if not 0 <= fraction < 1:
        raise ConfigError(f"rate_limit_reserve must be at least 0 and below 1, got {fraction}")
    return fraction


class GitHubClient:
    """Talks to GitHub's REST and GraphQL APIs; every call is budgeted, retried and redacted."""

    def __init__(
        self,
        settings: Settings,
        *,
        auth: Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        monitor: RateLimitMonitor | None = None,
        max_attempts: int = 8,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        user_agent: str = f"ghcapture/{__version__}",
        max_rate_limit_waits: int = 1000,
        retry_wait_initial: float = 1.0,
        retry_wait_max: float = 30.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.settings = settings
        self.api_url = settings.github_api_url.rstrip("/")
        self.graphql_url = settings.github_graphql_url or f"{self.api_url}/graphql"
        self.auth: Auth = auth if auth is not None else auth_from_settings(settings, clock=clock)
        for secret in (settings.github_token, settings.github_app_private_key):
            if secret:
                register_secret(secret)
        if monitor is None:
            monitor = RateLimitMonitor(reserve_fraction=reserve_fraction(settings), clock=clock, sleep=sleep)
        self.monitor = monitor
        self.max_attempts = max_attempts
        self.max_rate_limit_waits = max_rate_limit_waits
        self.retry_wait_initial = retry_wait_initial
        self.retry_wait_max = retry_wait_max
        self.clock = clock
        self.sleep = sleep
        self.user_agent = user_agent
        self.stats = ClientStats()
        self._moved: dict[str, str] = {}  # old repository URL prefix -> where GitHub said it moved
        # Origins that have answered at least once: a refused connection to one of them is a blip worth
        # retrying; to any other it is most likely a wrong URL, reported at once.
        self._reached: set[str] = set()
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            headers={**API_VERSION_HEADERS, "User-Agent": user_agent},
            event_hooks={"response": [self._note_reached]},
        )
        if isinstance(self.auth, AppInstallationAuth) and self.auth.http is None:
            self.auth.http = self._http

    @property
    def budget_name(self) -> str:
        """The name of the budget this client spends (see `ratelimit.budget_name`), never a secret."""
        return budget_name(self.settings, getattr(self.auth, "installation_id", None))

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- public calls ---------------------------------------------------------------------------

    async def rest(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> RestResponse:
        """One REST call; raises a PermanentError subclass, or TransientError once retries are spent."""
        url = self._rest_url(path_or_url)
        response, data = await self._call("rest", method.upper(), url, params=params, json=json, cost=1)
        next_link = response.links.get("next", {}).get("url")
        return RestResponse(
            status=response.status_code,
            headers=response.headers,
            data=data,
            next_url=str(response.url.join(next_link)) if next_link else None,
            url=str(response.url),
        )

    async def rest_pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[RestResponse]:
        """Every page of a REST listing, following Link rel="next"."""
        url: str | None = path
        page_params = params
        while url is not None:
            page = await self.rest("GET", url, params=page_params)
            yield page
            url = page.next_url
            # The next link already carries the query string.
            page_params = None

    async def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        estimated_cost: int = 1,
        operation_name: str | None = None,
        tolerate: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """Run a GraphQL query and return its `data`; timeouts raise GraphQLTimeoutError at once.

        Errors whose every `type` is in `tolerate` (e.g. NOT_FOUND for a PR number that does not exist)
        leave their fields null and the rest of the data is returned.
        """
        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = dict(variables)
        if operation_name:
            payload["operationName"] = operation_name
        token = _TOLERATED.set(tolerate)
        try:
            _response, data = await self._call(
                "graphql", "POST", self.graphql_url, params=None, json=payload, cost=max(estimated_cost, 1)
            )
        finally:
            _TOLERATED.reset(token)
        return dict(data)

    async def resolve_installation(self, owner: str, repo: str) -> str | None:
        """For a GitHub App without GITHUB_APP_INSTALLATION_ID: find the installation on owner/repo."""
        if not isinstance(self.auth, AppInstallationAuth):
            return None
        try:
            return await self.auth.resolve_installation(owner, repo, self._http)
        except ConnectionFailed as exc:
            self._raise_if_never_reached(exc)
            raise

    async def prepare_for(self, owner: str, repo: str) -> None:
        """Ready the credentials for calls about owner/repo: a GitHub App without an installation id finds
        it now, since GraphQL paths do not name the repository and so cannot trigger the lookup."""
        auth = self.auth
        if isinstance(auth, AppInstallationAuth) and auth.installation_id is None:
            await self.resolve_installation(owner, repo)

    # -- the request loop -----------------------------------------------------------------------

    def _rest_url(self, path_or_url: str) -> str:
        url = path_or_url
        if not url.startswith(("http://", "https://")):
            url = f"{self.api_url}/{url.lstrip('/')}"
        # A repository that moved during the run is asked for where it now is, not through a 301 each time.
        for old, new in self._moved.items():
            if url.startswith(old) and url[len(old) : len(old) + 1] in ("", "/", "?"):
                return new + url[len(old) :]
        return url

    def _remember_move(self, response: httpx.Response) -> None:
        """After a 301 from /repos/OWNER/NAME/..., the repository's new address for the rest of the run."""
        for hop in response.history:
            if hop.status_code != 301 or "location" not in hop.headers:
                continue
            old_match = _REPO_PATH.match(self._path(str(hop.url)))
            target = hop.url.join(hop.headers["location"])
            new_path = self._path(str(target))
            if old_match is None:
                continue
            suffix = old_match.group(3) or ""
            if suffix and not new_path.endswith(suffix):
                continue
            old_prefix = f"{self.api_url}/repos/{old_match.group(1)}/{old_match.group(2)}"
            new_prefix = str(target.copy_with(query=None))
            self._moved[old_prefix] = new_prefix[: len(new_prefix) - len(suffix)] if suffix else new_prefix

    def _path(self, url: str) -> str:
        """The URL as GitHub's docs write it: /repos/o/r/pulls, without host, /api/v3 or query."""
        if url.startswith(self.api_url):
            rest = url[len(self.api_url) :]
        else:
            rest = httpx.URL(url).path
        return "/" + rest.split("?", 1)[0].lstrip("/")

    async def _call(
        self,
        kind: Kind,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        cost: int,
    ) -> tuple[httpx.Response, Any]:
        resource = GRAPHQL if kind == "graphql" else self._rest_resource(url)
        state = _CallState()
        renewed = False
        waits = 0
        while True:
            try:
                return await self._call_with_retries(kind, resource, method, url, params, json, cost, state)
            except RateLimitedError as exc:
                waits += 1
                self.stats.waits += 1
                if isinstance(exc, TokenExchangeLimited):
                    # The exchange happens before any budgeted request: wait for it here.
                    self.monitor.note_secondary_limit(CORE, exc.retry_after)
                    await self.monitor.acquire(CORE, 0)
                if waits > self.max_rate_limit_waits:
                    raise RateLimitedError(
                        f"{method} {self._path(url)}: still rate limited "
                        f"after {self.max_rate_limit_waits} waits",
                        resource=exc.resource,
                        wait_seconds=exc.wait_seconds,
                        status=exc.status,
                    ) from None
            except _Unauthorized:
                # Installation tokens expire (and GitHub revokes them) at any time, again and again in a
                # long run: each 401 renews. Only a 401 on the very token just renewed is a real refusal.
                if not self.auth.renewable or (renewed and not state.answered):
                    raise BadCredentials() from None
                renewed = True
                state.answered = False
                log.warning("%s %s: 401, renewing the credentials", method, self._path(url))
                self.auth.invalidate()

    def _should_retry(self, exc: Exception) -> bool:
        # GraphQL timeouts go back to the caller, who retries with a smaller page.
        retry = isinstance(exc, TransientError) and not isinstance(exc, GraphQLTimeoutError)
        if retry:
            log.warning("transient failure: %s", exc)
        return retry

    async def _call_with_retries(
        self,
        kind: Kind,
        resource: str,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        cost: int,
        state: _CallState,
    ) -> tuple[httpx.Response, Any]:
        async for attempt in stamina.retry_context(
            on=self._should_retry,
            attempts=self.max_attempts,
            timeout=None,
            wait_initial=self.retry_wait_initial,
            wait_max=self.retry_wait_max,
        ):
            with attempt:
                if attempt.num > 1:
                    self.stats.retries += 1
                    log.warning(
                        "%s %s: attempt %d of %d", method, self._path(url), attempt.num, self.max_attempts
                    )
                return await self._attempt(kind, resource, method, url, params, json, cost, state)
        raise AssertionError("stamina ended without an attempt")  # pragma: no cover

    def _rest_resource(self, url: str) -> str:
        # GitHub counts search in its own pool.
        return "search" if self._path(url).startswith("/search/") else CORE

    async def _attempt(
        self,
        kind: Kind,
        resource: str,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        cost: int,
        state: _CallState,
    ) -> tuple[httpx.Response, Any]:
        path = self._path(url)
        try:
            await self._resolve_installation_for(path)
            await self.monitor.acquire(resource, cost)
            headers = {"Authorization": await self.auth.authorization(self._http)}
        except ConnectionFailed as exc:  # the App's token exchange is often the first contact
            self._raise_if_never_reached(exc)
            raise
        if kind == "graphql":
            self.stats.graphql_requests += 1
        else:
            self.stats.rest_requests += 1
        try:
            response = await self._http.request(method, url, params=params, json=json, headers=headers)
            if response.history:
                self._remember_move(response)
        except httpx.ConnectError as exc:
            self.stats.count("connection")
            reason = definitive_connect_reason(exc)
            failure = ConnectionFailed(
                f"{method} {path}: connection failed ({reason or type(exc).__name__})",
                origin=origin_of(url),
                reason=reason,
            )
            self._raise_if_never_reached(failure)
            raise failure from None
        except httpx.TimeoutException as exc:
            if kind == "graphql" and isinstance(exc, httpx.ReadTimeout):
                self.stats.count("graphql_timeout")
                self.stats.graphql_points += cost  # GitHub charges a query it was still running
                raise GraphQLTimeoutError(
                    f"{method} {path}: no answer in time ({type(exc).__name__})"
                ) from None
            self.stats.count("timeout")
            raise TransientError(f"{method} {path}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            self.stats.count("connection")
            raise TransientError(f"{method} {path}: connection failed ({type(exc).__name__})") from None
        if response.status_code != 401:
            state.answered = True
        try:
            return self._answer(kind, resource, method, path, response)
        except GraphQLTimeoutError:
            # GitHub keeps the points of a query it stopped at its time limit.
            self.stats.graphql_points += cost
            raise

    def _answer(
        self, kind: Kind, resource: str, method: str, path: str, response: httpx.Response
    ) -> tuple[httpx.Response, Any]:
        self.monitor.observe_headers(response.headers)
        log.debug(
            "%s %s -> %d (%s remaining %s)",
            method,
            path,
            response.status_code,
            response.headers.get("x-ratelimit-resource", resource),
            response.headers.get("x-ratelimit-remaining", "?"),
        )
        self._raise_for_status(kind, resource, method, path, response)
        data = self._json(method, path, response)
        if kind == "graphql":
            data = self._graphql_data(method, path, response, data)
        self.monitor.note_success(resource)
        return response, data

    async def _note_reached(self, response: httpx.Response) -> None:
        self._reached.add(origin_of(str(response.request.url)))

    def _raise_if_never_reached(self, failure: ConnectionFailed) -> None:
        """A definitive connection failure to a host that never answered: a wrong URL or no network."""
        if failure.reason is None or failure.origin in self._reached:
            return
        setting = "GITHUB_GRAPHQL_URL" if failure.origin != origin_of(self.api_url) else "GITHUB_API_URL"
        raise Unreachable(f"cannot reach {failure.origin} ({failure.reason}); check {setting}") from None

    async def _resolve_installation_for(self, path: str) -> None:
        auth = self.auth
        if isinstance(auth, AppInstallationAuth) and auth.installation_id is None:
            match = _REPO_PATH.match(path)
            if match:
                await auth.resolve_installation(match.group(1), match.group(2), self._http)

    # -- classification -------------------------------------------------------------------------

    def _json(self, method: str, path: str, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            self.stats.count("malformed_json")
            raise TransientError(
                f"{method} {path}: GitHub's answer is not valid JSON", status=response.status_code
            ) from None

    def _raise_for_status(
        self, kind: Kind, resource: str, method: str, path: str, response: httpx.Response
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 401:
            self.stats.count("unauthorized")
            raise _Unauthorized()
        message = _github_message(response)
        if status in (403, 429):
            self._raise_if_rate_limited(resource, method, path, response, message)
            self.stats.count("forbidden")
            raise Forbidden(f"GitHub refused {method} {path} (403): {message or 'Forbidden'}", status=status)
        if status == 404:
            self.stats.count("not_found")
            raise NotFound(describe_not_found(path), status=404)
        if status == 422:
            self.stats.count("unprocessable")
            raise Unprocessable(
                f"GitHub refused {method} {path} (422): {message or 'Unprocessable Entity'}", status=422
            )
        if status < 500:
            self.stats.count("client_error")
            raise PermanentError(f"GitHub refused {method} {path} ({status}): {message}", status=status)
        if kind == "graphql" and status in GRAPHQL_TIMEOUT_STATUSES:
            self.stats.count("graphql_timeout")
            raise GraphQLTimeoutError(f"{method} {path}: GitHub timed out ({status})", status=status)
        self.stats.count("server_error")
        raise TransientError(f"{method} {path}: GitHub answered {status}", status=status)

    def _raise_if_rate_limited(
        self, resource: str, method: str, path: str, response: httpx.Response, message: str
    ) -> None:
        headers = response.headers
        retry_after = _retry_after_seconds(headers)
        spent = headers.get("x-ratelimit-remaining") == "0"
        mentions_limit = any(text in message.lower() for text in _RATE_LIMIT_MESSAGES)
        # GitHub answers 429 only for limits.
        if not (retry_after is not None or spent or mentions_limit or response.status_code == 429):
            return
        limited = headers.get("x-ratelimit-resource") or resource
        if retry_after is None and spent:
            self.stats.count("rate_limited")
            wait = self.monitor.note_primary_limit(limited)
        else:
            self.stats.count("secondary_limit")
            wait = self.monitor.note_secondary_limit(limited, retry_after)
        raise RateLimitedError(
            f"{method} {path}: rate limited ({response.status_code}), waiting {wait:.0f} s",
            resource=limited,
            wait_seconds=wait,
            status=response.status_code,
        )

    def _graphql_data(self, method: str, path: str, response: httpx.Response, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            self.stats.count("malformed_json")
            raise TransientError(f"{method} {path}: GitHub's GraphQL answer is not an object", status=200)
        data = body.get("data")
        rate_limit = data.get("rateLimit") if isinstance(data, dict) else None
        if isinstance(rate_limit, dict):
            self.monitor.observe_graphql(rate_limit)
            cost = rate_limit.get("cost")
            if isinstance(cost, int):
                self.stats.graphql_points += cost
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        tolerated = _TOLERATED.get()
        if (
            errors
            and isinstance(data, dict)
            and tolerated
            and all(e.get("type") in tolerated for e in errors)
        ):
            errors = []
        if errors:
            self._raise_graphql_errors(method, path, response, data, errors)
        if not isinstance(data, dict):
            self.stats.count("malformed_json")
            raise TransientError(f"{method} {path}: GitHub's GraphQL answer has no data", status=200)
        return data

    def _raise_graphql_errors(
        self, method: str, path: str, response: httpx.Response, data: Any, errors: list[dict[str, Any]]
    ) -> None:
        types = tuple(str(e["type"]) for e in errors if e.get("type"))
        messages = [str(e.get("message") or "") for e in errors]
        summary = "; ".join(m for m in messages if m)[:500] or "GraphQL error"
        if GRAPHQL_RATE_LIMIT_TYPES.intersection(types):
            self.stats.count("graphql_rate_limited")
            wait = self.monitor.note_primary_limit(GRAPHQL)
            raise RateLimitedError(
                f"{method} {path}: GraphQL budget spent, waiting {wait:.0f} s",
                resource=GRAPHQL,
                wait_seconds=wait,
                status=response.status_code,
            )
        lowered = [m.lower() for m in messages]
        if any("secondary rate limit" in m for m in lowered):
            self.stats.count("secondary_limit")
            wait = self.monitor.note_secondary_limit(GRAPHQL, _retry_after_seconds(response.headers))
            raise RateLimitedError(
                f"{method} {path}: secondary rate limit, waiting {wait:.0f} s",
                resource=GRAPHQL,
                wait_seconds=wait,
                status=response.status_code,
            )
        timed_out = any(text in m for m in lowered for text in _TIMEOUT_MESSAGES)
        untyped = not types and not any(e.get("extensions") for e in errors)
        # Partial data with untyped errors is how GitHub reports a query cut short.
        if timed_out or (untyped and isinstance(data, dict)):
            self.stats.count("graphql_timeout")
            raise GraphQLTimeoutError(f"{method} {path}: {summary}", status=response.status_code)
        self.stats.count("graphql_error")
        label = f" ({', '.join(sorted(set(types)))})" if types else ""
        raise GraphQLQueryError(f"GraphQL query failed{label}: {summary}", types=types)
