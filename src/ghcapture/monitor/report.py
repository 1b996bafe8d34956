"""The cost report: what jobs spent per lane and processor, and per repository, since a date; and what the
bulk lane cost on GitHub Actions per month or day, against the free minutes and a hosted job service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.table import Table
from sqlalchemy import Engine

from ghcapture.monitor.billing import ActionsPlan, CostOverview, HostedPriceModel, Period, cost_overview
from ghcapture.monitor.spend import Spend, spend_by, total_spend


@dataclass(frozen=True)
class CostReport:
    since: datetime | None
    total: Spend
    by_route: list[tuple[str, str, Spend]] = field(default_factory=list)
    by_repository: list[tuple[str, Spend]] = field(default_factory=list)
    bulk_lane: CostOverview | None = None
    period: Period = "month"

    def as_dict(self) -> dict[str, Any]:
        return {
            "bulk_lane": self.bulk_lane.as_dict() if self.bulk_lane else None,
            "since": self.since.isoformat() if self.since else None,
            "total": self.total.as_dict(),
            "by_route": [
                {"lane": lane, "processor": processor, **spend.as_dict()}
                for lane, processor, spend in self.by_route
            ],
            "by_repository": [{"repository": name, **spend.as_dict()} for name, spend in self.by_repository],
        }


def cost_report(
    engine: Engine,
    since: datetime | None = None,
    *,
    plan: ActionsPlan | None = None,
    hosted: HostedPriceModel | None = None,
    period: Period = "month",
) -> CostReport:
    """Spend of the jobs created at or after `since` (all jobs when None), and the bulk lane's cost."""
    with engine.connect() as connection:
        total = total_spend(connection, since)
        by_route = [(key[0], key[1], s) for key, s in spend_by(connection, ("lane", "processor"), since)]
        by_repository = [(key[0], s) for key, s in spend_by(connection, ("repository",), since)]
    return CostReport(
        since=since,
        total=total,
        by_route=by_route,
        by_repository=by_repository,
        bulk_lane=cost_overview(engine, plan, hosted, since),
        period=period,
    )


_FIGURES = ("jobs", "PRs captured", "GraphQL points", "requests", "billable min", "cost USD")


def _figures(spend: Spend) -> list[str]:
    return [
        str(spend.jobs),
        str(spend.items_done),
        str(spend.points),
        str(spend.requests),
        f"{spend.billable_minutes:.1f}",
        f"{spend.cost_usd:.4f}",
    ]


def report_tables(report: CostReport) -> list[Table]:
    """Two Rich tables: per lane and processor, and per repository; each ends with the total."""
    when = f" since {report.since:%Y-%m-%d %H:%M} UTC" if report.since else ""
    route = Table(title=f"Spend per lane and processor{when}")
    for name in ("lane", "processor", *_FIGURES):
        route.add_column(name, justify="left" if name in ("lane", "processor") else "right")
    for lane, processor, spend in report.by_route:
        route.add_row(lane, processor, *_figures(spend))
    route.add_row("total", "", *_figures(report.total), style="bold")
    repository = Table(title=f"Spend per repository{when}")
    for name in ("repository", *_FIGURES):
        repository.add_column(name, justify="left" if name == "repository" else "right")
    for name, spend in report.by_repository:
        repository.add_row(name, *_figures(spend))
    repository.add_row("total", *_figures(report.total), style="bold")
    tables = [route, repository]
    if report.bulk_lane is not None and report.bulk_lane.total.jobs:
        tables.append(bulk_lane_table(report.bulk_lane, report.period))
    return tables


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def bulk_lane_table(overview: CostOverview, period: Period) -> Table:
    """Per month (or day): Actions minutes, the free ones used, dollars paid, list dollars per 1,000 PRs,
    and what the hosted service would charge for the same runs."""
    plan, hosted = overview.plan, overview.hosted
    title = (
        f"Bulk lane on GitHub Actions ({plan.free_minutes:g} free min a month, "
        f"${plan.price_per_minute:g}/min) and on a hosted service (${hosted.monthly_fee:g}/month, "
        f"${hosted.included_usd:g} included)"
    )
    table = Table(title=title)
    headers = (period, "jobs", "PRs", "minutes", "free min", "Actions USD", "USD per 1k PRs", "hosted USD")
    for name in headers:
        table.add_column(name, justify="left" if name == period else "right")
    rows = overview.by_month if period == "month" else overview.by_day
    for figures in [*rows, overview.total]:
        table.add_row(
            figures.key,
            str(figures.jobs),
            str(figures.pull_requests),
            f"{figures.billable_minutes:.1f}",
            f"{figures.free_minutes_used:.1f}",
            _usd(figures.actions_usd),
            _usd(figures.actions_usd_per_1000_prs),
            _usd(figures.hosted_usd),
            style="bold" if figures is overview.total else None,
        )
    return table
