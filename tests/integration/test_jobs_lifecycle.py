"""Jobs end to end on the local engine (SQLite, in process): a stuck job recovered, a permanent failure
not retried until asked, cancel, and the commands' one-line errors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from ghcapture.capture.verify import compare_repository
from ghcapture.cli import main
from ghcapture.config import load_settings
from ghcapture.jobs.local import LocalEngine, launched
from ghcapture.jobs.router import Route
from ghcapture.jobs.settings import load_job_settings
from ghcapture.jobs.store import jobs_table
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.store.database import open_database
from ghcapture.store.tables import utc_now

LOCAL = Route("realtime", "local", "realtime: test")


@pytest.fixture
def env(
    make_simulator: Callable[..., SimulatorServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SimulatorServer:
    server = make_simulator({"acme/widgets": 120})
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "GITHUB_TOKEN": "x",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": f"sqlite:///{tmp_path}/data.db",
        "GHCAPTURE_PAGES_PER_STEP": "1",
        "GHCAPTURE_POLL_SECONDS": "0.1",
        "GHCAPTURE_STUCK_AFTER_SECONDS": "5",
        "GHCAPTURE_HEARTBEAT_SECONDS": "0.5",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("GITHUB_APP_ID", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return server


@pytest.fixture
def local(env: SimulatorServer) -> Iterator[LocalEngine]:
    settings = load_settings()
    engine = open_database(settings.database_url)
    with launched(settings, load_job_settings(settings), engine) as running:
        yield running
    engine.dispose()


def _until_terminal(local: LocalEngine, job_id: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        local.reap_once()
        local.dispatch_once()
        if local.store.get(job_id).is_terminal:
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {local.store.get(job_id, with_events=True)}")


def test_a_job_of_a_dead_worker_is_failed_as_stuck_and_retried(
    local: LocalEngine, env: SimulatorServer
) -> None:
    store = local.store
    job = store.create(kind="prs", repository="acme/widgets", route=LOCAL)
    # A worker that vanished: its claim and first attempt are on the row, its heartbeat long stopped.
    store.claim_workflow(job.id, f"{job.id}.gone", expected=None)
    assert store.claim_run(job.id, workflow_id=f"{job.id}.gone") == "started"
    with store.engine.begin() as conn:
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job.id)
            .values(heartbeat_at=utc_now() - timedelta(minutes=5))
        )
    _until_terminal(local, job.id)
    done = store.get(job.id, with_events=True)
    assert done.status == "completed" and done.attempts == 2
    types = [e.type for e in done.events]
    assert (
        types.index("stuck") < types.index("retrying") < types.index("recovered") < types.index("completed")
    )
    stuck = next(e for e in done.events if e.type == "stuck")
    assert "no heartbeat for" in (stuck.message or "") and "limit 5 s" in (stuck.message or "")
    truth = dump_repository(env.simulator.world.repositories["acme/widgets"], env.url)
    assert compare_repository(store.engine, truth).equal


def test_a_stuck_job_without_attempts_left_stays_failed(local: LocalEngine) -> None:
    store = local.store
    job = store.create(kind="prs", repository="acme/widgets", route=LOCAL, max_attempts=1)
    store.claim_workflow(job.id, f"{job.id}.gone", expected=None)
    store.claim_run(job.id, workflow_id=f"{job.id}.gone")
    with store.engine.begin() as conn:
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job.id)
            .values(heartbeat_at=utc_now() - timedelta(minutes=5))
        )
    assert local.reap_once() == 1
    failed = store.get(job.id)
    assert failed.status == "failed" and "no heartbeat" in (failed.error or "")


def test_permanent_failure_is_not_retried_until_asked(
    local: LocalEngine, env: SimulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    store = local.store
    job = store.create(kind="prs", repository="acme/gadgets", route=LOCAL)
    _until_terminal(local, job.id)
    failed = store.get(job.id)
    assert failed.status == "failed" and failed.attempts == 1, failed
    assert failed.error and "x" not in failed.error.split()  # the token never shows
    main(["jobs", "retry", job.id[:8]])
    assert store.get(job.id).status == "queued"
    env.simulator.world.add_repository(generate_repository("acme", "gadgets", 30, seed=3))
    _until_terminal(local, job.id)
    again = store.get(job.id, with_events=True)
    assert again.status == "completed" and again.attempts == 2
    assert [e.type for e in again.events].count("retry") == 1
    main(["jobs", "show", job.id])
    shown = capsys.readouterr().out
    assert "status: completed" in shown and "route: realtime lane on local: realtime: test" in shown


def test_cancel_stops_a_job_before_it_runs(local: LocalEngine, env: SimulatorServer) -> None:
    store = local.store
    job = store.create(kind="prs", repository="acme/widgets", route=LOCAL)
    main(["jobs", "cancel", job.id])
    assert local.dispatch_once() == 0
    cancelled = store.get(job.id, with_events=True)
    assert cancelled.status == "cancelled" and cancelled.events[-1].type == "cancelled"
    assert env.simulator.stats.as_dict()["requests_total"] == 0


def test_cancel_stops_a_running_capture_at_its_next_page(local: LocalEngine) -> None:
    store = local.store
    job = store.create(kind="prs", repository="acme/widgets", route=LOCAL)
    local.dispatch_once()
    deadline = time.monotonic() + 30
    while store.get(job.id).status != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    store.cancel(job.id)
    time.sleep(1.5)
    final = store.get(job.id, with_events=True)
    assert final.status == "cancelled"
    assert "completed" not in [e.type for e in final.events]


def test_track_schedules_a_refresh_and_records_the_backfill_first(local: LocalEngine) -> None:
    import dbos

    main(["track", "acme/widgets", "--every", "30s", "--backfill", "30"])
    local.sync_schedules()
    [backfill] = local.store.list()
    assert (backfill.trigger, backfill.lane, backfill.params) == (
        "background",
        "bulk",
        {"days": 30, "priority": 1},
    )
    [schedule] = dbos.DBOS.list_schedules(schedule_name_prefix="ghcapture-track:")
    assert schedule["schedule"] == "*/30 * * * * *"
    local.sync_schedules()
    assert len(local.store.list()) == 1, "the backfill is recorded once"
    dbos.DBOS.trigger_schedule("ghcapture-track:acme/widgets").get_result()
    refresh = next(j for j in local.store.list() if j.trigger == "scheduled")
    assert refresh.lane == "bulk" and "scheduled trigger" in (refresh.route_reason or "")
    main(["untrack", "acme/widgets"])
    local.sync_schedules()
    assert dbos.DBOS.list_schedules(schedule_name_prefix="ghcapture-track:") == []


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs", "show", "no-such-job"],
        ["jobs", "retry", "abcdef"],
        ["jobs", "list", "--status", "sleeping"],
        ["jobs", "list", "--repo", "bad"],
        ["untrack", "acme/never"],
        ["track", "acme/w", "--every", "7h"],
    ],
)
def test_bad_input_is_one_line(
    env: SimulatorServer, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_retrying_a_completed_job_is_refused(local: LocalEngine, capsys: pytest.CaptureFixture[str]) -> None:
    job = local.store.create(kind="prs", repository="acme/widgets", route=LOCAL)
    _until_terminal(local, job.id)
    with pytest.raises(SystemExit):
        main(["jobs", "retry", job.id])
    assert "only failed or cancelled jobs can be retried" in capsys.readouterr().err


def test_unreachable_database_is_one_line(
    env: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", "postgresql://u:secret@127.0.0.1:1/none")
    with pytest.raises(SystemExit):
        main(["jobs", "list"])
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "secret" not in err
