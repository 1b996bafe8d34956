"""The simulator's HTTP face: GitHub's REST API (at / and /api/v3), GraphQL (/graphql, /api/graphql), App
installation tokens, the Actions API, and its own counters and controls under /_simulator/."""

from __future__ import annotations

import asyncio
import bisect
import json
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from ghcapture.simulator import rest_shapes
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.limits import FaultPlan, LimitSettings, RateLimits, Stats
from ghcapture.simulator.model import PullRequest, Repository, parse_time
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
    """Starts an answer and stops half-way: the server then closes the connection, as a reset does."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"data":', "more_body": True})


@dataclass
class GitHubAppIdentity:
    """The one GitHub App the simulator knows: its id, client id, public key and installation."""

    app_id: int
    public_key_pem: str
    installation_id: int = 1
    client_id: str = "Iv1.simulatorapp00"
    slug: str = "ghcapture-simulator"


@dataclass
class SimulatorConfig:
    limits: LimitSettings = field(default_factory=LimitSettings)
    faults: FaultPlan = field(default_factory=FaultPlan)
    latency_ms_per_node: float = 0.0  # simulated server time per node a GraphQL query touches
    time_scale: float = 1.0  # real seconds slept per simulated second (tests shrink it)
    server_timeout_ms: float = 10_000.0  # GitHub stops a GraphQL query after 10 s
    tokens: frozenset[str] | None = None  # None: any token is accepted
    token_lifetime: float = 3600.0  # installation tokens
    app: GitHubAppIdentity | None = None


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
        self.limits = RateLimits(self.config.limits)
        self.stats = Stats()
        self.installation_tokens: dict[str, float] = {}  # token -> expires at
        self._listing_cache: dict[tuple[int, str], tuple[int, list[Any], list[Any]]] = {}
        # (arrival, api, status, seconds the client was told to wait or None): for tests of client manners
        self.request_log: list[tuple[float, str, int, float | None]] = []
        self._request_ids = 0
        from ghcapture.simulator.actions import Actions

        self.actions = Actions(self)

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

        api_routes = routes.rest_routes(self) + self.actions.routes()
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


async def run_api(
    request: Request,
    sim: Simulator,
    api: str,
    handler: Handler,
    *,
    charge: bool = True,
    endpoint: str | None = None,
) -> Response:
    """Authentication, concurrency, faults and rate limits around one API handler, in GitHub's order."""
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
    who = token or f"anonymous:{request.client.host if request.client else '?'}"
    if not sim.limits.enter(who):
        sim.stats.limits["secondary_concurrency"] += 1
        return json_response(
            ApiAnswer(
                403, {"message": SECONDARY.format(rid=rid), "documentation_url": DOCS}, {"retry-after": "60"}
            ),
            rid,
        )
    arrived = time.time()
    try:
        response = await _run_api(request, sim, api, handler, charge, rid, token, who)
    except ConnectionReset:
        sim.request_log.append((arrived, api, 0, None))
        return DroppedConnection()
    finally:
        sim.limits.leave(who)
    sim.request_log.append((arrived, api, response.status_code, _owed_wait(response, arrived)))
    return response


def _owed_wait(response: Response, now: float) -> float | None:
    """The wait GitHub's rules impose after this answer: retry-after, or until reset when none remain."""
    if "retry-after" in response.headers:
        return float(response.headers["retry-after"])
    if response.headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in response.headers:
        return max(0.0, float(response.headers["x-ratelimit-reset"]) - now)
    return None


async def _run_api(
    request: Request,
    sim: Simulator,
    api: str,
    handler: Handler,
    charge: bool,
    rid: str,
    token: str | None,
    who: str,
) -> Response:
    if True:
        fault = sim.config.faults.next_fault(api)
        if fault == "expired-token" and token not in sim.installation_tokens:
            sim.config.faults.queued.appendleft((fault, None))  # only installation tokens expire: keep it
            fault = None
        if fault is not None:
            sim.stats.faults[fault] += 1
            answer = await serve_fault(sim, fault, api, rid, token)
            if answer is not None:
                return json_response(answer, rid)
        if api == "graphql":
            answer = await handler(request, sim)
            return json_response(answer, rid)
        resource = "core"
        budget_key = token or who
        if charge:
            ok, budget = sim.limits.charge(budget_key if token else "anonymous", resource, 1)
            headers = rate_headers(budget, resource)
            if not ok:
                sim.stats.limits["primary_rest"] += 1
                message = f"API rate limit exceeded for {'user ID 1' if token else 'your IP address'}."
                return json_response(
                    ApiAnswer(403, {"message": message, "documentation_url": DOCS}, headers), rid
                )
            wait = sim.limits.secondary_points(budget_key, "rest", 5 if request.method != "GET" else 1)
            if wait is not None:
                sim.stats.limits["secondary_points"] += 1
                return json_response(
                    ApiAnswer(
                        403,
                        {"message": SECONDARY.format(rid=rid), "documentation_url": DOCS},
                        {**headers, "retry-after": str(int(wait + 0.999))},
                    ),
                    rid,
                )
            sim.stats.rest_charged += 1
        else:
            headers = rate_headers(
                sim.limits.budget(budget_key if token else "anonymous", resource), resource
            )
        answer = await handler(request, sim)
        answer.headers = {**headers, **answer.headers}
        return json_response(answer, rid)


async def serve_fault(sim: Simulator, kind: str, api: str, rid: str, token: str | None) -> ApiAnswer | None:
    """The answer for an injected fault; None when the fault only delays the real answer."""
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
    if kind == "secondary":
        sim.stats.limits["secondary_injected"] += 1
        return ApiAnswer(
            403, {"message": SECONDARY.format(rid=rid), "documentation_url": DOCS}, {"retry-after": "1"}
        )
    if kind == "reset":
        raise ConnectionReset("connection reset by the simulator")
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


# -- helpers shared by the REST routes ---------------------------------------------------------------


def paginate(
    request: Request, items: Sequence[Any], render: Callable[[Any], Any], *, cap: int | None = None
) -> ApiAnswer:
    """GitHub's page/per_page pagination with a Link header (per_page default 30, at most 100)."""
    try:
        per_page = min(100, max(1, int(request.query_params.get("per_page", 30))))
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        return error(422, "Invalid request: page and per_page must be integers.")
    total = min(len(items), cap) if cap is not None else len(items)
    start = (page - 1) * per_page
    chunk = items[start : min(start + per_page, total)] if start < total else []
    last = max(1, -(-total // per_page))
    links = []
    base = str(request.url.replace(query=""))
    params = dict(request.query_params)

    def link(p: int, rel: str) -> str:
        return f'<{base}?{urlencode({**params, "per_page": per_page, "page": p})}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    headers = {"link": ", ".join(links)} if links else {}
    return ApiAnswer(200, [render(x) for x in chunk], headers)


def since_filter(request: Request, items: list[Any], keys: list[Any]) -> list[Any] | ApiAnswer:
    since = request.query_params.get("since")
    if not since:
        return items
    try:
        when = parse_time(since)
    except ValueError:
        return error(422, f"Invalid value for since: {since!r} is not an ISO 8601 timestamp.")
    return items[bisect.bisect_left(keys, when) :]


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
