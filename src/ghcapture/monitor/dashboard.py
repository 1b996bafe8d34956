"""The dashboard web app: server-rendered pages over the store (overview, rate limits, cost, repositories,
jobs, a page per job, workers), each with a JSON twin at the same path plus `.json`, /metrics for
Prometheus and /healthz. It only reads. With a token, every request but /healthz must carry it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghcapture.config import Settings, load_settings
from ghcapture.errors import InputError
from ghcapture.jobs.model import LANES, STATUSES
from ghcapture.jobs.store import JobStore, UnknownJob
from ghcapture.monitor.alerts import evaluate
from ghcapture.monitor.billing import ActionsPlan, CostFigures, HostedPriceModel, plans_from_settings
from ghcapture.monitor.charts import bar_chart
from ghcapture.monitor.cost_page import cost_by_day
from ghcapture.monitor.exposition import metrics_response
from ghcapture.monitor.health import health
from ghcapture.monitor.metrics import collect
from ghcapture.monitor.overview import overview
from ghcapture.monitor.queue import queue_depths
from ghcapture.monitor.rate_limits import rate_limits
from ghcapture.monitor.repositories import latest_pull_requests, repository_statuses
from ghcapture.monitor.thresholds import Thresholds, thresholds_from_settings
from ghcapture.monitor.timeline import key_of, last_days, last_months
from ghcapture.monitor.workers import worker_beats
from ghcapture.store.tables import progressive_capture_jobs, utc_now

JOBS_PER_PAGE = 100
COST_MONTHS, COST_DAYS = 12, 30
DEFAULT_REFRESH_SECONDS = 10.0
SESSION_COOKIE = "ghcapture_dashboard"
SESSION_DAYS = 7
# Asked for by the page's own refresh script: answer the page's content alone, without its frame.
FRAGMENT_HEADER = "x-ghcapture-fragment"
# Open without a token: the liveness probe, the login form and the stylesheet and script it needs.
OPEN_PATHS = ("/healthz", "/login")
OPEN_PREFIXES = ("/static/",)
NAVIGATION = (
    ("/", "Overview"),
    ("/rate-limits", "Rate limits"),
    ("/cost", "Cost"),
    ("/repositories", "Repositories"),
    ("/jobs", "Jobs"),
    ("/workers", "Workers"),
)


@dataclass(frozen=True)
class DashboardOptions:
    """What the pages need beyond the store: limits and prices from the settings, and the refresh pace."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    plan: ActionsPlan = field(default_factory=ActionsPlan)
    hosted: HostedPriceModel = field(default_factory=HostedPriceModel)
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS


def options_from_settings(
    settings: Settings, refresh_seconds: float = DEFAULT_REFRESH_SECONDS
) -> DashboardOptions:
    """The alert thresholds (GHCAPTURE_ALERT_*), the Actions plan and the hosted price model of `settings`."""
    plan, hosted = plans_from_settings(settings)
    return DashboardOptions(
        thresholds=thresholds_from_settings(settings),
        plan=plan,
        hosted=hosted,
        refresh_seconds=refresh_seconds,
    )


def _link(url: str | None) -> str | None:
    # Autoescaping does not stop a javascript: URL in an href; only web links are shown as links.
    return url if url and url.startswith(("https://", "http://")) else None


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _templates() -> Environment:
    environment = Environment(loader=PackageLoader("ghcapture.monitor", "templates"), autoescape=True)
    environment.filters["link"] = _link
    environment.filters["when"] = _when
    environment.filters["duration"] = _duration
    environment.filters["percent"] = _percent
    environment.globals["navigation"] = NAVIGATION
    environment.globals["bar_chart"] = bar_chart
    return environment


def plain(value: Any) -> Any:
    """JSON-ready values: dataclasses become their fields and computed properties, times ISO 8601."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        for klass in type(value).__mro__:
            for name, attribute in vars(klass).items():
                if isinstance(attribute, property) and name not in out:
                    out[name] = plain(getattr(value, name))
        return out
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


# -- access ---------------------------------------------------------------------------------------------


def session_value(token: str) -> str:
    """The login cookie's value: derived from the token, so the cookie never holds the token itself."""
    return hmac.new(token.encode(), b"ghcapture dashboard session", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def _safe_next(target: str | None) -> str:
    # Only a path of this site: never another origin ("//host" or "/\host" are other origins to a browser).
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


class TokenGate:
    """Every request needs the token, as a bearer header or the login form's cookie, but OPEN_PATHS'."""

    def __init__(self, app: ASGIApp, token: str, unauthorized: Callable[[Request], Response]) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)
        self.unauthorized = unauthorized

    def allows(self, request: Request) -> bool:
        bearer = _bearer(request)
        if bearer is not None:
            return _same(bearer, self.token)
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and _same(cookie, self.session)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        request = Request(scope)
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or self.allows(request):
            await self.app(scope, receive, send)
            return
        await self.unauthorized(request)(scope, receive, send)


# Scripts and styles from this origin only (a title that slipped past escaping could not run), no framing.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


# -- pages ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    template: str
    title: str
    data: dict[str, Any]
    status_code: int = 200


PageFunction = Callable[[Request], Page]


def create_app(
    engine: Engine,
    clock: Callable[[], datetime] = utc_now,
    *,
    token: str | None = None,
    options: DashboardOptions | None = None,
) -> Starlette:
    """The dashboard over the store behind `engine`; it only reads; `clock` is "now" for ages and alerts.
    With `token`, every request but /healthz and the login form must carry it. Without `options`, those of
    this process's settings."""
    templates = _templates()
    if options is None:
        options = options_from_settings(load_settings())
    store = JobStore(engine)

    def render(request: Request, page: Page) -> Response:
        if request.url.path.endswith(".json"):
            return JSONResponse(plain(page.data), status_code=page.status_code)
        html = templates.get_template(page.template).render(
            **page.data,
            title=page.title,
            path=request.url.path,
            fragment=request.headers.get(FRAGMENT_HEADER) == "1",
            refresh_seconds=options.refresh_seconds,
            json_url=_json_url(request),
        )
        return HTMLResponse(html, status_code=page.status_code)

    def page_route(path: str, function: PageFunction) -> list[Route]:
        def endpoint(request: Request) -> Response:
            return render(request, function(request))

        twin = "/index.json" if path == "/" else f"{path}.json"
        return [Route(path, endpoint), Route(twin, endpoint)]

    def overview_page(request: Request) -> Page:
        now = clock()
        with engine.connect() as connection:
            figures = overview(connection, now, options.thresholds)
        return Page(
            "overview.html",
            "Overview",
            {"overview": figures, "alerts": evaluate(engine, now, options.thresholds), "now": now},
        )

    def cost_page(request: Request) -> Page:
        now = clock()
        months = last_months(now, COST_MONTHS)
        with engine.connect() as connection:
            figures = cost_by_day(connection, options.plan, options.hosted, months[0])
        by_day = {day.key: day for day in figures.by_day}
        days = [
            by_day.get(key_of(day, "day")) or CostFigures(key_of(day, "day"))
            for day in last_days(now, COST_DAYS)
        ]
        this_month = next(
            (m for m in figures.by_month if m.key == key_of(now, "month")), CostFigures(key_of(now, "month"))
        )
        return Page(
            "cost.html",
            "Cost",
            {"cost": figures, "days": days, "this_month": this_month, "now": now},
        )

    def rate_limits_page(request: Request) -> Page:
        now = clock()
        with engine.connect() as connection:
            figures = rate_limits(connection, now, options.thresholds.budget_reserve)
        return Page(
            "rate_limits.html",
            "Rate limits",
            {"rate_limits": figures, "now": now, "reserve": options.thresholds.budget_reserve},
        )

    def repositories_page(request: Request) -> Page:
        now = clock()
        with engine.connect() as connection:
            statuses = repository_statuses(connection, now)
        return Page("repositories.html", "Repositories", {"repositories": statuses, "now": now})

    def repository_page(request: Request) -> Page:
        name = request.path_params["full_name"].removesuffix(".json")
        now = clock()
        with engine.connect() as connection:
            held = latest_pull_requests(connection, name)
            statuses = repository_statuses(connection, now, name)
        if held is None or not statuses:
            return Page(
                "problem.html", "No such repository", {"problem": f"no repository {name!r} is held"}, 404
            )
        return Page("repository.html", name, {"repository": statuses[0], "pull_requests": held})

    def jobs_page(request: Request) -> Page:
        wanted = {
            name: request.query_params.get(name) or None for name in ("status", "lane", "kind", "repository")
        }
        if wanted["status"] is not None and wanted["status"] not in STATUSES:
            return Page(
                "problem.html",
                "Jobs",
                {"problem": f"status {wanted['status']!r} is not one of {', '.join(STATUSES)}"},
                status_code=400,
            )
        jobs = store.list(limit=JOBS_PER_PAGE, **wanted)
        table = progressive_capture_jobs
        with engine.connect() as connection:
            count = select(func.count()).select_from(table)
            for name, value in wanted.items():
                if value is not None:
                    count = count.where(table.c[name] == value)
            matching = connection.execute(count).scalar_one()
            kinds = [k for (k,) in connection.execute(select(table.c.kind).distinct().order_by(table.c.kind))]
            names = [
                r
                for (r,) in connection.execute(
                    select(table.c.repository).distinct().order_by(table.c.repository)
                )
                if r is not None
            ]
        return Page(
            "jobs.html",
            "Jobs",
            {
                "jobs": jobs,
                "matching": int(matching),
                "filters": wanted,
                "choices": {
                    "status": list(STATUSES),
                    "lane": list(LANES),
                    "kind": kinds,
                    "repository": names,
                },
            },
        )

    def job_page(request: Request) -> Page:
        given = request.path_params["job_id"].removesuffix(".json")
        try:
            job = store.find(given)
        except UnknownJob as exc:
            return Page("problem.html", "No such job", {"problem": str(exc)}, status_code=404)
        except InputError as exc:
            return Page("problem.html", "Which job?", {"problem": str(exc)}, status_code=400)
        return Page("job.html", f"Job {job.id[:8]}", {"job": job, "events": list(job.events)})

    def workers_page(request: Request) -> Page:
        now = clock()
        silent_after = options.thresholds.worker_silent_after
        with engine.connect() as connection:
            beats = worker_beats(connection)
            queues = queue_depths(connection)
        return Page(
            "workers.html",
            "Workers",
            {
                "workers": [{"worker": beat, "alive": beat.alive(now, silent_after)} for beat in beats],
                "queues": queues,
                "now": now,
                "silent_after_seconds": silent_after.total_seconds(),
            },
        )

    def login_form(
        request: Request, *, wrong: bool = False, status_code: int = 401, target: str | None = None
    ) -> Response:
        target = _safe_next(target or request.query_params.get("next") or request.url.path)
        html = templates.get_template("login.html").render(
            title="Sign in",
            path="/login",
            fragment=False,
            refresh_seconds=0,
            json_url=None,
            next=target,
            wrong=wrong,
        )
        return HTMLResponse(html, status_code=status_code)

    def unauthorized(request: Request) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            response = login_form(request)
        else:
            response = PlainTextResponse("a dashboard token is required (Authorization: Bearer ...)\n", 401)
        response.headers["www-authenticate"] = 'Bearer realm="ghcapture"'
        return response

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return login_form(request, status_code=200)
        body = parse_qs((await request.body()).decode("utf-8", "replace"))
        given = (body.get("token") or [""])[0]
        target = _safe_next((body.get("next") or ["/"])[0])
        if token is None or not _same(given, token):
            return login_form(request, wrong=True, target=target)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_value(token),
            max_age=SESSION_DAYS * 86400,
            path="/",
            secure=True,
            httponly=True,
            samesite="strict",
        )
        return response

    def metrics(request: Request) -> Response:
        body, content_type = metrics_response(engine, clock, options.thresholds)
        return Response(body, headers={"Content-Type": content_type})

    def healthz(request: Request) -> Response:
        body, status = health(engine, clock(), options.thresholds)
        return JSONResponse(body, status_code=status)

    def snapshot(request: Request) -> Response:
        return JSONResponse(collect(engine, clock()).as_dict())

    routes = [
        *page_route("/", overview_page),
        *page_route("/rate-limits", rate_limits_page),
        *page_route("/cost", cost_page),
        *page_route("/repositories", repositories_page),
        *page_route("/jobs", jobs_page),
        *page_route("/workers", workers_page),
        Route("/jobs/{job_id}", lambda request: render(request, job_page(request))),
        Route("/repositories/{full_name:path}", lambda request: render(request, repository_page(request))),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Route("/api/snapshot", snapshot),
        Mount("/static", StaticFiles(directory=str(files("ghcapture.monitor") / "static")), name="static"),
    ]
    app = Starlette(routes=routes)
    if token is not None:
        app.add_middleware(TokenGate, token=token, unauthorized=unauthorized)
    app.add_middleware(SecurityHeaders)
    return app


def _json_url(request: Request) -> str:
    path = request.url.path
    twin = "/index.json" if path == "/" else f"{path}.json"
    query = urlencode(list(request.query_params.multi_items()))
    return f"{twin}?{query}" if query else twin


__all__ = ["DashboardOptions", "TokenGate", "create_app", "options_from_settings", "plain", "session_value"]
