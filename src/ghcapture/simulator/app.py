"""The simulator's HTTP face: GitHub's REST API (at / and /api/v3), GraphQL (/graphql, /api/graphql), App
installation tokens, the Actions API, and its own counters and controls under /_simulator/."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from ghcapture.simulator import rest_shapes
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.limits import FaultPlan, LimitSettings, RateLimits, Stats
from ghcapture.simulator.model import PullRequest, Repository
from ghcapture.simulator.server_time import SERVER_TIMEOUT_MS, LinearServerTime, ServerTime
from ghcapture.simulator.world import World

DOCS = "https://docs.github.com/rest"
SOMETHING_WENT_WRONG = (
    "Something went wrong while executing your query. This may be the result of a timeout, or it could be a "
    "GitHub bug. Please include `{rid}` when reporting this issue."
)
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out "
    "to GitHub Support for help, please include the request ID {rid}."
)
HTML_502 = "<html><body><h1>502 Bad Gateway</h1>\n<p>GitHub could not answer in time.</p></body></html>"


class ConnectionReset(Exception):
    """Raised inside a handler to make the server drop the connection without an answer."""


class DroppedConnection(Response):
    """Starts an answer and stops after `body` (half a JSON document, or nothing after the headers): the
    server then closes the connection, as a reset does."""

    def __init__(self, body: bytes = b'{"data":') -> None:
        super().__init__(status_code=200)
        self.partial = body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": self.partial, "more_body": True})


@dataclass
class GitHubAppIdentity:
    """The one GitHub App the simulator knows: its id, client id, public key and installation."""

    app_id: int
    public_key_pem: str
    installation_id: int = 1
    client_id: str = "Iv1.simulatorapp00"
    slug: str = "ghcapture-simulator"


# Every personal token the simulator accepts belongs to this user unless `token_users` says otherwise;
# GitHub's budgets belong to the user, not to the token string.
DEFAULT_USER = "octocat"
PROFILES = ("realistic", "fast")


@dataclass
class SimulatorConfig:
    """How the simulator behaves. The bare default answers at once (the fast profile, for unit tests);
    `SimulatorConfig.realistic()` answers with GitHub's server time, on a clock compressed by `time_scale`."""

    limits: LimitSettings = field(default_factory=LimitSettings)
    faults: FaultPlan = field(default_factory=FaultPlan)
    server_time: ServerTime | None = None  # None: every answer at once
    latency_ms_per_node: float = 0.0  # shorthand for a fixed server time per GraphQL node
    time_scale: float = 1.0  # real seconds slept per simulated second (a compressed clock below 1)
    server_timeout_ms: float = SERVER_TIMEOUT_MS  # GitHub stops a request after 10 s
    tokens: frozenset[str] | None = None  # None: any token is accepted
    token_users: dict[str, str] = field(default_factory=dict)  # personal token -> the login it belongs to
    token_lifetime: float = 3600.0  # installation tokens
    app: GitHubAppIdentity | None = None
    seed: int = 0  # of the random choices GitHub's answers vary by (429 or 403, retry-after or not)
    profile: str = "fast"

    def __post_init__(self) -> None:
        if self.server_time is None and self.latency_ms_per_node > 0:
            self.server_time = LinearServerTime(per_node_ms=self.latency_ms_per_node)

    @classmethod
    def realistic(cls, time_scale: float = 1.0, **options: Any) -> SimulatorConfig:
        """GitHub's server time, limits and answers; `time_scale` < 1 plays GitHub's clock faster (its
        hour, its minutes, its retry-after and its server time alike)."""
        if not time_scale > 0:
            raise ValueError("time_scale must be above 0")
        limits = options.pop("limits", None)
        if limits is None:
            limits = LimitSettings(window=3600.0 * time_scale)
        seed = int(options.get("seed", 0))
        server_time = options.pop("server_time", None)
        if server_time is None and not options.get("latency_ms_per_node"):
            server_time = ServerTime(seed=seed)
        return cls(
            limits=limits,
            server_time=server_time,
            time_scale=time_scale,
            profile="realistic",
            **options,
        )

    @classmethod
    def for_profile(cls, profile: str, time_scale: float = 1.0, **options: Any) -> SimulatorConfig:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        if profile == "realistic":
            return cls.realistic(time_scale, **options)
        return cls(**options)


@dataclass
class ApiAnswer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Handler = Callable[[Request, "Simulator"], Awaitable[ApiAnswer]]


class Simulator:
    """All the state behind one simulated GitHub: data, limits, faults, tokens, runs and counters."""

    def __init__(self, world: World, config: SimulatorConfig | None = None) -> None:
        self.world = world
        self.config = config or SimulatorConfig()
        self.limits = RateLimits(self.config.limits, repositories=lambda: len(world.unique_repositories))
        self.rng = random.Random(self.config.seed)
        self.stats = Stats()
        self.installation_tokens: dict[str, float] = {}  # token -> expires at
        self._listing_cache: dict[tuple[int, str], tuple[int, list[Any], list[Any]]] = {}
        # (arrival, api, status, seconds the client was told to wait or None): for tests of client manners
        self.request_log: list[tuple[float, str, int, float | None]] = []
        self._request_ids = 0
        from ghcapture.simulator.actions import Actions

        self.actions = Actions(self)
        from ghcapture.simulator.issues import IssueTracker

        self.issues = IssueTracker(self)

    # -- identity ------------------------------------------------------------------------------------
    def request_id(self) -> str:
        self._request_ids += 1
        return f"C0DE:{self._request_ids:06X}:{secrets.token_hex(3).upper()}"

    def token_of(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        return None

    def principal_of(self, token: str | None, request: Request | None = None) -> str:
        """Whose budget a request spends: the App installation's for every installation token (kept
        across renewals), the user's for every personal token of that user, else the caller's address."""
        if token is None:
            host = request.client.host if request is not None and request.client else "?"
            return f"anonymous:{host}"
        if token in self.installation_tokens:
            app = self.config.app
            return f"installation:{app.installation_id if app else 1}"
        return f"user:{self.config.token_users.get(token, DEFAULT_USER)}"

    def principal_label(self, principal: str) -> str:
        """The words GitHub's limit messages use for a principal: "user ID 1", "installation ID 7"."""
        kind, _, name = principal.partition(":")
        if kind == "installation":
            return f"installation ID {name}"
        if kind == "user":
            user = self.world.user(name)
            return f"user ID {user.id if user is not None else 1}"
        return "your IP address"

    def token_status(self, token: str | None) -> str:
        """'anonymous', 'valid', 'expired' or 'invalid'."""
        if token is None:
            return "anonymous"
        if token in self.installation_tokens:
            return "valid" if time.time() < self.installation_tokens[token] else "expired"
        if self.config.tokens is None or token in self.config.tokens:
            return "valid"
        return "invalid"

    def mint_installation_token(self) -> tuple[str, float]:
        # Installation tokens have no fixed length; clients must not assume one.
        length = secrets.choice(range(36, 73))
        token = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))
        expires = time.time() + self.config.token_lifetime
        self.installation_tokens[token] = expires
        return token, expires

    def verify_app_jwt(self, request: Request) -> str | None:
        """None when the request carries a valid App JWT, else GitHub's message for why not."""
        app = self.config.app
        token = self.token_of(request)
        if app is None:
            return "No GitHub App is configured on this server."
        if token is None:
            return "A JSON web token could not be decoded"
        try:
            claims = jwt.decode(
                token,
                app.public_key_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                leeway=60,
            )
        except jwt.ExpiredSignatureError:
            return (
                "'Expiration time' claim ('exp') must be a numeric value representing the future time "
                "at which the assertion expires"
            )
        except jwt.PyJWTError:
            return "A JSON web token could not be decoded"
        if str(claims["iss"]) not in (str(app.app_id), app.client_id):
            return "Integration not found"
        if claims["exp"] - time.time() > 600 + 5:
            return "'Expiration time' claim ('exp') is too far in the future"
        if claims["iat"] > time.time() + 60:
            return (
                "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
                "was issued"
            )
        return None

    # -- listings ------------------------------------------------------------------------------------
    def listing(self, repo: Repository, kind: str) -> tuple[list[Any], list[Any]]:
        """Every review comment or issue comment of a repository with its PR, sorted by (updated_at, id)."""
        key = (repo.id, kind)
        cached = self._listing_cache.get(key)
        if cached is not None and cached[0] == repo.version:
            return cached[1], cached[2]
        items = [(c, pr) for pr in repo.pull_requests for c in getattr(pr, kind)]
        items.sort(key=lambda x: (x[0].updated_at, x[0].id))
        keys = [c.updated_at for c, _pr in items]
        self._listing_cache[key] = (repo.version, items, keys)
        return items, keys

    # -- the app -------------------------------------------------------------------------------------
    def asgi(self) -> Starlette:
        from ghcapture.simulator import routes

        # GitHub's JSON 404 for any other path comes last, after every route of every API.
        api_routes = [
            *routes.rest_routes(self),
            *self.actions.routes(),
            *self.issues.routes(),
            *routes.not_found_routes(self),
        ]
        gql = [
            Route("/graphql", self._graphql_endpoint, methods=["POST"]),
            Route("/api/graphql", self._graphql_endpoint, methods=["POST"]),
        ]
        control = routes.control_routes(self)
        return Starlette(routes=[*gql, *control, Mount("/api/v3", routes=api_routes), *api_routes])

    async def _graphql_endpoint(self, request: Request) -> Response:
        from ghcapture.simulator.graphql_endpoint import graphql_handler

        return await run_api(request, self, "graphql", graphql_handler)


def rate_headers(budget: Any, resource: str) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(budget.limit),
        "x-ratelimit-remaining": str(budget.remaining),
        "x-ratelimit-reset": str(int(budget.reset_at)),
        "x-ratelimit-used": str(budget.used),
        "x-ratelimit-resource": resource,
    }


def json_response(answer: ApiAnswer, request_id: str) -> Response:
    headers = {
        "x-github-request-id": request_id,
        "x-github-api-version-selected": "2022-11-28",
        **answer.headers,
    }
    if answer.raw is not None:
        return Response(
            answer.raw,
            status_code=answer.status,
            headers=headers,
            media_type=headers.pop("content-type", "application/json; charset=utf-8"),
        )
    if answer.status == 204 or answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    payload = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(
        payload, status_code=answer.status, headers=headers, media_type="application/json; charset=utf-8"
    )


def error(status: int, message: str, **extra: Any) -> ApiAnswer:
    return ApiAnswer(status, {"message": message, "documentation_url": DOCS, "status": str(status), **extra})


# GitHub's answer to a request it stopped at its 10 s limit (docs.github.com/en/rest/using-the-rest-api/
# troubleshooting-the-rest-api#timeouts); GraphQL's gateway also answers 502 with a JSON "Something went
# wrong" body (turbot/steampipe-plugin-github#471).
TIMED_OUT = (
    "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request "
    "and contact us if the problem persists."
)
CONDITIONAL_METHODS = ("GET", "HEAD")


class HeadersOnly(Exception):
    """Raised inside a handler to send an answer's headers and then close the connection."""


@dataclass
class Call:
    """One API request as the limits see it: who spends, on what, and what the answer was."""

    request: Request
    api: str
    rid: str
    token: str | None
    principal: str
    resource: str
    arrived: float
    server_ms: float = 0.0


def scaled_seconds(sim: Simulator, seconds: float) -> float:
    """A duration of GitHub's clock in real seconds (the compressed clock of the realistic profile)."""
    return seconds * sim.config.limits.scale


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def secondary_limit(sim: Simulator, call: Call, wait: float, reason: str) -> ApiAnswer:
    """GitHub's secondary-limit answer. GitHub answers 403 or 429, sometimes with `retry-after` and
    sometimes without ("wait for at least one minute"), with the primary budget's x-ratelimit-* headers
    (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit). The
    fast profile always answers 403 with retry-after, so that tests wait seconds, not minutes."""
    sim.stats.limits[reason] += 1
    realistic = sim.config.profile == "realistic"
    status = sim.rng.choice((403, 429)) if realistic else 403
    with_retry_after = sim.rng.random() < 0.5 if realistic else True
    if with_retry_after:
        sim.limits.block(call.principal, wait)
    else:
        # Without retry-after GitHub's rule is at least a minute; a client that comes back sooner is refused.
        sim.limits.block(call.principal, max(wait, sim.config.limits.minute))
    budget = sim.limits.budget(call.principal, "graphql" if call.api == "graphql" else "core")
    headers = rate_headers(budget, "graphql" if call.api == "graphql" else "core")
    if with_retry_after:
        headers["retry-after"] = retry_after_header(wait)
    return ApiAnswer(status, {"message": SECONDARY.format(rid=call.rid), "documentation_url": DOCS}, headers)


def primary_limit(sim: Simulator, call: Call, budget: Any) -> ApiAnswer:
    """The primary budget is spent: 403 (or 429) with remaining 0 and the reset time."""
    sim.stats.limits["primary_search" if call.resource == "search" else "primary_rest"] += 1
    message = f"API rate limit exceeded for {sim.principal_label(call.principal)}."
    headers = rate_headers(budget, call.resource)
    return ApiAnswer(403, {"message": message, "documentation_url": DOCS}, headers)


async def run_api(
    request: Request,
    sim: Simulator,
    api: str,
    handler: Handler,
    *,
    charge: bool = True,
    endpoint: str | None = None,
) -> Response:
    """Authentication, secondary limits, faults, primary limits, server time and conditional requests
    around one API handler, in GitHub's order."""
    rid = sim.request_id()
    sim.stats.requests[api] += 1
    route = request.scope.get("route")
    sim.stats.endpoints[endpoint or f"{request.method} {getattr(route, 'path', request.url.path)}"] += 1
    token = sim.token_of(request)
    status = sim.token_status(token)
    if api == "app":
        status = "valid"  # App endpoints authenticate with a JWT, checked by their handlers
    if status in ("invalid", "expired") or (api == "graphql" and status == "anonymous"):
        message = (
            "This endpoint requires you to be authenticated." if status == "anonymous" else "Bad credentials"
        )
        return json_response(error(401, message), rid)
    principal = sim.principal_of(token, request)
    resource = {"graphql": "graphql", "search": "search"}.get(api, "core")
    call = Call(request, api, rid, token, principal, resource, time.time())
    if not sim.limits.enter(principal):
        wait = 1.0 if sim.config.profile == "fast" else sim.config.limits.minute
        response = json_response(secondary_limit(sim, call, wait, "secondary_concurrency"), rid)
        owed = _owed_wait(response, call.arrived, sim)
        sim.request_log.append((call.arrived, api, response.status_code, owed))
        return response
    try:
        response = await _run_api(call, sim, handler, charge)
    except ConnectionReset:
        sim.request_log.append((call.arrived, api, 0, None))
        return DroppedConnection()
    except HeadersOnly:
        sim.request_log.append((call.arrived, api, 0, None))
        return DroppedConnection(b"")
    finally:
        sim.limits.leave(principal)
    sim.request_log.append((call.arrived, api, response.status_code, _owed_wait(response, call.arrived, sim)))
    return response


def _owed_wait(response: Response, now: float, sim: Simulator) -> float | None:
    """The wait GitHub's rules impose after this answer: retry-after; until reset when none remain; at
    least a minute (on the simulator's clock) after a secondary limit without either."""
    if "retry-after" in response.headers:
        return float(response.headers["retry-after"])
    if response.headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in response.headers:
        return max(0.0, float(response.headers["x-ratelimit-reset"]) - now)
    if response.status_code in (403, 429) and b"secondary rate limit" in bytes(response.body):
        # GitHub's minute on this simulator's clock: the wait it enforces (a second on the fast profile).
        return 1.0 if sim.config.profile == "fast" else sim.config.limits.minute
    return None


def _is_listing(request: Request) -> bool:
    """A later page of a repository-wide listing: where GitHub may refuse a deep page number."""
    path = getattr(request.scope.get("route"), "path", "")
    later = request.query_params.get("page", "1") not in ("", "1")
    return not path.endswith("}") and "{number}" not in path and later


async def _run_api(call: Call, sim: Simulator, handler: Handler, charge: bool) -> Response:
    request, api, rid, principal = call.request, call.api, call.rid, call.principal
    blocked = sim.limits.blocked_for(principal)
    if blocked is not None:
        # Requests during a wait GitHub asked for are refused again.
        return json_response(secondary_limit(sim, call, blocked, "secondary_during_wait"), rid)
    fault = sim.config.faults.next_fault(
        api,
        installation=call.token in sim.installation_tokens,
        listing=_is_listing(request),
        repository="owner" in request.path_params,
    )
    if fault is not None:
        sim.stats.faults[fault] += 1
        answer = await serve_fault(sim, fault, call)
        if answer is not None:
            return json_response(answer, rid)
    if api != "app":
        points = 1 if api == "graphql" or request.method in CONDITIONAL_METHODS else 5
        wait = sim.limits.secondary_points(principal, "graphql" if api == "graphql" else "rest", points)
        if wait is not None:
            return json_response(secondary_limit(sim, call, wait, "secondary_points"), rid)
        cpu_wait = sim.limits.cpu_wait(principal, api)
        if cpu_wait is not None:
            return json_response(secondary_limit(sim, call, cpu_wait, "secondary_cpu"), rid)
    if api == "graphql":
        answer = await handler(request, sim)
        return json_response(answer, rid)
    budget = sim.limits.budget(principal, call.resource)
    if charge and budget.remaining <= 0:
        return json_response(primary_limit(sim, call, budget), rid)
    answer = await handler(request, sim)
    await serve_time(sim, call, answer)
    if call.server_ms > sim.config.server_timeout_ms:
        sim.stats.faults["timeout"] += 1
        charged = sim.limits.charge(principal, call.resource, 1)[1] if charge else budget
        headers = rate_headers(charged, call.resource)
        return json_response(ApiAnswer(504, {"message": TIMED_OUT, "documentation_url": DOCS}, headers), rid)
    conditional = _not_modified(request, answer, principal)
    if conditional is not None:
        # "Making a conditional request does not count against your primary rate limit if a 304 response
        # is returned" (docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
        sim.stats.not_modified += 1
        conditional.headers = {**rate_headers(budget, call.resource), **conditional.headers}
        return json_response(conditional, rid)
    if charge:
        ok, budget = sim.limits.charge(principal, call.resource, 1)
        if not ok:
            return json_response(primary_limit(sim, call, budget), rid)
        if call.resource == "core":
            sim.stats.rest_charged += 1
        else:
            sim.stats.search_charged += 1
    answer.headers = {**rate_headers(budget, call.resource), **answer.headers}
    return json_response(answer, rid)


async def serve_time(sim: Simulator, call: Call, answer: ApiAnswer) -> None:
    """Sleeps for the server time of a REST answer (at most GitHub's 10 s) and counts it as CPU time."""
    model = sim.config.server_time
    if model is None:
        return
    items = len(answer.body) if isinstance(answer.body, list) else 1
    path = getattr(call.request.scope.get("route"), "path", "")
    diffs = 1 if path.endswith("/files") else 0
    call.server_ms = model.rest_ms(items=items, diffs=diffs)
    sim.stats.server_ms += call.server_ms
    sim.limits.spend_cpu(call.principal, call.api, min(call.server_ms, sim.config.server_timeout_ms))
    await asyncio.sleep(min(call.server_ms, sim.config.server_timeout_ms) * sim.config.time_scale / 1000.0)


def _etag(principal: str, answer: ApiAnswer) -> str:
    # GitHub's ETags vary with the caller (its answers carry `Vary: Authorization`) and are weak.
    digest = hashlib.sha256(principal.encode())
    digest.update(answer.raw if answer.raw is not None else json.dumps(answer.body, sort_keys=True).encode())
    return f'W/"{digest.hexdigest()[:40]}"'


def _not_modified(request: Request, answer: ApiAnswer, principal: str) -> ApiAnswer | None:
    """Adds ETag to a cacheable answer; a 304 when the client's If-None-Match / If-Modified-Since holds."""
    if request.method not in CONDITIONAL_METHODS or answer.status != 200 or answer.body is None:
        return None
    etag = _etag(principal, answer)
    answer.headers = {**answer.headers, "etag": etag, "vary": "Accept, Authorization, Cookie, X-GitHub-OTP"}
    validators = {"etag": etag}
    if "last-modified" in answer.headers:
        validators["last-modified"] = answer.headers["last-modified"]
    wanted = request.headers.get("if-none-match")
    if wanted is not None:
        # Weak comparison, as RFC 9110 asks for If-None-Match.
        tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
        if "*" in tags or etag.removeprefix("W/") in tags:
            return ApiAnswer(304, None, validators)
        return None
    since = request.headers.get("if-modified-since")
    modified = answer.headers.get("last-modified")
    if since and modified:
        try:
            if parsedate_to_datetime(modified) <= parsedate_to_datetime(since):
                return ApiAnswer(304, None, validators)
        except (TypeError, ValueError):
            return None
    return None


async def serve_fault(sim: Simulator, kind: str, call: Call) -> ApiAnswer | None:
    """The answer for an injected fault; None when the fault only delays or changes the real answer."""
    rid, token = call.rid, call.token
    if kind == "502":
        return ApiAnswer(502, None, raw=b"", headers={"content-type": "text/plain"})
    if kind == "502-html":
        return ApiAnswer(
            502, None, raw=HTML_502.encode(), headers={"content-type": "text/html; charset=utf-8"}
        )
    if kind == "504":
        return ApiAnswer(504, None, raw=b"", headers={"content-type": "text/plain"})
    if kind == "something-went-wrong":
        return ApiAnswer(200, {"data": None, "errors": [{"message": SOMETHING_WENT_WRONG.format(rid=rid)}]})
    if kind == "partial":
        return ApiAnswer(
            200,
            {
                "data": {"repository": None},
                "errors": [
                    {
                        "message": SOMETHING_WENT_WRONG.format(rid=rid),
                        "path": ["repository"],
                        "locations": [{"line": 2, "column": 3}],
                    }
                ],
            },
        )
    if kind in ("secondary", "secondary-429"):
        sim.stats.limits["secondary_injected"] += 1
        resource = "graphql" if call.api == "graphql" else "core"
        headers = rate_headers(sim.limits.budget(call.principal, resource), resource)
        body = {"message": SECONDARY.format(rid=rid), "documentation_url": DOCS}
        # The fast profile keeps injected waits to a second, so that tests do not sit out GitHub's minute.
        wait = 1.0 if sim.config.profile == "fast" else sim.config.limits.minute
        sim.limits.block(call.principal, wait)
        if kind == "secondary-429":
            # GitHub's other form: 429 and no retry-after, so the client must wait at least a minute.
            return ApiAnswer(429, body, headers)
        return ApiAnswer(403, body, {**headers, "retry-after": retry_after_header(wait)})
    if kind == "graphql-rate-limit":
        sim.stats.limits["primary_graphql_injected"] += 1
        # Spent until a reset a minute away (a second on the fast profile, so tests do not wait a minute).
        seconds = 1.0 if sim.config.profile == "fast" else max(1.0, sim.config.limits.minute)
        budget = sim.limits.exhaust(call.principal, "graphql", seconds)
        return rate_limited_body(sim, call.principal, budget, form=graphql_limit_form(sim))
    if kind == "deep-page":
        return ApiAnswer(422, {"message": DEEP_PAGE, "documentation_url": DOCS, "status": "422"})
    if kind == "moved":
        repo = sim.world.repository(call.request.path_params["owner"], call.request.path_params["repo"])
        if repo is not None:
            sim.world.rename_repository(repo, f"{repo.name}-moved")
        return None  # the request on the old name now answers 301, as GitHub does after a rename
    if kind == "reset":
        raise ConnectionReset("connection reset by the simulator")
    if kind == "headers-only":
        raise HeadersOnly("connection closed after the headers")
    if kind == "malformed":
        return ApiAnswer(
            200,
            None,
            raw=b'{"data": {"repository": {"pullRequests": {"nodes": [{"id": ',
            headers={"content-type": "application/json; charset=utf-8"},
        )
    if kind == "expired-token":
        if token is not None:
            sim.installation_tokens[token] = 0.0
        return error(401, "Bad credentials")
    if kind == "slow":
        await asyncio.sleep(sim.config.faults.slow_seconds)
        return None
    raise AssertionError(kind)


# The deep-page answer of GitHub's listings (seen on repository-wide comment and issue listings).
DEEP_PAGE = (
    "Pagination with the page parameter is not supported for large datasets, please use cursor based "
    "pagination (after/before)"
)


def graphql_limit_form(sim: Simulator) -> int:
    """Which of GitHub's two bodies a GraphQL primary limit gets: either, on the realistic profile."""
    return sim.rng.randrange(2) if sim.config.profile == "realistic" else 1


def rate_limited_body(sim: Simulator, principal: str, budget: Any, form: int = 1) -> ApiAnswer:
    """GraphQL's primary limit: HTTP 200 and an error typed RATE_LIMITED (GitHub's older form) or
    RATE_LIMIT with code graphql_rate_limit (its current one), with remaining 0 in the headers."""
    label = sim.principal_label(principal)
    if form == 0:
        error_body = {"type": "RATE_LIMITED", "message": f"API rate limit exceeded for {label}."}
    else:
        error_body = {
            "type": "RATE_LIMIT",
            "code": "graphql_rate_limit",
            "message": f"API rate limit already exceeded for {label}.",
        }
    headers = {**rate_headers(budget, "graphql"), "x-ratelimit-remaining": "0"}
    return ApiAnswer(200, {"errors": [error_body]}, headers)


# -- helpers shared by the REST routes ---------------------------------------------------------------


def api_base(request: Request) -> str:
    root = f"{request.url.scheme}://{request.url.netloc}"
    return root + "/api/v3" if request.url.path.startswith("/api/v3") else root


def find_repo(sim: Simulator, request: Request) -> Repository | ApiAnswer:
    repo = sim.world.repository(request.path_params["owner"], request.path_params["repo"])
    if repo is None:
        return error(404, "Not Found")
    return repo


def find_pr(sim: Simulator, request: Request) -> tuple[Repository, PullRequest] | ApiAnswer:
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    try:
        pr = repo.pull_request(int(request.path_params["number"]))
    except ValueError:
        pr = None
    if pr is None:
        return error(404, "Not Found")
    return repo, pr


def rest_api(
    sim: Simulator, handler: Handler, api: str = "rest", charge: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await run_api(request, sim, api, handler, charge=charge)

    return endpoint


def render_pr(request: Request, repo: Repository, full: bool) -> Callable[[PullRequest], dict[str, Any]]:
    api = api_base(request)
    return lambda pr: rest_shapes.pull_request(pr, repo, api, full=full)


def truth(sim: Simulator, repo: Repository, request: Request) -> dict[str, Any]:
    return dump_repository(repo, api_base(request))
