"""The dashboard web app: an HTML overview, a page per job, /metrics for Prometheus and /api/snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader
from sqlalchemy import Engine, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ghcapture.monitor.alerts import evaluate
from ghcapture.monitor.exposition import metrics_response
from ghcapture.monitor.health import health
from ghcapture.monitor.metrics import collect
from ghcapture.monitor.thresholds import configured_thresholds
from ghcapture.store.tables import job_events, progressive_capture_jobs, utc_now

LATEST_JOBS = 50


def _link(url: str | None) -> str | None:
    # Autoescaping does not stop a javascript: URL in an href; only web links are shown as links.
    return url if url and url.startswith(("https://", "http://")) else None


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _templates() -> Environment:
    environment = Environment(loader=PackageLoader("ghcapture.monitor", "templates"), autoescape=True)
    environment.filters["link"] = _link
    environment.filters["when"] = _when
    return environment


def create_app(engine: Engine, clock: Callable[[], datetime] = utc_now) -> Starlette:
    """The dashboard over the store behind `engine`; it only reads; `clock` is "now" for ages and alerts."""
    templates = _templates()
    thresholds = configured_thresholds()  # /healthz and /metrics judge by the GHCAPTURE_ALERT_* settings

    def overview(request: Request) -> Response:
        now = clock()
        with engine.connect() as connection:
            latest = connection.execute(
                select(progressive_capture_jobs)
                .order_by(progressive_capture_jobs.c.created_at.desc())
                .limit(LATEST_JOBS)
            ).all()
        page = templates.get_template("overview.html").render(
            snapshot=collect(engine, now), alerts=evaluate(engine, now), jobs=latest
        )
        return HTMLResponse(page)

    def job(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        with engine.connect() as connection:
            row = connection.execute(
                select(progressive_capture_jobs).where(progressive_capture_jobs.c.id == job_id)
            ).first()
            in_order = (job_events.c.at, job_events.c.id)
            events = connection.execute(
                select(job_events).where(job_events.c.job_id == job_id).order_by(*in_order)
            ).all()
        if row is None:
            page = templates.get_template("missing.html").render(job_id=job_id)
            return HTMLResponse(page, status_code=404)
        return HTMLResponse(templates.get_template("job.html").render(job=row, events=events))

    def metrics(request: Request) -> Response:
        body, content_type = metrics_response(engine, clock, thresholds)
        return Response(body, headers={"Content-Type": content_type})

    def healthz(request: Request) -> Response:
        body, status = health(engine, clock(), thresholds)
        return JSONResponse(body, status_code=status)

    def snapshot(request: Request) -> Response:
        return JSONResponse(collect(engine, clock()).as_dict())

    return Starlette(
        routes=[
            Route("/", overview),
            Route("/jobs/{job_id}", job),
            Route("/metrics", metrics),
            Route("/healthz", healthz),
            Route("/api/snapshot", snapshot),
        ]
    )
