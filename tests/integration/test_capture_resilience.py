"""A capture killed at any moment resumes and ends equal to the ground truth; it keeps GitHub's waits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from capture_support import compare, run_capture
from ghcapture.capture.scope import CaptureScope
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.limits import FaultPlan, LimitSettings
from ghcapture.store.database import open_database
from ghcapture.store.tables import capture_checkpoints, comments, pull_requests


def capture_command(server, database_url: str) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "GITHUB_TOKEN": "ghp_crash",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": database_url,
    }
    env.pop("GITHUB_APP_ID", None)
    return [sys.executable, "-m", "ghcapture", "capture", "prs", "acme/widgets", "--json"], env


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume_ends_equal_to_ground_truth(make_simulator, tmp_path):
    # Slow pages (simulated server time) so that kills land in the middle of the run.
    config = SimulatorConfig(latency_ms_per_node=0.2, time_scale=1.0)
    server = make_simulator({"acme/widgets": 600}, config=config)
    url = f"sqlite:///{tmp_path}/crash.db"
    command, env = capture_command(server, url)
    engine = open_database(url)
    kills = 0
    for delay in (0.6, 1.1, 1.7, 2.4):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            proc.communicate()
    assert kills >= 2
    with engine.connect() as conn:
        partial = conn.execute(select(func.count()).select_from(pull_requests)).scalar()
        in_progress = conn.execute(
            select(capture_checkpoints.c.cursor).where(capture_checkpoints.c.entity == "pull_requests")
        ).scalar()
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    if in_progress:
        assert summary["resumed"] is True
        assert 0 < partial < 600
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pull_requests)).scalar() == 600
        rows = conn.execute(select(func.count()).select_from(comments)).scalar()
    repo = server.simulator.world.repository("acme", "widgets")
    assert rows == sum(len(p.review_comments) + len(p.issue_comments) for p in repo.pull_requests)


def _assert_waits_kept(log: list[tuple[float, str, int, float | None]]) -> int:
    """No request of an API arrives before the wait the previous answer of that API imposed has passed."""
    owed: dict[str, float] = {}
    waits = 0
    for arrived, api, status, wait in log:
        resource = "graphql" if api == "graphql" else "core"
        assert arrived >= owed.get(resource, 0.0) - 0.05, (
            f"{api} request {owed[resource] - arrived:.2f} s early"
        )
        if wait is not None and status in (403, 429, 200):
            if status == 200 and wait > 5:
                continue  # a normal answer carrying the window's reset time
            owed[resource] = arrived + wait
            waits += 1
    return waits


def test_secondary_limits_retry_after_is_kept(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 120})
    server.simulator.config.faults.queue("secondary", "graphql", count=2)
    server.simulator.config.faults.queue("secondary", "rest", count=1)
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    assert _assert_waits_kept(server.simulator.request_log) >= 3
    assert compare(server, engine, "acme/widgets").equal


def test_primary_budgets_wait_for_the_reset_instead_of_failing(make_simulator, sqlite_url):
    # 14 GraphQL points and 6 REST requests per 3-second window: the capture must wait for resets.
    limits = LimitSettings(graphql_budget=14, rest_budget=6, window=3.0)
    server = make_simulator({"acme/widgets": 200}, config=SimulatorConfig(limits=limits))
    engine = open_database(sqlite_url)
    started = time.monotonic()
    run_capture(server, engine, "acme/widgets")
    assert time.monotonic() - started >= 3.0  # at least one window had to roll over
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    log = server.simulator.request_log
    refused = [entry for entry in log if entry[2] == 403]
    for arrived, api, _status, wait in refused:
        later = [a for a, other, _s, _w in log if other == api and a > arrived]
        assert not later or later[0] >= arrived + (wait or 0) - 0.05


def test_random_faults_of_every_kind_do_not_change_the_result(make_simulator, sqlite_url):
    faults = FaultPlan(
        rate=0.3,
        kinds=(
            "502",
            "504",
            "502-html",
            "something-went-wrong",
            "partial",
            "reset",
            "malformed",
            "secondary",
        ),
        seed=11,
    )
    server = make_simulator({"acme/widgets": 150}, config=SimulatorConfig(faults=faults))
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    assert sum(server.simulator.stats.faults.values()) >= 3
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


def test_graphql_timeouts_shrink_the_page(make_simulator, sqlite_url):
    # 20 simulated ms per node: a page of 100 PRs (about 1,200 nodes) takes 24 s, over GitHub's 10 s;
    # a page of 25 fits.
    # Those pages also pass GitHub's 60 s of GraphQL server time a minute; a 360 s primary window makes
    # that minute 6 real seconds, so the secondary limit's wait does not hold the test for a real minute.
    config = SimulatorConfig(latency_ms_per_node=20.0, time_scale=0.0, limits=LimitSettings(window=360.0))
    server = make_simulator({"acme/widgets": 120}, config=config)
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    assert server.simulator.stats.faults["timeout"] >= 1
    # 120 PRs at the first page size would be 2 pages; smaller pages after the timeouts take more.
    pages = [entry for entry in server.simulator.request_log if entry[1] == "graphql" and entry[2] == 200]
    assert len(pages) >= 1 + 120 // 25
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    # The next run, with a new pager as a new process has, starts at the size that worked last time.
    first_run = server.simulator.stats.faults["timeout"]
    run_capture(server, engine, "acme/widgets", scope=CaptureScope(days=3650))
    second_run = server.simulator.stats.faults["timeout"] - first_run
    assert second_run < first_run
