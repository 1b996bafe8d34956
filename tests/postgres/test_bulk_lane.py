"""The bulk lane end to end: `ghcapture sync` routes a year of history to GitHub Actions, the simulator's
runner runs the generated workflow's `ghcapture capture` per matrix chunk against PostgreSQL, and
`ghcapture reconcile` ends the job with its run, billable time and cost. Runs that fail, time out or are
cancelled fail their job with the reason, and `ghcapture jobs retry` dispatches it again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from ghcapture.capture.verify import compare_repository
from ghcapture.cli import main
from ghcapture.jobs.model import COMPLETED, FAILED, GITHUB_ACTIONS, Job
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.actions import WorkflowRun
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.runner import RunnerConfig, WorkflowRunner
from ghcapture.simulator.server import AppKeys, SimulatorServer, new_app_keys
from ghcapture.simulator.world import World
from ghcapture.store.database import open_database
from ghcapture.workflows.generate import WORKFLOW_KINDS, render_workflow

pytestmark = pytest.mark.postgres
JOBS_REPO = "acme/ghcapture-jobs"


@dataclass
class Lane:
    server: SimulatorServer
    keys: AppKeys
    database_url: str
    engine: Engine
    workdir: Path

    def runner(self, **options: object) -> WorkflowRunner:
        """A runner for the jobs repository's runs, holding the secrets and variables the workflows need."""
        config = RunnerConfig(
            api_url=self.server.url,
            secrets={
                "GHCAPTURE_DATABASE_URL": self.database_url,
                "GHCAPTURE_APP_PRIVATE_KEY": self.keys.private_key_pem,
            },
            vars={"GHCAPTURE_APP_ID": str(self.keys.identity.app_id)},
            workdir=self.workdir / f"runner-{len(list(self.workdir.glob('runner-*')))}",
            **options,  # type: ignore[arg-type]
        )
        return WorkflowRunner(self.server.simulator, config).attach()

    def runs(self) -> list[WorkflowRun]:
        return sorted(self.server.simulator.actions.runs.values(), key=lambda r: r.id)

    def only_job(self) -> Job:
        [job] = JobStore(self.engine).list()
        return JobStore(self.engine).get(job.id, with_events=True)


def ghcapture(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def lane(
    make_simulator: Callable[..., SimulatorServer],
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Lane]:
    keys = new_app_keys()
    world = World()
    jobs_repo = world.add_repository(generate_repository(*JOBS_REPO.split("/"), 0))
    for kind, spec in WORKFLOW_KINDS.items():
        jobs_repo.files.setdefault("main", {})[f".github/workflows/{spec.file_name}"] = render_workflow(
            kind
        ).encode()
    server = make_simulator({"acme/big": 240}, config=SimulatorConfig(app=keys.identity), world=world)
    monkeypatch.chdir(tmp_path)
    for name in (
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_PRIVATE_KEY_PATH",
        "GHCAPTURE_CONFIG",
        "GHCAPTURE_ACTIONS_TOKEN",
        "GHCAPTURE_ACTIONS_REF",
    ):
        monkeypatch.delenv(name, raising=False)
    env = {
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GITHUB_TOKEN": "ghp_orchestrator",
        "GHCAPTURE_DATABASE_URL": postgres_url,
        "GHCAPTURE_ACTIONS_REPOSITORY": JOBS_REPO,
        "GHCAPTURE_ACTIONS_DATABASE_URL": postgres_url,
        "GHCAPTURE_ACTIONS_PRS_PER_CHUNK": "100",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    engine = open_database(postgres_url)
    try:
        yield Lane(server=server, keys=keys, database_url=postgres_url, engine=engine, workdir=tmp_path)
    finally:
        engine.dispose()


def test_a_year_of_history_runs_on_actions_and_equals_ground_truth(lane: Lane) -> None:
    runner = lane.runner()

    assert ghcapture("sync", "acme/big", "--days", "365") == 0

    [run] = lane.runs()
    job = lane.only_job()
    assert job.lane == "bulk" and job.processor == GITHUB_ACTIONS and job.workflow_run_id == run.id
    assert runner.wait(run.id, 150), "the run did not finish"
    assert run.conclusion == "success", runner.log(run.id)[-3000:]
    assert len(run.jobs) == 3  # 240 PRs at 100 a chunk: three matrix jobs
    assert ghcapture("reconcile") == 0

    job = lane.only_job()
    assert job.status == COMPLETED, (job.error, [(e.type, e.message) for e in job.events])
    assert job.billable_ms == run.billable_ms() == 3 * 60_000
    assert job.cost_usd == pytest.approx(3 * 0.006)
    assert job.run_url and str(run.id) in job.run_url
    assert job.points_used > 0 and job.attempts == 1
    assert job.items_done == 240, "the chunks' items add up to the job's"
    repo = lane.server.simulator.world.repository("acme", "big")
    assert repo is not None
    check = compare_repository(lane.engine, dump_repository(repo, lane.server.url))
    assert check.equal, check.summary()
    assert lane.database_url.split("@")[-1] not in runner.log(run.id) or "***" in runner.log(run.id)


def _cancel_when_started(lane: Lane) -> Callable[[], None]:
    def cancel() -> None:
        [run] = [r for r in lane.runs() if r.status != "completed"]
        answer = httpx.post(
            f"{lane.server.url}/repos/{JOBS_REPO}/actions/runs/{run.id}/cancel",
            headers={"authorization": "token ghp_orchestrator"},
        )
        assert answer.status_code == 202

    return cancel


@pytest.mark.parametrize(
    "ending, runner_options, reason",
    [
        ("failure", {"ghcapture_stand_in": "false"}, "the workflow run failed"),
        ("timed_out", {"minute_seconds": 0.0001}, "timed out"),
        ("cancelled", {"ghcapture_stand_in": "sleep 60"}, "cancelled"),
    ],
)
def test_a_run_that_fails_ends_its_job_failed_and_a_retry_dispatches_it_again(
    lane: Lane, monkeypatch: pytest.MonkeyPatch, ending: str, runner_options: dict[str, object], reason: str
) -> None:
    monkeypatch.setenv("GHCAPTURE_ACTIONS_PRS_PER_CHUNK", "1000")  # one chunk keeps this quick
    broken = lane.runner(**runner_options)

    assert ghcapture("sync", "acme/big", "--days", "365") == 0
    [first] = lane.runs()
    if ending == "cancelled":
        while first.status != "in_progress":
            assert not broken.wait(first.id, 0.05), broken.log(first.id)  # it must still be running
        _cancel_when_started(lane)()
    assert broken.wait(first.id, 60)
    assert first.conclusion == ending
    assert ghcapture("reconcile") == 0

    job = lane.only_job()
    assert job.status == FAILED and reason in (job.error or "")
    assert job.billable_ms == 60_000

    healthy = lane.runner()
    assert ghcapture("jobs", "retry", job.id) == 0
    second = lane.runs()[-1]
    assert second.id != first.id and lane.only_job().workflow_run_id == second.id
    assert healthy.wait(second.id, 120) and second.conclusion == "success", healthy.log(second.id)[-2000:]
    assert ghcapture("reconcile") == 0

    job = lane.only_job()
    assert job.status == COMPLETED and job.error is None
    assert job.billable_ms == 2 * 60_000 and job.cost_usd == pytest.approx(2 * 0.006)
