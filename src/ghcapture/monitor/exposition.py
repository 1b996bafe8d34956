"""/metrics: the store's figures in Prometheus's exposition format, made by prometheus-client from one
custom collector that reads the store at each scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import accumulate
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, case, func, select

from ghcapture.monitor.budgets import latest_budgets
from ghcapture.monitor.durations import seconds_between
from ghcapture.monitor.queue import queue_depths, stuck_jobs
from ghcapture.monitor.spend import UNSET, spend_by
from ghcapture.monitor.thresholds import Thresholds
from ghcapture.monitor.workers import worker_beats
from ghcapture.store.tables import (
    alert_states,
    comments,
    contributors,
    pr_files,
    pull_requests,
    repositories,
    reviews,
    utc_now,
)
from ghcapture.store.tables import progressive_capture_jobs as jobs

# Job durations from a few seconds (a small realtime refresh) to GitHub Actions' 6-hour job limit.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0)
FINISHED = ("completed", "failed", "cancelled")
_STORED = (
    ("pull_requests", pull_requests),
    ("reviews", reviews),
    ("comments", comments),
    ("files", pr_files),
    ("contributors", contributors),
)
LANE_PROCESSOR = ["lane", "processor"]


def _text(value: Any) -> str:
    return UNSET if value is None else str(value)


def _jobs(connection: Connection) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "ghcapture_jobs", "Capture jobs by status and lane.", labels=["status", "lane"]
    )
    query = select(jobs.c.status, jobs.c.lane, func.count()).group_by(jobs.c.status, jobs.c.lane)
    for status, lane, count in connection.execute(query):
        family.add_metric([_text(status), _text(lane)], int(count))
    yield family


def _materialized(connection: Connection) -> bool:
    """Whether the database keeps a CTE's rows instead of recomputing them (SQLite 3.35, PostgreSQL 12)."""
    version = connection.dialect.server_version_info or (0,)
    return version >= ((3, 35) if connection.dialect.name == "sqlite" else (12,))


def _durations(connection: Connection) -> Iterator[Metric]:
    """Seconds from start to completion of every finished job that has both, per lane and status. The
    database computes each job's seconds once and counts them per bucket, so a scrape reads a few rows per
    lane and status, not one per job."""
    seconds = seconds_between(connection.dialect.name, jobs.c.started_at, jobs.c.completed_at)
    finished = (
        select(jobs.c.lane, jobs.c.status, seconds.label("seconds"))
        .where(jobs.c.status.in_(FINISHED), jobs.c.started_at.is_not(None), jobs.c.completed_at.is_not(None))
        .cte("finished")
    )
    if _materialized(connection):
        finished = finished.prefix_with("MATERIALIZED")
    took = finished.c.seconds
    # The index of the first bound at or above the seconds; len(DURATION_BUCKETS) beyond the last.
    bucket = case(
        *((took <= bound, i) for i, bound in enumerate(DURATION_BUCKETS)), else_=len(DURATION_BUCKETS)
    )
    query = select(finished.c.lane, finished.c.status, bucket, func.count(), func.sum(took)).group_by(
        finished.c.lane, finished.c.status, bucket
    )
    counted: dict[tuple[str, str], list[int]] = {}
    summed: dict[tuple[str, str], float] = {}
    for lane, status, index, count, total in connection.execute(query):
        key = (_text(lane), str(status))
        counted.setdefault(key, [0] * (len(DURATION_BUCKETS) + 1))[int(index)] += int(count)
        summed[key] = summed.get(key, 0.0) + max(float(total or 0.0), 0.0)
    family = HistogramMetricFamily(
        "ghcapture_job_duration_seconds",
        "Time from a job's start to its end, for finished jobs.",
        labels=["lane", "status"],
    )
    for key in sorted(counted):
        cumulative = list(accumulate(counted[key]))
        buckets = [(str(bound), cumulative[i]) for i, bound in enumerate(DURATION_BUCKETS)]
        buckets.append(("+Inf", cumulative[-1]))
        family.add_metric(list(key), buckets, summed[key])
    yield family


def _spend(connection: Connection) -> Iterator[Metric]:
    families = {
        "items_done": CounterMetricFamily(
            "ghcapture_pull_requests_captured", "Pull requests captured by jobs.", labels=LANE_PROCESSOR
        ),
        "points": CounterMetricFamily(
            "ghcapture_graphql_points", "GraphQL rate-limit points spent by jobs.", labels=LANE_PROCESSOR
        ),
        "requests": CounterMetricFamily(
            "ghcapture_github_requests", "Requests made to GitHub by jobs.", labels=LANE_PROCESSOR
        ),
        "billable_seconds": CounterMetricFamily(
            "ghcapture_runner_billable_seconds", "Billable runner time of jobs.", labels=LANE_PROCESSOR
        ),
        "cost_usd": CounterMetricFamily(
            "ghcapture_cost_dollars", "What jobs cost, in US dollars.", labels=LANE_PROCESSOR
        ),
        "jobs": CounterMetricFamily("ghcapture_jobs_created", "Jobs ever recorded.", labels=LANE_PROCESSOR),
    }
    for key, spend in spend_by(connection, ("lane", "processor")):
        values = {
            "items_done": spend.items_done,
            "points": spend.points,
            "requests": spend.requests,
            "billable_seconds": spend.billable_ms / 1000,
            "cost_usd": spend.cost_usd,
            "jobs": spend.jobs,
        }
        for name, family in families.items():
            family.add_metric(list(key), values[name])
    yield from families.values()


def _stored(connection: Connection) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "ghcapture_stored_objects", "Objects held in the store, by kind.", labels=["kind"]
    )
    for kind, table in _STORED:
        family.add_metric(
            [kind], int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        )
    yield family
    held = GaugeMetricFamily(
        "ghcapture_repository_pull_requests", "Pull requests held per repository.", labels=["repository"]
    )
    total = GaugeMetricFamily(
        "ghcapture_repository_github_pull_requests",
        "GitHub's own pull-request total per repository.",
        labels=["repository"],
    )
    synced = GaugeMetricFamily(
        "ghcapture_repository_last_synced_timestamp_seconds",
        "When each repository was last synced (Unix time).",
        labels=["repository"],
    )
    per_repository = select(pull_requests.c.repository_id, func.count()).group_by(
        pull_requests.c.repository_id
    )
    counts: dict[int, int] = {int(repo): int(count) for repo, count in connection.execute(per_repository)}
    for row in connection.execute(select(repositories).order_by(repositories.c.full_name)):
        held.add_metric([row.full_name], int(counts.get(row.github_id, 0)))
        if row.github_pr_total is not None:
            total.add_metric([row.full_name], int(row.github_pr_total))
        if row.last_synced_at is not None:
            synced.add_metric([row.full_name], row.last_synced_at.timestamp())
    yield from (held, total, synced)


def _budgets(connection: Connection, now: datetime) -> Iterator[Metric]:
    labels = ["budget", "resource"]
    remaining = GaugeMetricFamily(
        "ghcapture_rate_limit_remaining",
        "What is left of a rate-limit budget, as GitHub last said.",
        labels=labels,
    )
    limit = GaugeMetricFamily(
        "ghcapture_rate_limit_limit", "A rate-limit budget's size per window.", labels=labels
    )
    reset = GaugeMetricFamily(
        "ghcapture_rate_limit_reset_timestamp_seconds",
        "When a budget's window resets (Unix time).",
        labels=labels,
    )
    sampled = GaugeMetricFamily(
        "ghcapture_rate_limit_sampled_timestamp_seconds", "When GitHub last said (Unix time).", labels=labels
    )
    for sample in latest_budgets(connection):
        key = [sample.budget, sample.resource]
        remaining.add_metric(key, sample.remaining_at(now))
        limit.add_metric(key, sample.limit)
        reset.add_metric(key, sample.reset_at.timestamp())
        sampled.add_metric(key, sample.sampled_at.timestamp())
    yield from (remaining, limit, reset, sampled)


def _queues(connection: Connection, now: datetime, limits: Thresholds) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "ghcapture_queue_waiting_jobs",
        "Jobs pending or queued, per lane and processor.",
        labels=LANE_PROCESSOR,
    )
    oldest = GaugeMetricFamily(
        "ghcapture_queue_oldest_job_age_seconds",
        "How long the oldest waiting job has waited, per lane and processor.",
        labels=LANE_PROCESSOR,
    )
    for queue in queue_depths(connection):
        depth.add_metric([queue.lane, queue.processor], queue.waiting)
        if queue.oldest_created_at is not None:
            oldest.add_metric([queue.lane, queue.processor], (now - queue.oldest_created_at).total_seconds())
    yield from (depth, oldest)
    yield GaugeMetricFamily(
        "ghcapture_stuck_jobs",
        "Running jobs without a heartbeat for longer than the stuck threshold.",
        value=len(stuck_jobs(connection, now, limits.stuck_after)),
    )
    beats = worker_beats(connection)
    yield GaugeMetricFamily(
        "ghcapture_workers_alive",
        "Workers whose heartbeat is fresh.",
        value=sum(1 for beat in beats if beat.alive(now, limits.worker_silent_after)),
    )
    last = GaugeMetricFamily(
        "ghcapture_worker_last_heartbeat_timestamp_seconds",
        "Each live worker's last heartbeat.",
        labels=["worker"],
    )
    for beat in beats:
        if beat.stopped_at is None:
            last.add_metric([beat.id], beat.heartbeat_at.timestamp())
    yield last


def _alerts(connection: Connection) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "ghcapture_alerts_firing", "Alerts firing, per rule and severity.", labels=["rule", "severity"]
    )
    query = (
        # One row per destination and alert: an alert firing at the log and a webhook counts once.
        select(alert_states.c.rule, alert_states.c.severity, func.count(alert_states.c.subject.distinct()))
        .where(alert_states.c.firing.is_(True))
        .group_by(alert_states.c.rule, alert_states.c.severity)
    )
    for rule, severity, count in connection.execute(query):
        family.add_metric([str(rule), str(severity)], int(count))
    yield family


class StoreCollector(Collector):
    """Reads the store once per scrape; nothing is kept between scrapes."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], thresholds: Thresholds) -> None:
        self.engine = engine
        self.clock = clock
        self.thresholds = thresholds

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        with self.engine.connect() as connection:
            families = [
                *_jobs(connection),
                *_durations(connection),
                *_spend(connection),
                *_stored(connection),
                *_budgets(connection, now),
                *_queues(connection, now, self.thresholds),
                *_alerts(connection),
            ]
        yield from families


def metrics_response(
    engine: Engine, clock: Callable[[], datetime] = utc_now, thresholds: Thresholds | None = None
) -> tuple[bytes, str]:
    """The exposition body and its content type, read from the store now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine, clock, thresholds or Thresholds()))
    return generate_latest(registry), CONTENT_TYPE_LATEST
