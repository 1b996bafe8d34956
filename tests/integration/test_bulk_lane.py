"""The bulk lane over HTTP without PostgreSQL: dispatch_job against a served simulator whose runner runs the
generated workflow (the real `ghcapture capture`, into a SQLite file both sides share), then reconcile_jobs.
Also `ghcapture simulate --actions-repo ... --runner` as a user starts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ghcapture.capture.verify import compare_repository
from ghcapture.cli.simulate import add_jobs_repository
from ghcapture.config import Settings
from ghcapture.jobs.actions import dispatch_job
from ghcapture.jobs.actions_settings import ActionsSettings
from ghcapture.jobs.model import BULK, COMPLETED, GITHUB_ACTIONS
from ghcapture.jobs.reconcile import reconcile_jobs
from ghcapture.jobs.store import JobStore, RouteFields
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.runner import RunnerConfig, WorkflowRunner
from ghcapture.simulator.server import SimulatorServer, free_port, new_app_keys
from ghcapture.simulator.world import World
from ghcapture.store.database import open_database

JOBS_REPO = "acme/ghcapture-jobs"


def test_dispatch_run_and_reconcile_over_http(
    make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    keys = new_app_keys()
    world = World()
    add_jobs_repository(world, JOBS_REPO, auth="app")
    server = make_simulator({"acme/big": 60}, config=SimulatorConfig(app=keys.identity), world=world)
    database = f"sqlite:///{tmp_path}/bulk.db"
    engine = open_database(database)
    runner = WorkflowRunner(
        server.simulator,
        RunnerConfig(
            api_url=server.url,
            secrets={"GHCAPTURE_DATABASE_URL": database, "GHCAPTURE_APP_PRIVATE_KEY": keys.private_key_pem},
            vars={"GHCAPTURE_APP_ID": str(keys.identity.app_id)},
            workdir=tmp_path / "runner",
        ),
    ).attach()
    settings = Settings(
        github_token="ghp_x",
        github_api_url=server.url,
        github_graphql_url=server.url + "/graphql",
        database_url=database,
    )
    actions = ActionsSettings(repository=JOBS_REPO, prs_per_chunk=25)
    store = JobStore(engine)
    job = store.create(
        kind="prs",
        repository="acme/big",
        params={"days": 365},
        route=RouteFields(lane=BULK, processor=GITHUB_ACTIONS, reason="bulk: test"),
    )

    dispatched = dispatch_job(engine, job.id, settings, actions=actions)
    assert dispatched.run_id is not None and dispatched.chunks == 3
    assert runner.wait(dispatched.run_id, 120)
    results = reconcile_jobs(engine, settings=settings, actions=actions)

    finished = store.get(job.id)
    run = server.simulator.actions.runs[dispatched.run_id]
    assert run.conclusion == "success", runner.log(run.id)[-2000:]
    assert [r.after for r in results] == [COMPLETED] and finished.status == COMPLETED
    assert finished.billable_ms == 3 * 60_000 and finished.cost_usd == pytest.approx(0.018)
    repo = server.simulator.world.repository("acme", "big")
    assert repo is not None and compare_repository(engine, dump_repository(repo, server.url)).equal
    engine.dispose()


def test_simulate_serves_a_jobs_repository_and_runs_what_is_dispatched(tmp_path: Path) -> None:
    port = free_port()
    record = tmp_path / "calls.txt"
    fake = tmp_path / "fake.sh"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    fake.chmod(0o755)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ghcapture",
            "simulate",
            "--port",
            str(port),
            "--repo",
            "acme/big:5",
            "--actions-repo",
            JOBS_REPO,
            "--runner",
            "--runner-secret",
            "GHCAPTURE_DATABASE_URL=postgresql://x/y",
            "--runner-ghcapture",
            str(fake),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/repos/{JOBS_REPO}", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        headers = {"authorization": "token ghp_x"}
        dispatched = httpx.post(
            f"{url}/repos/{JOBS_REPO}/actions/workflows/historical-pr-sync.yml/dispatches",
            headers=headers,
            json={
                "ref": "main",
                "inputs": {"job_id": "j1", "repository": "acme/big"},
                "return_run_details": True,
            },
        )
        assert dispatched.status_code == 200, dispatched.text
        run_url = dispatched.json()["run_url"]
        for _ in range(600):
            run = httpx.get(run_url, headers=headers).json()
            if run["status"] == "completed":
                break
            time.sleep(0.05)
        assert run["conclusion"] == "success"
        assert record.read_text().split() == ["capture", "prs", "acme/big", "--job-id", "j1"]
    finally:
        process.terminate()
        process.wait(timeout=10)
