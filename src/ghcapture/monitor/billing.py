"""What the bulk lane costs: GitHub Actions billable minutes and dollars by day, month and repository,
against the plan's free minutes, and what the same runs would cost on a hosted job service.

The same work on a hosted service is one run per job, billed per run and per second of its duration
(its start to its end; the billable time when those are unknown), under a monthly fee that includes some
usage. The defaults are Trigger.dev's published Free plan and its smallest machine; see the README.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select, type_coerce

from ghcapture.config import Settings
from ghcapture.monitor.durations import seconds_between
from ghcapture.monitor.spend import UNSET
from ghcapture.store.tables import UTCDateTime
from ghcapture.store.tables import progressive_capture_jobs as jobs

Period = Literal["day", "month"]
ON_ACTIONS = "github_actions"


@dataclass(frozen=True)
class ActionsPlan:
    """The Actions minutes a plan includes each calendar month, and the price of each minute beyond them."""

    free_minutes: float = 2000.0
    price_per_minute: float = 0.006


@dataclass(frozen=True)
class HostedPriceModel:
    """A usage-priced hosted job service: a monthly fee that includes `included_usd` of usage, then runs and
    seconds of compute at their prices."""

    monthly_fee: float = 0.0
    included_usd: float = 5.0
    per_run: float = 0.000025
    per_second: float = 0.0000169

    def usage_usd(self, runs: int, seconds: float) -> float:
        return runs * self.per_run + seconds * self.per_second

    def month_usd(self, runs: int, seconds: float) -> float:
        """What a month with this much work costs: the fee, and the usage beyond what it includes."""
        return self.monthly_fee + max(self.usage_usd(runs, seconds) - self.included_usd, 0.0)


def plans_from_settings(settings: Settings) -> tuple[ActionsPlan, HostedPriceModel]:
    """The Actions plan (GHCAPTURE_ACTIONS_FREE_MINUTES, GHCAPTURE_ACTIONS_PRICE_PER_MINUTE) and the hosted
    price model (GHCAPTURE_HOSTED_*) the settings give."""
    extra: dict[str, Any] = settings.extra
    plan, hosted = ActionsPlan(), HostedPriceModel()

    def number(key: str, default: float) -> float:
        value = extra.get(key)
        return default if value is None else float(value)

    return (
        ActionsPlan(
            free_minutes=number("actions_free_minutes", plan.free_minutes),
            price_per_minute=number("actions_price_per_minute", plan.price_per_minute),
        ),
        HostedPriceModel(
            monthly_fee=number("hosted_monthly_fee", hosted.monthly_fee),
            included_usd=number("hosted_included_usd", hosted.included_usd),
            per_run=number("hosted_price_per_run", hosted.per_run),
            per_second=number("hosted_price_per_second", hosted.per_second),
        ),
    )


@dataclass(frozen=True)
class _Run:
    """One job on Actions: when it was billed, and what it took and did."""

    at: datetime
    repository: str
    minutes: float
    seconds: float
    pull_requests: int
    # The part of its minutes beyond the month's free ones, and of its hosted usage beyond the included.
    paid_minutes: float = 0.0
    hosted_paid_usd: float = 0.0


@dataclass
class CostFigures:
    """Jobs on GitHub Actions in one day, month or repository, and the same runs on the hosted service.

    `actions_usd` is what GitHub charges (the minutes beyond the month's free ones); `actions_list_usd`
    prices every minute. `hosted_usd` is what the hosted service charges (for a month: its fee and the
    usage beyond what the fee includes; for a day: that usage beyond only; for a repository: list price);
    `hosted_list_usd` prices every run and second."""

    key: str
    jobs: int = 0
    pull_requests: int = 0
    billable_minutes: float = 0.0
    free_minutes_used: float = 0.0
    actions_usd: float = 0.0
    actions_list_usd: float = 0.0
    hosted_seconds: float = 0.0
    hosted_usd: float = 0.0
    hosted_list_usd: float = 0.0

    @staticmethod
    def _per_1000(usd: float, prs: int) -> float | None:
        return usd / prs * 1000 if prs else None

    @property
    def actions_usd_per_1000_prs(self) -> float | None:
        """List price of the minutes per 1,000 pull requests captured (free minutes aside)."""
        return self._per_1000(self.actions_list_usd, self.pull_requests)

    @property
    def hosted_usd_per_1000_prs(self) -> float | None:
        return self._per_1000(self.hosted_list_usd, self.pull_requests)

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        return {
            "key": self.key,
            "jobs": self.jobs,
            "pull_requests": self.pull_requests,
            "billable_minutes": round(self.billable_minutes, 3),
            "free_minutes_used": round(self.free_minutes_used, 3),
            "actions_usd": rounded(self.actions_usd),
            "actions_list_usd": rounded(self.actions_list_usd),
            "actions_usd_per_1000_prs": rounded(self.actions_usd_per_1000_prs),
            "hosted_seconds": round(self.hosted_seconds, 3),
            "hosted_usd": rounded(self.hosted_usd),
            "hosted_list_usd": rounded(self.hosted_list_usd),
            "hosted_usd_per_1000_prs": rounded(self.hosted_usd_per_1000_prs),
        }


@dataclass
class CostOverview:
    """The bulk lane's cost since a moment, per month, per day and per repository, and in total."""

    plan: ActionsPlan
    hosted: HostedPriceModel
    since: datetime | None
    total: CostFigures
    by_month: list[CostFigures] = field(default_factory=list)
    by_day: list[CostFigures] = field(default_factory=list)
    by_repository: list[CostFigures] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "plan": {"free_minutes": self.plan.free_minutes, "price_per_minute": self.plan.price_per_minute},
            "hosted": {
                "monthly_fee": self.hosted.monthly_fee,
                "included_usd": self.hosted.included_usd,
                "per_run": self.hosted.per_run,
                "per_second": self.hosted.per_second,
            },
            "total": self.total.as_dict(),
            "by_month": [f.as_dict() for f in self.by_month],
            "by_day": [f.as_dict() for f in self.by_day],
            "by_repository": [f.as_dict() for f in self.by_repository],
        }


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _runs(
    connection: Connection, since: datetime | None, plan: ActionsPlan, hosted: HostedPriceModel
) -> list[_Run]:
    """Every job on Actions billed from the start of `since`'s month on, in billing order, with the part
    of its minutes and hosted usage that each month's allowance did not cover."""
    billed_at = type_coerce(func.coalesce(jobs.c.completed_at, jobs.c.created_at), UTCDateTime)
    took = seconds_between(connection.dialect.name, jobs.c.started_at, jobs.c.completed_at)
    query = (
        select(billed_at, jobs.c.repository, jobs.c.billable_ms, jobs.c.items_done, took)
        .where(jobs.c.processor == ON_ACTIONS)
        .order_by(billed_at, jobs.c.id)
    )
    if since is not None:
        # The month's allowance is used from its first day, whatever `since` leaves out.
        query = query.where(billed_at >= _month_start(since))
    used: dict[tuple[int, int], tuple[float, float]] = {}  # month -> (minutes, hosted usage) so far
    runs: list[_Run] = []
    for at, repository, billable_ms, items_done, took_seconds in connection.execute(query):
        minutes = (billable_ms or 0) / 60_000
        seconds = max(float(took_seconds), 0.0) if took_seconds is not None else (billable_ms or 0) / 1000
        month = (at.year, at.month)
        minutes_before, usage_before = used.get(month, (0.0, 0.0))
        minutes_after = minutes_before + minutes
        usage_after = usage_before + hosted.usage_usd(1, seconds)
        used[month] = (minutes_after, usage_after)
        free = plan.free_minutes
        paid_minutes = max(minutes_after - free, 0.0) - max(minutes_before - free, 0.0)
        included = hosted.included_usd
        hosted_paid = max(usage_after - included, 0.0) - max(usage_before - included, 0.0)
        runs.append(
            _Run(at, _text(repository), minutes, seconds, int(items_done or 0), paid_minutes, hosted_paid)
        )
    return runs


def _text(value: Any) -> str:
    return UNSET if value is None else str(value)


def _sum(key: str, runs: Iterable[_Run], plan: ActionsPlan, hosted: HostedPriceModel) -> CostFigures:
    figures = CostFigures(key)
    for run in runs:
        figures.jobs += 1
        figures.pull_requests += run.pull_requests
        figures.billable_minutes += run.minutes
        figures.free_minutes_used += run.minutes - run.paid_minutes
        figures.actions_usd += run.paid_minutes * plan.price_per_minute
        figures.actions_list_usd += run.minutes * plan.price_per_minute
        figures.hosted_seconds += run.seconds
        figures.hosted_usd += run.hosted_paid_usd
        figures.hosted_list_usd += hosted.usage_usd(1, run.seconds)
    return figures


def _grouped(runs: list[_Run], key_of: Any, plan: ActionsPlan, hosted: HostedPriceModel) -> list[CostFigures]:
    groups: dict[str, list[_Run]] = {}
    for run in runs:
        groups.setdefault(key_of(run), []).append(run)
    return [_sum(key, groups[key], plan, hosted) for key in sorted(groups)]


def cost_overview(
    engine: Engine,
    plan: ActionsPlan | None = None,
    hosted: HostedPriceModel | None = None,
    since: datetime | None = None,
) -> CostOverview:
    """The bulk lane's cost of the jobs billed at or after `since` (all when None)."""
    plan = plan or ActionsPlan()
    hosted = hosted or HostedPriceModel()
    with engine.connect() as connection:
        runs = _runs(connection, since, plan, hosted)
    if since is not None:
        runs = [run for run in runs if run.at >= since]
    by_month = _grouped(runs, lambda run: f"{run.at:%Y-%m}", plan, hosted)
    for month in by_month:
        # The fee is the month's, once; usage beyond what it includes is already in.
        month.hosted_usd += hosted.monthly_fee
    by_repository = _grouped(runs, lambda run: run.repository, plan, hosted)
    for repository in by_repository:
        repository.hosted_usd = repository.hosted_list_usd
    total = _sum("total", runs, plan, hosted)
    total.hosted_usd += hosted.monthly_fee * len(by_month)
    return CostOverview(
        plan=plan,
        hosted=hosted,
        since=since,
        total=total,
        by_month=by_month,
        by_day=_grouped(runs, lambda run: f"{run.at:%Y-%m-%d}", plan, hosted),
        by_repository=by_repository,
    )
