"""The simulator's workflow runner: expressions, matrix, steps, emulated actions, conclusions and timing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ghcapture.simulator.actions import WorkflowRun
from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.runner import RunnerConfig, WorkflowRunner, evaluate, substitute, to_text
from ghcapture.simulator.server import AppKeys, new_app_keys
from ghcapture.simulator.world import World
from ghcapture.workflows.generate import render_workflow

MATRIX_WORKFLOW = """name: matrix
run-name: matrix ${{ inputs.job_id }}
on:
  workflow_dispatch:
    inputs:
      job_id: {type: string, required: true}
      chunks: {type: string, default: "[{}]"}
      max_parallel: {type: number, default: 2}
      fail: {type: boolean, default: false}
env:
  TOP: top-${{ inputs.job_id }}
jobs:
  work:
    name: work ${{ inputs.job_id }}
    runs-on: ubuntu-latest
    timeout-minutes: 5
    strategy:
      fail-fast: false
      max-parallel: ${{ inputs.max_parallel }}
      matrix:
        chunk: ${{ fromJSON(inputs.chunks) }}
    steps:
      - uses: actions/checkout@v4
      - id: first
        env:
          CHUNK: ${{ toJSON(matrix.chunk) }}
        run: |
          n=$(echo "$CHUNK" | python -c 'import json,sys; print(json.load(sys.stdin)["n"])')
          echo "n=$n" >> "$GITHUB_OUTPUT"
          echo "FROM_ENV=seen" >> "$GITHUB_ENV"
          python -m pip install something-that-does-not-exist==0.0.0
      - env:
          N: ${{ steps.first.outputs.n }}
          SECRET: ${{ secrets.API_SECRET }}
          VAR: ${{ vars.SOME_VAR || 'fallback' }}
          OUT: ${{ github.workspace }}/../out-${{ steps.first.outputs.n }}.json
        run: |
          if [ "${{ inputs.fail }}" = "true" ] && [ "$N" = "2" ]; then echo "failing chunk $N"; exit 3; fi
          echo "secret is $SECRET"
          python -c 'import json,os; json.dump({k: os.environ.get(k) for k in
            ["N","SECRET","VAR","TOP","FROM_ENV","GITHUB_API_URL","GITHUB_RUN_ID"]},
            open(os.environ["OUT"], "w"))'
"""


def _sim(keys: AppKeys | None = None) -> tuple[Simulator, Any]:
    world = World()
    jobs = generate_repository("acme", "jobs", 0)
    world.add_repository(jobs)
    return Simulator(world, SimulatorConfig(app=keys.identity if keys else None)), jobs


def _dispatch(
    sim: Simulator, repo: Any, text: str, inputs: dict[str, str], name: str = "w.yml"
) -> WorkflowRun:
    path = f".github/workflows/{name}"
    repo.files.setdefault("main", {})[path] = text.encode()
    run = sim.actions.dispatch(repo, path, text.encode(), "main", inputs)
    assert isinstance(run, WorkflowRun), run
    return run


@pytest.fixture
def runner_dir(tmp_path: Path) -> Path:
    return tmp_path / "runner"


def test_expressions_follow_githubs_rules() -> None:
    context = {"inputs": {"chunks": '[{"a": 1}, {"b": 2}]', "n": 3, "empty": ""}, "matrix": {"chunk": {}}}

    assert evaluate("fromJSON(inputs.chunks)[1].b", context) == 2
    assert evaluate("inputs.empty || 'default'", context) == "default"
    assert evaluate("inputs.n == '3' && 'yes'", context) == "yes"
    assert evaluate("!inputs.empty", context) is True
    assert evaluate("format('{0}-{1} {{x}}', inputs.n, 'b')", context) == "3-b {x}"
    assert evaluate("contains(fromJSON('[1, 2]'), 2) && startsWith('Hello', 'he')", context) is True
    assert evaluate("toJSON(matrix.chunk)", context) == "{}"
    assert json.loads(evaluate("toJSON(fromJSON(inputs.chunks)[0])", context)) == {"a": 1}
    assert substitute("${{ inputs.n }}", context) == 3
    assert substitute("n=${{ inputs.n }} and ${{ inputs.missing }}.", context) == "n=3 and ."
    assert to_text(True) == "true" and to_text(2.0) == "2" and to_text(None) == ""


def test_a_matrix_run_substitutes_everything_and_succeeds(runner_dir: Path) -> None:
    sim, repo = _sim()
    runner = WorkflowRunner(
        sim,
        RunnerConfig(api_url="http://sim.test", secrets={"API_SECRET": "s3cr3t-value"}, workdir=runner_dir),
    ).attach()
    chunks = json.dumps([{"n": 1}, {"n": 2}, {"n": 3}])

    run = _dispatch(sim, repo, MATRIX_WORKFLOW, {"job_id": "j1", "chunks": chunks})
    assert runner.wait(run.id, 60)

    assert (run.status, run.conclusion) == ("completed", "success"), runner.log(run.id)
    outputs = {n: json.loads((runner_dir / f"out-{n}.json").read_text()) for n in (1, 2, 3)}
    assert outputs[2] == {
        "N": "2",
        "SECRET": "s3cr3t-value",
        "VAR": "fallback",
        "TOP": "top-j1",
        "FROM_ENV": "seen",
        "GITHUB_API_URL": "http://sim.test",
        "GITHUB_RUN_ID": str(run.id),
    }
    assert sorted(job["name"] for job in run.jobs) == [f'work j1 ({{"n": {n}}})' for n in (1, 2, 3)]
    assert all(
        job["conclusion"] == "success" and job["completed_at"] >= job["started_at"] for job in run.jobs
    )
    assert run.billable_ms() == 3 * 60_000  # each job is billed at least a whole minute
    log = runner.log(run.id)
    assert "s3cr3t-value" not in log and "secret is ***" in log
    assert "pip install skipped" in log


def test_max_parallel_bounds_the_jobs_running_at_once(runner_dir: Path) -> None:
    sim, repo = _sim()
    runner = WorkflowRunner(sim, RunnerConfig(api_url="http://sim.test", workdir=runner_dir)).attach()
    text = (
        MATRIX_WORKFLOW.split("    steps:")[0]
        + """    steps:
      - run: |
          mkdir -p ../running && touch ../running/$$ && sleep 0.4
          ls ../running | wc -l > ../seen-$$ && rm ../running/$$
"""
    )
    run = _dispatch(
        sim,
        repo,
        text,
        {"job_id": "p", "chunks": json.dumps([{"n": i} for i in range(5)]), "max_parallel": "2"},
    )
    assert runner.wait(run.id, 60)

    assert run.conclusion == "success", runner.log(run.id)
    seen = [int(p.read_text()) for p in runner_dir.glob("seen-*")]
    assert len(seen) == 5 and max(seen) <= 2


def test_a_failing_chunk_fails_the_run_and_the_others_still_run(runner_dir: Path) -> None:
    sim, repo = _sim()
    runner = WorkflowRunner(sim, RunnerConfig(api_url="http://sim.test", workdir=runner_dir)).attach()

    run = _dispatch(
        sim,
        repo,
        MATRIX_WORKFLOW,
        {"job_id": "f", "fail": "true", "chunks": json.dumps([{"n": 1}, {"n": 2}, {"n": 3}])},
    )
    assert runner.wait(run.id, 60)

    assert run.conclusion == "failure"
    assert sorted(job["conclusion"] for job in run.jobs) == ["failure", "success", "success"]
    assert "failing chunk 2" in runner.log(run.id)


def test_a_job_past_its_timeout_ends_the_run_as_timed_out(runner_dir: Path) -> None:
    sim, repo = _sim()
    # A workflow minute lasts 0.01 s here, so timeout-minutes: 5 is 0.05 s.
    runner = WorkflowRunner(
        sim, RunnerConfig(api_url="http://sim.test", workdir=runner_dir, minute_seconds=0.01)
    ).attach()
    text = MATRIX_WORKFLOW.split("    steps:")[0] + "    steps:\n      - run: sleep 30\n"

    run = _dispatch(sim, repo, text, {"job_id": "t"})
    assert runner.wait(run.id, 20)

    assert run.conclusion == "timed_out"
    assert [job["conclusion"] for job in run.jobs] == ["timed_out"]


def test_a_cancelled_run_stops_its_steps(runner_dir: Path) -> None:
    sim, repo = _sim()
    runner = WorkflowRunner(sim, RunnerConfig(api_url="http://sim.test", workdir=runner_dir)).attach()
    text = MATRIX_WORKFLOW.split("    steps:")[0] + "    steps:\n      - run: sleep 30\n"

    run = _dispatch(sim, repo, text, {"job_id": "c"})
    while run.status != "in_progress":
        pass
    sim.actions.complete_run(run, "cancelled")
    assert runner.wait(run.id, 20)

    assert run.conclusion == "cancelled"
    assert [job["conclusion"] for job in run.jobs] == ["cancelled"]


def test_a_workflow_without_jobs_is_a_startup_failure(runner_dir: Path) -> None:
    sim, repo = _sim()
    runner = WorkflowRunner(sim, RunnerConfig(api_url="http://sim.test", workdir=runner_dir)).attach()

    run = _dispatch(sim, repo, "on:\n  workflow_dispatch: {}\njobs: {}\n", {})
    assert runner.wait(run.id, 20)

    assert run.conclusion == "startup_failure" and run.jobs == []


@pytest.fixture(scope="module")
def keys() -> AppKeys:
    return new_app_keys()


def _fake_ghcapture(tmp_path: Path) -> tuple[str, Path]:
    record = tmp_path / "calls.jsonl"
    script = tmp_path / "fake-ghcapture.py"
    script.write_text(
        "import json, os, sys\n"
        f"with open({str(record)!r}, 'a') as f:\n"
        "    keys = ['GITHUB_TOKEN', 'GHCAPTURE_DATABASE_URL', 'GITHUB_API_URL']\n"
        "    env = {k: os.environ.get(k) for k in keys}\n"
        "    f.write(json.dumps({'args': sys.argv[1:], 'env': env}) + '\\n')\n"
    )
    import sys

    return f"{sys.executable} {script}", record


@pytest.mark.parametrize("auth", ["app", "token"])
def test_the_generated_workflow_runs_ghcapture_capture_per_chunk(
    tmp_path: Path, keys: AppKeys, auth: str
) -> None:
    sim, repo = _sim(keys)
    command, record = _fake_ghcapture(tmp_path)
    secrets = {
        "GHCAPTURE_DATABASE_URL": "postgresql://u:pw@db/x",
        "GHCAPTURE_APP_PRIVATE_KEY": keys.private_key_pem,
        "GHCAPTURE_GITHUB_TOKEN": "ghp_plain",
    }
    runner = WorkflowRunner(
        sim,
        RunnerConfig(
            api_url="http://sim.test",
            secrets=secrets,
            vars={"GHCAPTURE_APP_ID": str(keys.identity.app_id)},
            ghcapture_command=command,
            workdir=tmp_path / "r",
        ),
    ).attach()
    text = render_workflow("historical-pr-sync", auth=auth)  # type: ignore[arg-type]
    chunks = [{"since": "2025-01-01T00:00:00Z", "until": "2025-06-01T00:00:00Z"}, {"numbers": [1, 50]}]

    run = _dispatch(
        sim,
        repo,
        text,
        {
            "job_id": "abc",
            "repository": "acme/big",
            "chunks": json.dumps(chunks),
            "max_parallel": "1",
            "max_items": "7",
        },
        name="historical-pr-sync.yml",
    )
    assert runner.wait(run.id, 60)

    assert run.conclusion == "success", runner.log(run.id)
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(calls) == 2
    for call in calls:
        args = call["args"]
        assert args[:5] == ["capture", "prs", "acme/big", "--job-id", "abc"]
        assert args[args.index("--max-items") + 1] == "7" and "--days" not in args
        assert call["env"]["GHCAPTURE_DATABASE_URL"] == "postgresql://u:pw@db/x"
        assert call["env"]["GITHUB_API_URL"] == "http://sim.test"
        token = call["env"]["GITHUB_TOKEN"]
        if auth == "app":
            assert token.startswith("ghs_") and sim.token_status(token) == "valid"
        else:
            assert token == "ghp_plain"
    sent = [json.loads(c["args"][c["args"].index("--chunk") + 1]) for c in calls]
    assert sorted(sent, key=json.dumps) == sorted(chunks, key=json.dumps)
    assert "ghs_" not in runner.log(run.id) and "pw@db" not in runner.log(run.id)


def test_an_app_token_step_with_the_wrong_key_fails_the_run(tmp_path: Path, keys: AppKeys) -> None:
    sim, repo = _sim(keys)
    command, record = _fake_ghcapture(tmp_path)
    runner = WorkflowRunner(
        sim,
        RunnerConfig(
            api_url="http://sim.test",
            secrets={"GHCAPTURE_APP_PRIVATE_KEY": new_app_keys().private_key_pem},
            vars={"GHCAPTURE_APP_ID": str(keys.identity.app_id)},
            ghcapture_command=command,
            workdir=tmp_path / "r",
        ),
    ).attach()

    run = _dispatch(
        sim,
        repo,
        render_workflow("historical-pr-sync"),
        {"job_id": "x", "repository": "acme/big"},
        name="historical-pr-sync.yml",
    )
    assert runner.wait(run.id, 60)

    assert run.conclusion == "failure"
    assert "not the App's key" in runner.log(run.id)
    assert not record.exists()
