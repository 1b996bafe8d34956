"""The cost page's figures, summed in the database: the bulk lane's Actions minutes and the same runs on the
hosted service, by month, day and repository, priced as `billing.cost_overview` prices them.

`cost_overview` walks every run in Python, which over a year of jobs takes seconds; the page needs only each
day's sums per repository, because a month's free minutes and the hosted service's included usage are spent
in billing order, and a day's share of them depends on the days before it, not on the order within it.
A repository is priced at list price (the allowances belong to a month, not to a repository)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, case, func, select

from ghcapture.monitor.billing import ON_ACTIONS, ActionsPlan, CostFigures, CostOverview, HostedPriceModel
from ghcapture.monitor.spend import UNSET
from ghcapture.monitor.timeline import bucket, seconds_between
from ghcapture.store.tables import progressive_capture_jobs as jobs


def _add(
    figures: CostFigures,
    runs: int,
    minutes: float,
    seconds: float,
    prs: int,
    hosted: HostedPriceModel,
    plan: ActionsPlan,
) -> None:
    figures.jobs += runs
    figures.pull_requests += prs
    figures.billable_minutes += minutes
    figures.actions_list_usd += minutes * plan.price_per_minute
    figures.hosted_seconds += seconds
    figures.hosted_list_usd += hosted.usage_usd(runs, seconds)


def daily_sums(connection: Connection, since: datetime) -> list[tuple[str, str, int, float, float, int]]:
    """(day, repository, runs, billable minutes, seconds run, pull requests) of the jobs on Actions billed
    (ended, else created) at or after `since`, oldest day first."""
    dialect = connection.dialect.name
    billed_at = func.coalesce(jobs.c.completed_at, jobs.c.created_at)
    day = bucket(billed_at, "day", dialect)
    took = seconds_between(jobs.c.started_at, jobs.c.completed_at, dialect)
    seconds = case(
        (
            and_(jobs.c.started_at.is_not(None), jobs.c.completed_at.is_not(None)),
            case((took > 0, took), else_=0.0),
        ),
        else_=func.coalesce(jobs.c.billable_ms, 0) / 1000.0,
    )
    query = (
        select(
            day,
            jobs.c.repository,
            func.count(),
            func.coalesce(func.sum(jobs.c.billable_ms), 0),
            func.coalesce(func.sum(seconds), 0.0),
            func.coalesce(func.sum(jobs.c.items_done), 0),
        )
        .where(jobs.c.processor == ON_ACTIONS, billed_at >= since)
        .group_by(day, jobs.c.repository)
        .order_by(day, jobs.c.repository)
    )
    return [
        (str(key), UNSET if name is None else str(name), int(runs), int(ms) / 60_000, float(run_s), int(prs))
        for key, name, runs, ms, run_s, prs in connection.execute(query)
    ]


def cost_by_day(
    connection: Connection, plan: ActionsPlan, hosted: HostedPriceModel, since: datetime
) -> CostOverview:
    """The bulk lane's cost from `since` (the start of a month, so that its allowances start whole)."""
    months: dict[str, CostFigures] = {}
    days: dict[str, CostFigures] = {}
    repositories: dict[str, CostFigures] = {}
    for key, repository, runs, minutes, seconds, prs in daily_sums(connection, since):
        for figures in (
            months.setdefault(key[:7], CostFigures(key[:7])),
            days.setdefault(key, CostFigures(key)),
            repositories.setdefault(repository, CostFigures(repository)),
        ):
            _add(figures, runs, minutes, seconds, prs, hosted, plan)
    used: dict[str, tuple[float, float]] = {}  # month -> minutes and hosted usage of the days before
    for key in sorted(days):
        day, of_month = days[key], key[:7]
        minutes_before, usage_before = used.get(of_month, (0.0, 0.0))
        minutes_after, usage_after = minutes_before + day.billable_minutes, usage_before + day.hosted_list_usd
        used[of_month] = (minutes_after, usage_after)
        paid = max(minutes_after - plan.free_minutes, 0.0) - max(minutes_before - plan.free_minutes, 0.0)
        day.free_minutes_used = day.billable_minutes - paid
        day.actions_usd = paid * plan.price_per_minute
        day.hosted_usd = max(usage_after - hosted.included_usd, 0.0) - max(
            usage_before - hosted.included_usd, 0.0
        )
    for month in months.values():
        month.free_minutes_used = min(month.billable_minutes, plan.free_minutes)
        month.actions_usd = max(month.billable_minutes - plan.free_minutes, 0.0) * plan.price_per_minute
        month.hosted_usd = hosted.month_usd(month.jobs, month.hosted_seconds)
    for of_repository in repositories.values():
        of_repository.actions_usd = of_repository.actions_list_usd
        of_repository.hosted_usd = of_repository.hosted_list_usd
    total = CostFigures("total")
    for month in months.values():
        _add(
            total, month.jobs, month.billable_minutes, month.hosted_seconds, month.pull_requests, hosted, plan
        )
        total.free_minutes_used += month.free_minutes_used
        total.actions_usd += month.actions_usd
        total.hosted_usd += month.hosted_usd
    return CostOverview(
        plan=plan,
        hosted=hosted,
        since=since,
        total=total,
        by_month=[months[key] for key in sorted(months)],
        by_day=[days[key] for key in sorted(days)],
        by_repository=[repositories[key] for key in sorted(repositories)],
    )
