"""How long each dashboard page takes to answer over a large store.

Fills a SQLite database (bulk inserts) with 100,000 jobs spread over 90 days, three events each,
1,000,000 pull requests over 50 repositories (10 of them tracked), a week of rate-limit readings of three
budgets (one a minute) and four workers, then asks every page in-process, as the
browser would (HTML, rendering included), and prints each page's median and slowest answer time over a
few rounds after one warm-up. The database is kept and reused when it already holds the asked-for rows.

    python bench/dashboard.py [--jobs 100000] [--prs 1000000] [--rounds 5] [--database PATH]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from ghcapture.monitor.dashboard import create_app
from ghcapture.store.database import open_database, open_existing_database

REPOSITORIES = 50
TRACKED = 10
DAYS = 90
NOW = datetime.now(UTC).replace(microsecond=0)
BATCH = 50_000
# Three budgets read once a minute for the week the samples are kept; four workers beating.
BUDGETS = ("app-installation-1", "app-installation-2", "token-ab12cd")
SAMPLE_DAYS = 7
WORKERS = 4


def stamp(moment: datetime) -> str:
    """A UTC time as SQLAlchemy writes it into SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _jobs(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for i in range(count):
        created = NOW - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        bulk = rng.random() < 0.3
        roll = rng.random()
        recent = (NOW - created).total_seconds() < 3600
        status = (
            ("running" if roll < 0.5 else "pending" if roll < 0.8 else "queued")
            if recent and roll < 0.9
            else "failed"
            if roll < 0.05
            else "cancelled"
            if roll < 0.06
            else "completed"
        )
        started = created + timedelta(seconds=rng.uniform(1, 60))
        took = rng.expovariate(1 / (1800 if bulk else 120))
        ended = (
            stamp(started + timedelta(seconds=took))
            if status in ("completed", "failed", "cancelled")
            else None
        )
        items = rng.randint(1, 2000 if bulk else 50) if status == "completed" else 0
        billable = int(took * 1000) if bulk and ended else None
        yield (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "prs",
            f"org{i % REPOSITORIES}/repo{i % REPOSITORIES}",
            "bulk" if bulk else "realtime",
            "github_actions" if bulk else "local",
            "large backfill" if bulk else "small and recent",
            "scheduled",
            "{}",
            status,
            1,
            3,
            "boom" if status == "failed" else None,
            items,
            items,
            0,
            items // 20,
            items // 50 + 1,
            billable,
            billable * 0.006 / 60_000 if billable else None,
            stamp(created),
            stamp(started) if status != "pending" and status != "queued" else None,
            stamp(NOW - timedelta(seconds=rng.uniform(0, 30))) if status == "running" else None,
            ended,
        )


def fill(path: Path, jobs: int, prs: int) -> None:
    url = f"sqlite:///{path}"
    open_database(url).dispose()
    rng = random.Random(1)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous = OFF")
    with connection:
        connection.executemany(
            "INSERT INTO repositories (github_id, owner, name, full_name, github_pr_total, last_synced_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (r + 1, f"org{r}", f"repo{r}", f"org{r}/repo{r}", prs // REPOSITORIES + r, stamp(NOW))
                for r in range(REPOSITORIES)
            ],
        )
        connection.executemany(
            "INSERT INTO tracked_repositories (repository, kind, every_seconds, backfill_done, priority, "
            "created_at) VALUES (?, 'prs', 21600, 1, 10, ?)",
            [(f"org{r}/repo{r}", stamp(NOW)) for r in range(TRACKED)],
        )
    started = time.perf_counter()
    for batch in batches(
        (
            n + 1,
            n % REPOSITORIES + 1,
            n // REPOSITORIES + 1,
            f"Pull request {n}",
            "open",
            changed := rng.randint(1, 4000 if n % 997 == 0 else 40),
            changed > 3000,
            stamp(NOW - timedelta(seconds=n % (DAYS * 86400))),
            stamp(NOW - timedelta(seconds=(n * 7) % (DAYS * 86400))),
        )
        for n in range(prs)
    ):
        with connection:
            connection.executemany(
                "INSERT INTO pull_requests (github_id, repository_id, number, title, state, changed_files, "
                "files_truncated, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
    print(f"filled: {prs:,} pull requests in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    columns = (
        "id, kind, repository, lane, processor, route_reason, trigger, params, status, attempts, "
        "max_attempts, error, items_total, items_done, items_failed, points_used, requests_made, "
        "billable_ms, cost_usd, created_at, started_at, heartbeat_at, completed_at"
    )
    for batch in batches(_jobs(jobs, rng)):
        events = []
        for row in batch:
            events.append((row[0], row[19], "created", "scheduled prs"))
            if row[20] is not None:
                worker = f"host-{rng.randint(1, 4)}-{1000 + rng.randint(1, 4)}-abc123"
                events.append((row[0], row[20], "started", f"attempt 1 of 3 on {worker}"))
            if row[22] is not None:
                events.append((row[0], row[22], row[8], f"{row[13]} pull requests"))
        with connection:
            connection.executemany(
                f"INSERT INTO progressive_capture_jobs ({columns}) VALUES ({', '.join('?' * 23)})", batch
            )
            connection.executemany(
                "INSERT INTO job_events (job_id, at, type, message) VALUES (?, ?, ?, ?)", events
            )
    samples = [
        (budget, resource, 5000, left, 5000 - left, stamp(at + timedelta(minutes=30)), stamp(at))
        for budget in BUDGETS
        for resource in ("core", "graphql")
        for minute in range(SAMPLE_DAYS * 1440)
        for at, left in [(NOW - timedelta(minutes=minute), 5000 - (minute * 37) % 5000)]
    ]
    workers = [
        (
            f"host-{w}-{1000 + w}-abc123",
            f"host-{w}",
            1000 + w,
            1,
            stamp(NOW - timedelta(hours=5)),
            stamp(NOW - timedelta(seconds=w)),
            "[]",
        )
        for w in range(WORKERS)
    ]
    with connection:
        connection.executemany(
            'INSERT INTO rate_limit_samples (budget, resource, "limit", remaining, used, reset_at, '
            "sampled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            samples,
        )
        connection.executemany(
            "INSERT INTO workers (id, host, pid, listens, started_at, heartbeat_at, running) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            workers,
        )
    connection.close()
    print(f"filled: {len(samples):,} rate-limit samples, {WORKERS} workers")
    print(f"filled: {jobs:,} jobs and their events in {time.perf_counter() - started:.1f} s")


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as connection:
        try:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.Error:
            return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--prs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--database", type=Path, default=Path(tempfile.gettempdir()) / "ghcapture-bench-dashboard.db"
    )
    args = parser.parse_args()

    path: Path = args.database
    if _count(path, "progressive_capture_jobs") != args.jobs or _count(path, "pull_requests") != args.prs:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        fill(path, args.jobs, args.prs)
    else:
        print(f"reusing {path}")
        open_database(f"sqlite:///{path}").dispose()  # brought to this version's schema (and indexes)
    engine = open_existing_database(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        some_job = connection.execute("SELECT id FROM progressive_capture_jobs LIMIT 1").fetchone()[0]
    client = TestClient(create_app(engine, clock=lambda: NOW))
    pages = [
        "/",
        "/rate-limits",
        "/cost",
        "/repositories",
        "/repositories/org1/repo1",
        "/jobs",
        "/jobs?status=failed&lane=bulk&repository=org7/repo7",
        f"/jobs/{some_job[:8]}",
        "/workers",
        "/index.json",
        "/metrics",
        "/healthz",
    ]
    print(f"{args.jobs:,} jobs, {args.prs:,} pull requests; {args.rounds} rounds after a warm-up")
    print(f"{'page':<56} {'median ms':>10} {'slowest ms':>11}")
    for page in pages:
        status = client.get(page).status_code  # /healthz answers 503 while jobs are stuck: still an answer
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            client.get(page)
            times.append((time.perf_counter() - started) * 1000)
        shown = page if status == 200 else f"{page} ({status})"
        print(f"{shown:<56} {statistics.median(times):>10.1f} {max(times):>11.1f}")


if __name__ == "__main__":
    main()
