"""The cost report: what jobs spent per lane and processor, and per repository, since a date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.table import Table
from sqlalchemy import Engine

from ghcapture.monitor.spend import Spend, spend_by, total_spend


@dataclass(frozen=True)
class CostReport:
    since: datetime | None
    total: Spend
    by_route: list[tuple[str, str, Spend]] = field(default_factory=list)
    by_repository: list[tuple[str, Spend]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "total": self.total.as_dict(),
            "by_route": [
                {"lane": lane, "processor": processor, **spend.as_dict()}
                for lane, processor, spend in self.by_route
            ],
            "by_repository": [{"repository": name, **spend.as_dict()} for name, spend in self.by_repository],
        }


def cost_report(engine: Engine, since: datetime | None = None) -> CostReport:
    """Spend of the jobs created at or after `since` (all jobs when None)."""
    with engine.connect() as connection:
        return CostReport(
            since=since,
            total=total_spend(connection, since),
            by_route=[(key[0], key[1], s) for key, s in spend_by(connection, ("lane", "processor"), since)],
            by_repository=[(key[0], s) for key, s in spend_by(connection, ("repository",), since)],
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
    return [route, repository]
