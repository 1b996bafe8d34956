"""/metrics over a known store, parsed back with prometheus-client's own parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from ghcapture.monitor.exposition import metrics_response
from ghcapture.store.database import open_database
from monitor_support import NOW, add_job, add_sample, add_worker, known_store

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(engine: Engine) -> tuple[dict[str, str], Samples]:
    body, content_type = metrics_response(engine, clock=lambda: NOW)
    assert content_type.startswith("text/plain; version=")
    kinds: dict[str, str] = {}
    values: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        kinds[family.name] = family.type
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return kinds, values


@pytest.fixture
def engine(database_url: str) -> Engine:
    return store(database_url)


def store(url: str) -> Engine:
    engine = open_database(url)
    known_store(engine)
    started = NOW - timedelta(hours=3)
    for seconds in (10, 100):
        add_job(
            engine,
            lane="realtime",
            processor="local",
            items_done=5,
            started_at=started,
            completed_at=started + timedelta(seconds=seconds),
        )
    add_job(
        engine,
        lane="bulk",
        processor="github_actions",
        status="queued",
        created_at=NOW - timedelta(minutes=7),
    )
    add_job(
        engine,
        lane="bulk",
        processor="github_actions",
        status="pending",
        created_at=NOW - timedelta(minutes=2),
    )
    add_job(
        engine,
        id="job-stuck",
        lane="realtime",
        processor="local",
        status="running",
        started_at=NOW - timedelta(hours=2),
        heartbeat_at=NOW - timedelta(minutes=45),
    )
    add_sample(engine, "token-abc", "core", remaining=4000, at=NOW - timedelta(minutes=10))
    add_sample(
        engine,
        "token-abc",
        "core",
        remaining=3500,
        at=NOW - timedelta(minutes=1),
        reset_at=NOW + timedelta(minutes=20),
    )
    # Read before a reset that has since passed: the whole budget is back.
    add_sample(
        engine,
        "token-abc",
        "graphql",
        remaining=12,
        at=NOW - timedelta(hours=2),
        reset_at=NOW - timedelta(hours=1),
    )
    add_worker(engine, "w-live", beat=NOW - timedelta(seconds=5))
    add_worker(engine, "w-silent", beat=NOW - timedelta(minutes=10))
    add_worker(engine, "w-stopped", beat=NOW - timedelta(seconds=1), stopped=NOW)
    return engine


def value(values: Samples, name: str, **labels: str) -> float:
    return values[(name, tuple(sorted(labels.items())))]


def test_jobs_durations_and_spend_are_typed_and_counted(engine: Engine) -> None:
    kinds, values = scrape(engine)

    assert kinds["ghcapture_jobs"] == "gauge"
    assert kinds["ghcapture_job_duration_seconds"] == "histogram"
    assert kinds["ghcapture_graphql_points"] == "counter"
    # known_store: 4 completed (3 bulk, 1 realtime), 1 failed, 1 running; here 2 completed, 1 running,
    # 1 queued, 1 pending more.
    assert value(values, "ghcapture_jobs", status="completed", lane="realtime") == 3
    assert value(values, "ghcapture_jobs", status="completed", lane="bulk") == 3
    assert value(values, "ghcapture_jobs", status="running", lane="realtime") == 2
    assert value(values, "ghcapture_jobs", status="queued", lane="bulk") == 1
    # Only the two jobs with a start and an end have a duration: 10 s and 100 s.
    hist = "ghcapture_job_duration_seconds"
    assert value(values, f"{hist}_bucket", lane="realtime", status="completed", le="5.0") == 0
    assert value(values, f"{hist}_bucket", lane="realtime", status="completed", le="15.0") == 1
    assert value(values, f"{hist}_bucket", lane="realtime", status="completed", le="300.0") == 2
    assert value(values, f"{hist}_bucket", lane="realtime", status="completed", le="+Inf") == 2
    assert value(values, f"{hist}_count", lane="realtime", status="completed") == 2
    assert value(values, f"{hist}_sum", lane="realtime", status="completed") == 110
    # Bulk on Actions: points 100+200+300, PRs 10+20+30, requests 10+20+30, 3 minutes, $0.048.
    route = {"lane": "bulk", "processor": "github_actions"}
    assert value(values, "ghcapture_graphql_points_total", **route) == 600
    assert value(values, "ghcapture_pull_requests_captured_total", **route) == 60
    assert value(values, "ghcapture_github_requests_total", **route) == 60
    assert value(values, "ghcapture_runner_billable_seconds_total", **route) == 180
    assert value(values, "ghcapture_cost_dollars_total", **route) == pytest.approx(0.048)
    # Realtime local: 4 + 5 + 5 PRs captured.
    assert value(values, "ghcapture_pull_requests_captured_total", lane="realtime", processor="local") == 14


def test_store_budgets_queues_and_workers(sqlite_url: str) -> None:
    _kinds, values = scrape(store(sqlite_url))

    # acme/widgets: 3 PRs x (2 reviews, 1 comment, 4 files); acme/gadgets: 1 PR.
    assert value(values, "ghcapture_stored_objects", kind="pull_requests") == 4
    assert value(values, "ghcapture_stored_objects", kind="reviews") == 6
    assert value(values, "ghcapture_stored_objects", kind="files") == 12
    assert value(values, "ghcapture_repository_pull_requests", repository="acme/widgets") == 3
    assert value(values, "ghcapture_repository_github_pull_requests", repository="acme/widgets") == 5
    # The newest core reading wins; the graphql reading's window has reset, so its whole limit is back.
    assert value(values, "ghcapture_rate_limit_remaining", budget="token-abc", resource="core") == 3500
    assert value(values, "ghcapture_rate_limit_remaining", budget="token-abc", resource="graphql") == 5000
    assert value(values, "ghcapture_rate_limit_limit", budget="token-abc", resource="core") == 5000
    reset = value(values, "ghcapture_rate_limit_reset_timestamp_seconds", budget="token-abc", resource="core")
    assert reset == (NOW + timedelta(minutes=20)).timestamp()
    bulk = {"lane": "bulk", "processor": "github_actions"}
    assert value(values, "ghcapture_queue_waiting_jobs", **bulk) == 2
    assert value(values, "ghcapture_queue_oldest_job_age_seconds", **bulk) == 7 * 60
    # job-running beat 5 min ago (fine); job-stuck 45 min ago (past the 30 min default).
    assert value(values, "ghcapture_stuck_jobs") == 1
    assert value(values, "ghcapture_workers_alive") == 1


def test_label_values_are_escaped_and_read_back_whole(tmp_path: object) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/m.db")
    add_job(engine, lane='bu"lk\\x\nnew', status="queued")

    body, _ = metrics_response(engine, clock=lambda: NOW)
    _kinds, values = scrape(engine)

    assert b'lane="bu\\"lk\\\\x\\nnew"' in body
    assert value(values, "ghcapture_jobs", status="queued", lane='bu"lk\\x\nnew') == 1


def test_a_duration_on_a_bucket_bound_counts_in_that_bucket(database_url: str) -> None:
    engine = open_database(database_url)
    started = NOW - timedelta(hours=1)
    for seconds in (15, 15.001, 21600):
        add_job(engine, lane="bulk", started_at=started, completed_at=started + timedelta(seconds=seconds))

    _kinds, values = scrape(engine)

    bucket = "ghcapture_job_duration_seconds_bucket"
    assert value(values, bucket, lane="bulk", status="completed", le="5.0") == 0
    assert value(values, bucket, lane="bulk", status="completed", le="15.0") == 1
    assert value(values, bucket, lane="bulk", status="completed", le="30.0") == 2
    assert value(values, bucket, lane="bulk", status="completed", le="7200.0") == 2
    assert value(values, bucket, lane="bulk", status="completed", le="21600.0") == 3
    assert value(
        values, "ghcapture_job_duration_seconds_sum", lane="bulk", status="completed"
    ) == pytest.approx(21630.001)
