"""How long the console's figures take over a large store: /metrics, /healthz, `status`, the alert rules,
the cost overview and the rate-limit readings. Prints milliseconds (the median of a few runs); asserts
nothing.

    python bench/console.py [--jobs 100000] [--repositories 200] [--days 7] [--database sqlite:///x.db]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from ghcapture.monitor.alerts import evaluate
from ghcapture.monitor.billing import cost_overview
from ghcapture.monitor.budgets import budget_history, latest_budgets
from ghcapture.monitor.exposition import metrics_response
from ghcapture.monitor.health import health
from ghcapture.monitor.status import status
from ghcapture.store.database import open_database
from ghcapture.store.tables import progressive_capture_jobs, rate_limit_samples, repositories

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
STATUSES = ["completed"] * 90 + ["failed"] * 5 + ["cancelled"] * 2 + ["queued", "pending", "running"]


def seed(engine: Engine, jobs: int, repos: int, days: int, rng: random.Random) -> int:
    names = [f"acme/repo-{i:04d}" for i in range(repos)]
    with engine.begin() as connection:
        connection.execute(
            insert(repositories),
            [
                {"github_id": i + 1, "owner": "acme", "name": n.split("/")[1], "full_name": n,
                 "github_pr_total": 1000, "last_synced_at": NOW - timedelta(hours=rng.uniform(0, 72))}
                for i, n in enumerate(names)
            ],
        )
        rows: list[dict[str, Any]] = []
        for i in range(jobs):
            created = NOW - timedelta(seconds=rng.uniform(0, days * 86400))
            state = rng.choice(STATUSES)
            on_actions = rng.random() < 0.3
            seconds = rng.uniform(5, 3600 if on_actions else 120)
            finished = state in ("completed", "failed", "cancelled")
            rows.append(
                {
                    "id": f"{i:08d}-bench", "kind": "prs", "repository": rng.choice(names),
                    "lane": "bulk" if on_actions else "realtime",
                    "processor": "github_actions" if on_actions else "local", "status": state,
                    "items_done": rng.randint(0, 1000 if on_actions else 50),
                    "points_used": rng.randint(1, 100), "requests_made": rng.randint(1, 100),
                    "billable_ms": int(seconds // 60 + 1) * 60_000 if on_actions else None,
                    "created_at": created, "started_at": created + timedelta(seconds=5),
                    "heartbeat_at": created + timedelta(seconds=5 + seconds) if state == "running" else None,
                    "completed_at": created + timedelta(seconds=5 + seconds) if finished else None,
                }
            )
            if len(rows) == 5000:
                connection.execute(insert(progressive_capture_jobs), rows)
                rows = []
        if rows:
            connection.execute(insert(progressive_capture_jobs), rows)
        samples = []
        for minute in range(days * 24 * 60):
            at = NOW - timedelta(minutes=minute)
            for budget in ("token-0123456789", "app1-42"):
                for resource in ("core", "graphql"):
                    left = rng.randint(0, 5000)
                    samples.append(
                        {"budget": budget, "resource": resource, "limit": 5000, "remaining": left,
                         "used": 5000 - left, "reset_at": at + timedelta(minutes=30), "sampled_at": at}
                    )
        for start in range(0, len(samples), 10_000):
            connection.execute(insert(rate_limit_samples), samples[start : start + 10_000])
    return len(samples)


def timed(action: Callable[[], object], runs: int = 3) -> float:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repositories", type=int, default=200)
    parser.add_argument("--days", type=int, default=7, help="days of jobs and of one-a-minute budget readings")
    parser.add_argument("--database", help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{Path(scratch.name) / 'console.db'}"
    engine = open_database(url)
    started = time.perf_counter()
    samples = seed(engine, args.jobs, args.repositories, args.days, random.Random(1))
    print(f"seeded {args.jobs:,} jobs, {args.repositories} repositories and {samples:,} budget readings "
          f"in {time.perf_counter() - started:.1f} s ({engine.url.get_backend_name()})")

    def history() -> object:
        with engine.connect() as connection:
            return budget_history(connection, NOW - timedelta(hours=24))

    def latest() -> object:
        with engine.connect() as connection:
            return latest_budgets(connection)

    figures = [
        ("/metrics (metrics_response)", lambda: metrics_response(engine, clock=lambda: NOW)),
        ("/healthz (health)", lambda: health(engine, NOW)),
        ("ghcapture status (status)", lambda: status(engine, NOW)),
        ("ghcapture alerts (evaluate)", lambda: evaluate(engine, NOW)),
        ("cost overview (cost_overview)", lambda: cost_overview(engine)),
        ("latest budgets", latest),
        ("budget history, 24 h", history),
    ]
    for name, action in figures:
        print(f"{name:32} {timed(action):8.1f} ms")
    scratch.cleanup()


if __name__ == "__main__":
    main()
