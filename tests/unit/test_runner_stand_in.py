"""The runner's `ghcapture` stand-in: a shell snippet run without the step's arguments, so a `sleep`
keeps the step running until the run is cancelled instead of exiting at once on the arguments."""

from __future__ import annotations

from pathlib import Path

from ghcapture.simulator.actions import WorkflowRun
from ghcapture.simulator.app import Simulator
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.runner import RunnerConfig, WorkflowRunner
from ghcapture.simulator.world import World

WORKFLOW = """name: stand-in
on:
  workflow_dispatch:
jobs:
  work:
    runs-on: ubuntu-latest
    steps:
      - run: ghcapture capture prs acme/big --job-id abc --days 365
"""


def _run(tmp_path: Path, stand_in: str) -> tuple[Simulator, WorkflowRunner, WorkflowRun]:
    world = World()
    repo = generate_repository("acme", "jobs", 0)
    world.add_repository(repo)
    sim = Simulator(world)
    runner = WorkflowRunner(
        sim, RunnerConfig(api_url="http://sim.test", ghcapture_stand_in=stand_in, workdir=tmp_path / "r")
    ).attach()
    path = ".github/workflows/w.yml"
    repo.files.setdefault("main", {})[path] = WORKFLOW.encode()
    run = sim.actions.dispatch(repo, path, WORKFLOW.encode(), "main", {})
    assert isinstance(run, WorkflowRun), run
    return sim, runner, run


def test_a_sleeping_stand_in_keeps_the_run_in_progress_until_it_is_cancelled(tmp_path: Path) -> None:
    sim, runner, run = _run(tmp_path, "sleep 60")

    assert not runner.wait(run.id, 1.5), runner.log(run.id)
    assert run.status == "in_progress"
    sim.actions.complete_run(run, "cancelled")
    assert runner.wait(run.id, 20)
    assert run.conclusion == "cancelled"


def test_a_failing_stand_in_fails_the_run(tmp_path: Path) -> None:
    _, runner, run = _run(tmp_path, "false")

    assert runner.wait(run.id, 20)
    assert run.conclusion == "failure", runner.log(run.id)
