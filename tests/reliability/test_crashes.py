"""Crashes: `ghcapture capture prs` killed with SIGKILL at seeded random moments, and a disk that fills up.

Each kill is timed on the capture's own progress, so that it lands in the middle of the run whatever the
machine's load: the test watches the SQLite write-ahead log, waits for a few of the run's commits, then
kills either at once (inside or just after a transaction, while its frames are being written) or a random
fraction of a page's server time later (during a fetch). After every kill the database must be intact and
its rows must agree with its checkpoint; after the last, one more run must end equal to the ground truth,
having re-fetched at most one page per entity for each crash (measured by the simulator's counters against
a clean run of the same repository).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from capture_support import compare, settings_for
from ghcapture.capture.engine import capture
from ghcapture.github.http import GitHubClient
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.model import visible_reviews
from ghcapture.simulator.server import SimulatorServer
from ghcapture.store.checkpoints import load_checkpoint
from ghcapture.store.database import open_database
from ghcapture.store.tables import comments, pr_files, pull_requests, reviews

REPOSITORY = "acme/widgets"
# Server time per GraphQL node: a page of 100 PRs (about 1,500 nodes) takes about 0.6 s, so most of a run
# is spent waiting on fetches, as it is on GitHub, and a kill has fetches and commits to land in.
LATENCY_MS_PER_NODE = 0.4
PAGE_SECONDS = 0.6


def _config() -> SimulatorConfig:
    return SimulatorConfig(latency_ms_per_node=LATENCY_MS_PER_NODE, time_scale=1.0)


def _command(server: SimulatorServer, database_url: str) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "GITHUB_TOKEN": "ghp_crashsuite",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": database_url,
    }
    env.pop("GITHUB_APP_ID", None)
    return [sys.executable, "-m", "ghcapture", "capture", "prs", REPOSITORY, "--json"], env


def _spend(server: SimulatorServer) -> tuple[int, int]:
    """(budget units, requests) the simulator has served so far."""
    stats = server.simulator.stats.as_dict()
    return int(stats["budget_units"]), int(stats["requests_total"])


@dataclass
class CleanRun:
    units: int
    requests: int
    facts_units: int  # the repository's facts, asked once by every run
    page_units: list[int] = field(default_factory=list)  # what each stored page cost, follow-ups included
    page_requests: list[int] = field(default_factory=list)


class _PageCosts:
    """A progress reporter that records what each stored page cost, from the client's own counters."""

    def __init__(self) -> None:
        self.client: GitHubClient | None = None
        self.marks: list[tuple[int, int]] = []

    def _mark(self) -> None:
        assert self.client is not None
        stats = self.client.stats
        self.marks.append(
            (stats.graphql_points + stats.rest_requests, stats.graphql_requests + stats.rest_requests)
        )

    def start(self, repository: str, total: int | None) -> None:
        self._mark()  # after the repository's facts

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        self._mark()

    def finish(self, result: Any) -> None:
        pass

    def fail(self, message: str) -> None:
        pass


def clean_run(server: SimulatorServer, url: str) -> CleanRun:
    """One uninterrupted capture, in process, with the price of every page."""
    engine = open_database(url)
    costs = _PageCosts()

    async def go() -> None:
        async with GitHubClient(settings_for(server)) as client:
            costs.client = client
            await capture(client, engine, REPOSITORY, progress=costs)

    before = _spend(server)
    asyncio.run(go())
    after = _spend(server)
    engine.dispose()
    marks = costs.marks
    return CleanRun(
        units=after[0] - before[0],
        requests=after[1] - before[1],
        facts_units=marks[0][0],
        page_units=[b[0] - a[0] for a, b in zip(marks, marks[1:], strict=False)],
        page_requests=[b[1] - a[1] for a, b in zip(marks, marks[1:], strict=False)],
    )


def _wal_state(database: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(f"{database}-wal")
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _wait_for_writes(
    proc: subprocess.Popen[bytes], database: Path, writes: int, timeout: float = 60.0
) -> bool:
    """Waits until the run has committed `writes` times (the WAL changed); False if it ended first."""
    seen = _wal_state(database)
    deadline = time.monotonic() + timeout
    while writes > 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        state = _wal_state(database)
        if state != seen:
            seen = state
            writes -= 1
        else:
            time.sleep(0.0005)
    return True


def _check_after_kill(engine: Engine) -> dict[str, Any]:
    """The database is intact and its rows agree with the checkpoint they were committed with."""
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        held = conn.execute(select(func.count()).select_from(pull_requests)).scalar_one()
        checkpoint = load_checkpoint(conn, REPOSITORY, "pull_requests", "all")
    state = json.loads(checkpoint.cursor) if checkpoint and checkpoint.cursor else None
    if state is not None:
        # A full capture takes PRs by creation, each once: what is held is exactly what the cursor says.
        assert held == state["done"], (held, state)
    return {"held": held, "state": state}


def _final_checks(server: SimulatorServer, engine: Engine, prs: int) -> None:
    check = compare(server, engine, REPOSITORY)
    assert check.equal, check.summary()
    repo = server.simulator.world.repository("acme", "widgets")
    assert repo is not None
    with engine.connect() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar_one()  # noqa: E731
        assert count(pull_requests) == prs
        # A pending review is its author's alone: nobody else's capture sees it.
        assert count(reviews) == sum(len(visible_reviews(p, None)) for p in repo.pull_requests)
        assert count(comments) == sum(
            len(p.review_comments) + len(p.issue_comments) for p in repo.pull_requests
        )
        assert count(pr_files) == sum(len(p.files) for p in repo.pull_requests)


def crash_and_resume(
    make_simulator: Any, tmp_path: Path, *, prs: int, kills: int, seed: int
) -> dict[str, Any]:
    # The same generated repository twice: one simulator for the clean run's price, one for the crashes.
    reference = make_simulator({REPOSITORY: prs}, config=_config(), seed=seed)
    clean = clean_run(reference, f"sqlite:///{tmp_path}/clean.db")
    server = make_simulator({REPOSITORY: prs}, config=_config(), seed=seed)
    database = tmp_path / "crash.db"
    url = f"sqlite:///{database}"
    engine = open_database(url)  # migrated up front, so the first run's writes are the capture's own
    command, env = _command(server, url)
    rng = random.Random(seed)
    moments: list[str] = []
    for _ in range(kills):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        during = rng.choice(("transaction", "fetch"))
        # A run's first two commits are its capture lock and the repository's facts; then come its pages.
        landed = _wait_for_writes(proc, database, 2 + rng.randint(1, 3))
        if landed:
            time.sleep(
                rng.uniform(0.0, 0.002) if during == "transaction" else rng.uniform(0.05, PAGE_SECONDS)
            )
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            moments.append(during)
            _check_after_kill(engine)
        else:
            _out, err = proc.communicate()
            assert proc.returncode == 0, err.decode()[-2000:]
            moments.append("completed")
    killed = [m for m in moments if m != "completed"]
    mid_run = _check_after_kill(engine)
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    _final_checks(server, engine, prs)
    units, requests = _spend(server)
    # Per crash, at most: the repository's facts again, the page in flight with everything hanging off it
    # (its follow-ups and file listings), and one page of the repository-wide review comments.
    per_crash_units = clean.facts_units + max(clean.page_units) + 1
    per_crash_requests = 1 + max(clean.page_requests) + 1
    overhead_units = units - clean.units
    overhead_requests = requests - clean.requests
    report = {
        "kills": len(killed),
        "moments": moments,
        "clean_units": clean.units,
        "clean_requests": clean.requests,
        "units": units,
        "requests": requests,
        "overhead_units_per_crash": overhead_units / max(1, len(killed)),
        "overhead_requests_per_crash": overhead_requests / max(1, len(killed)),
        "allowed_units_per_crash": per_crash_units,
        "allowed_requests_per_crash": per_crash_requests,
        "held_before_final": mid_run["held"],
    }
    print("crash suite:", json.dumps(report))
    assert len(killed) >= kills * 0.8, report  # the kills landed in runs, not after them
    assert overhead_units <= len(killed) * per_crash_units, report
    assert overhead_requests <= len(killed) * per_crash_requests, report
    engine.dispose()
    return report


@pytest.mark.slow
def test_five_kills_at_seeded_moments_resume_to_the_ground_truth(make_simulator, tmp_path):
    report = crash_and_resume(make_simulator, tmp_path, prs=400, kills=5, seed=7)
    assert "transaction" in report["moments"] and "fetch" in report["moments"]


@pytest.mark.slow
@pytest.mark.reliability
def test_twenty_kills_at_seeded_moments_resume_to_the_ground_truth(make_simulator, tmp_path):
    report = crash_and_resume(make_simulator, tmp_path, prs=1200, kills=20, seed=20)
    assert report["moments"].count("transaction") >= 5 and report["moments"].count("fetch") >= 5


# -- a full disk -------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MB tmpfs (needs root; skipped otherwise), unmounted afterwards."""
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small file system with")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {made.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path, leave: int) -> Path:
    """Fills the file system of `directory` up to `leave` free bytes."""
    filler = directory / "filler"
    free = shutil.disk_usage(directory).free
    with open(filler, "wb") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


@pytest.mark.slow
def test_full_disk_stops_with_one_line_keeps_what_was_stored_and_resumes(make_simulator, small_disk):
    prs = 300
    server = make_simulator({REPOSITORY: prs}, config=SimulatorConfig())
    database = small_disk / "ghcapture.db"
    url = f"sqlite:///{database}"
    engine = open_database(url)
    command, env = _command(server, url)
    # Room for the schema and a page or two of rows, not for 300 PRs with their reviews and files.
    filler = _fill(small_disk, leave=300_000)
    failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode != 0
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ghcapture: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    assert "full" in errors[0].lower(), errors[0]
    print("full disk:", errors[0])
    stored = _check_after_kill(engine)
    assert stored["held"] < prs
    filler.unlink()  # the space returns
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout)
    assert summary["resumed"] is (stored["state"] is not None)
    _final_checks(server, engine, prs)
    engine.dispose()
