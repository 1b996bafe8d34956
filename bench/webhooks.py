"""Webhook deliveries from the simulator to one receiver, and what they cost:

- the delay from a change in the simulator to its row in the database (p50, p95, p99), for the changes a
  payload carries whole (stored by the receiver at once) and for those that need a realtime job (a push, a
  new pull request: the coalescing window, then a one-PR capture);
- budget units (GraphQL points + REST requests, from the simulator's counters) per 1,000 deliveries;
- how many deliveries a second one receiver (`ghcapture webhook serve`, its own process, SQLite) accepts.

    python bench/webhooks.py [--evolves 20] [--window 1] [--deliveries 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from capture_support import run_capture  # noqa: E402
from ghcapture.capture.scope import CaptureScope  # noqa: E402
from ghcapture.jobs.settings import JobSettings  # noqa: E402
from ghcapture.jobs.store import jobs_table  # noqa: E402
from ghcapture.jobs.webhooks.apply import Applied, Applier  # noqa: E402
from ghcapture.jobs.webhooks.coalesce import PullRequestJobs  # noqa: E402
from ghcapture.jobs.webhooks.deliveries import Delivery  # noqa: E402
from ghcapture.jobs.webhooks.receiver import receiver_app, signature_for  # noqa: E402
from ghcapture.jobs.webhooks.service import ReceiverThread  # noqa: E402
from ghcapture.simulator.app import Simulator  # noqa: E402
from ghcapture.simulator.evolve import Changes, apply_changes  # noqa: E402
from ghcapture.simulator.generator import generate_repository  # noqa: E402
from ghcapture.simulator.server import SimulatorServer, free_port  # noqa: E402
from ghcapture.simulator.webhooks import DeliveryOptions, attach_deliverer  # noqa: E402
from ghcapture.simulator.world import World  # noqa: E402
from ghcapture.store.database import open_database  # noqa: E402

SECRET = "bench-secret"
CARRIED = {
    "edited_comments": 4,
    "edited_bodies": 2,
    "deleted_issue_comments": 1,
    "deleted_review_comments": 1,
    "dismissed_reviews": 1,
    "closed": 1,
    "reopened": 1,
    "merged": 1,
    "to_draft": 1,
    "ready_for_review": 1,
}
WITH_JOBS = {**CARRIED, "changed": 3, "new": 1, "force_pushes": 1}


class TimedApplier(Applier):
    """Notes when each delivery's rows were committed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.committed: dict[str, tuple[float, str]] = {}

    def apply_many(self, items: Sequence[tuple[Delivery, Any, dict[str, Any]]]) -> list[Applied | Exception]:
        results = super().apply_many(items)
        now = time.time()
        for (delivery, _event, _payload), applied in zip(items, results, strict=True):
            if isinstance(applied, Applied):
                # Deliveries that asked for a job are timed by the job, not here.
                outcome = "job" if applied.job_id else applied.outcome
                self.committed.setdefault(delivery.delivery_id, (now, outcome))
        return results


def applied_here(applier: TimedApplier, guid: str) -> bool:
    return guid in applier.committed and applier.committed[guid][1] == "applied"


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def delays_and_budget(evolves: int, window: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ghcapture-bench-webhooks-"))
    engine = open_database(f"sqlite:///{tmp / 'bench.db'}")
    world = World()
    world.add_repository(generate_repository("acme", "widgets", 300, seed=1))
    server = SimulatorServer(Simulator(world)).start()
    run_capture(server, engine, "acme/widgets", kind="pr-details")
    applier = TimedApplier(
        engine, pull_request_jobs=PullRequestJobs(engine, JobSettings(), window_seconds=window)
    )
    sock = socket.create_server(("127.0.0.1", 0))
    receiver = ReceiverThread(receiver_app(applier, SECRET), sock).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/github"
    deliverer = attach_deliverer(server.simulator, DeliveryOptions(url=url, secret=SECRET, api=server.url))
    stats = server.simulator.stats
    spent_before = sum(stats.requests.values()) + stats.graphql_points
    changed_at: dict[str, float] = {}
    job_delays: list[float] = []
    repo = world.repository("acme", "widgets")
    assert repo is not None
    done_jobs: set[str] = set()
    for k in range(evolves):
        started = time.time()
        known = set(deliverer.sent_at)
        now = datetime.now(UTC) + timedelta(seconds=k)
        apply_changes(world, repo, Changes(dict(WITH_JOBS), None, 100 + k), now)
        deliverer.wait_idle(60)
        for guid in set(deliverer.sent_at) - known:
            changed_at[guid] = started
        # The realtime jobs, run as a worker runs them once their window is over.
        with engine.connect() as conn:
            rows = conn.execute(select(jobs_table.c.id, jobs_table.c.params, jobs_table.c.created_at)).all()
        for job_id, params, _created in rows:
            if job_id in done_jobs:
                continue
            done_jobs.add(job_id)
            wait = datetime.fromisoformat(params["not_before"]).timestamp() - time.time()
            if wait > 0:
                time.sleep(wait)
            scope = CaptureScope.build(pr_numbers=",".join(map(str, params["pr_numbers"])))
            run_capture(server, engine, "acme/widgets", kind="pr-details", scope=scope)
            job_delays.append(time.time() - started)
    deliverer.close()
    receiver.stop()
    applied = {g for g in changed_at if applied_here(applier, g)}
    direct = [applier.committed[g][0] - changed_at[g] for g in applied]
    first_post = {}
    for attempt in deliverer.attempts:
        first_post.setdefault(attempt.delivery.guid, attempt.delivered_at.timestamp())
    on_wire = [applier.committed[g][0] - first_post[g] for g in applied if g in first_post]
    spent = sum(stats.requests.values()) + stats.graphql_points - spent_before
    deliveries = len(changed_at)
    server.stop()
    print(
        f"deliveries: {deliveries} from {evolves} evolves of a captured 300-PR repository "
        f"({len(direct)} stored from the payload, {len(job_delays)} realtime jobs)"
    )
    print(
        "change-to-row delay, payload carried whole: "
        f"p50 {percentile(direct, 0.5) * 1000:.0f} ms, p95 {percentile(direct, 0.95) * 1000:.0f} ms, "
        f"p99 {percentile(direct, 0.99) * 1000:.0f} ms"
    )
    print(
        "send-to-row delay (the receiver's part), payload carried whole: "
        f"p50 {percentile(on_wire, 0.5) * 1000:.0f} ms, p95 {percentile(on_wire, 0.95) * 1000:.0f} ms, "
        f"p99 {percentile(on_wire, 0.99) * 1000:.0f} ms"
    )
    print(
        f"change-to-row delay, via a realtime job (window {window:g} s): "
        f"p50 {percentile(job_delays, 0.5):.2f} s, p95 {percentile(job_delays, 0.95):.2f} s, "
        f"p99 {percentile(job_delays, 0.99):.2f} s"
    )
    print(
        f"budget: {spent} units (GraphQL points + REST requests) for {deliveries} deliveries: "
        f"{spent / max(deliveries, 1) * 1000:.0f} units per 1,000 deliveries"
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(count: int, concurrency: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ghcapture-bench-receiver-"))
    port = free_port()
    env = {
        **os.environ,
        "GHCAPTURE_WEBHOOK_SECRET": SECRET,
        "GHCAPTURE_DATABASE_URL": f"sqlite:///{tmp / 'receiver.db'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ghcapture", "webhook", "serve", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/webhooks/github"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.post(url, content=b"{}", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        bodies = []
        for k in range(count):
            at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ")
            number = k % 50 + 1
            payload = {
                "action": "edited",
                "repository": {
                    "id": 1,
                    "name": "widgets",
                    "full_name": "acme/widgets",
                    "owner": {"login": "acme"},
                },
                "pull_request": {
                    "id": 1000 + number,
                    "number": number,
                    "title": f"title {k}",
                    "body": "x" * 2000,
                    "state": "open",
                    "draft": False,
                    "user": {"login": "octocat", "id": 1},
                    "base": {"ref": "main"},
                    "head": {"ref": "topic", "sha": "a" * 40},
                    "created_at": "2025-01-01T00:00:00Z",
                    "updated_at": at,
                    "merged": False,
                },
            }
            body = json.dumps(payload).encode()
            bodies.append((body, signature_for(SECRET, body)))

        async def blast() -> tuple[float, dict[int, int]]:
            statuses: dict[int, int] = {}
            queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
            for item in bodies:
                queue.put_nowait(item)
            async with httpx.AsyncClient(timeout=10) as client:

                async def worker() -> None:
                    while not queue.empty():
                        body, signature = queue.get_nowait()
                        answer = await client.post(
                            url,
                            content=body,
                            headers={
                                "X-GitHub-Event": "pull_request",
                                "X-GitHub-Delivery": str(uuid.uuid4()),
                                "X-Hub-Signature-256": signature,
                                "Content-Type": "application/json",
                            },
                        )
                        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                return time.perf_counter() - started, statuses

        cpu_before = cpu_seconds(process.pid)
        seconds, statuses = asyncio.run(blast())
        cpu = cpu_seconds(process.pid) - cpu_before
        print(
            f"one receiver (ghcapture webhook serve, SQLite): {count} signed deliveries in {seconds:.1f} s "
            f"with {concurrency} at once: {count / seconds:.0f} deliveries/s; answers {statuses}"
        )
        print(
            f"  its CPU: {cpu:.1f} s, {cpu / count * 1000:.2f} ms a delivery, "
            f"{count / cpu:.0f} deliveries per CPU second (what one free core takes); "
            f"load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores"
        )
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--evolves", type=int, default=20)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    delays_and_budget(args.evolves, args.window)
    throughput(args.deliveries, args.concurrency)


if __name__ == "__main__":
    main()
