"""The generated bulk workflows: their shape, their safety rules, and what their capture step runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ghcapture.errors import InputError
from ghcapture.workflows.generate import WORKFLOW_KINDS, generate_workflows, render_workflow
from ghcapture.workflows.inputs import MAX_DISPATCH_INPUTS, declared_inputs

KINDS = sorted(WORKFLOW_KINDS)
AUTHS = ["app", "token"]


def load(kind: str, **options: Any) -> dict[Any, Any]:
    document = yaml.safe_load(render_workflow(kind, **options))
    assert isinstance(document, dict)
    return document


def steps(document: dict[Any, Any]) -> list[dict[str, Any]]:
    (job,) = document["jobs"].values()
    result: list[dict[str, Any]] = job["steps"]
    return result


def capture_step(document: dict[Any, Any]) -> dict[str, Any]:
    (step,) = [s for s in steps(document) if s.get("name") == "Capture"]
    return step


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("kind", KINDS)
def test_only_workflow_dispatch_triggers_it(kind: str, auth: str) -> None:
    document = load(kind, auth=auth)
    assert list(document[True]) == ["workflow_dispatch"]


@pytest.mark.parametrize("kind", KINDS)
def test_run_name_carries_job_id_and_kind(kind: str) -> None:
    run_name = load(kind)["run-name"]
    assert "${{ inputs.job_id }}" in run_name
    assert kind in run_name


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("kind", KINDS)
def test_no_run_step_expands_an_expression(kind: str, auth: str) -> None:
    for step in steps(load(kind, auth=auth)):
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert "secrets" not in step["run"], step["name"]


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_or_expression_in_any_run_text(kind: str, auth: str) -> None:
    # Read as text too, so a run: the parser folds differently cannot hide one.
    text = render_workflow(kind, auth=auth)
    run_blocks = re.findall(r"^( +)(?:- )?run: \|\n((?:\1  .*\n|\n)*)", text, flags=re.MULTILINE)
    run_lines = re.findall(r"^ +(?:- )?run: (?!\|)(.*)$", text, flags=re.MULTILINE)
    assert run_blocks and run_lines
    for body in [block for _, block in run_blocks] + run_lines:
        assert "${{" not in body
        assert "secrets." not in body


@pytest.mark.parametrize("kind", KINDS)
def test_inputs_are_typed_described_and_few(kind: str) -> None:
    declared = declared_inputs(render_workflow(kind))
    assert len(declared) <= MAX_DISPATCH_INPUTS
    assert {"job_id", "repository", "days", "since", "pr_numbers", "max_items", "chunks"} <= set(declared)
    assert declared["job_id"].required and declared["repository"].required
    assert declared["days"].type == "number" and declared["max_items"].type == "number"
    assert declared["chunks"].default == "[{}]"
    assert all(spec.description for spec in declared.values())


@pytest.mark.parametrize("kind", KINDS)
def test_least_permissions_concurrency_and_timeout(kind: str) -> None:
    document = load(kind)
    assert document["permissions"] == {}
    (job,) = document["jobs"].values()
    assert job["permissions"] == {}
    assert document["concurrency"] == {
        "group": f"ghcapture-{kind}-${{{{ inputs.repository }}}}",
        "cancel-in-progress": False,
    }
    assert 0 < job["timeout-minutes"] < 360


@pytest.mark.parametrize("kind", KINDS)
def test_matrix_runs_over_the_chunk_input(kind: str) -> None:
    (job,) = load(kind, max_parallel=7)["jobs"].values()
    strategy = job["strategy"]
    assert strategy["fail-fast"] is False
    assert strategy["matrix"] == {"chunk": "${{ fromJSON(inputs.chunks) }}"}
    assert strategy["max-parallel"] == "${{ inputs.max_parallel }}"
    assert declared_inputs(render_workflow(kind, max_parallel=7))["max_parallel"].default == "7"
    assert capture_step(load(kind))["env"]["CHUNK"] == "${{ toJSON(matrix.chunk) }}"


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_action_is_pinned_to_a_full_sha(kind: str, auth: str) -> None:
    uses = [step["uses"] for step in steps(load(kind, auth=auth)) if "uses" in step]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
    assert not any("actions/checkout" in ref for ref in uses)


def test_app_auth_mints_a_token_scoped_to_the_repository() -> None:
    document = load("historical-pr-sync", auth="app")
    (token_step,) = [s for s in steps(document) if "create-github-app-token" in s.get("uses", "")]
    assert token_step["with"]["app-id"] == "${{ vars.GHCAPTURE_APP_ID }}"
    assert token_step["with"]["private-key"] == "${{ secrets.GHCAPTURE_APP_PRIVATE_KEY }}"
    assert token_step["with"]["repositories"] == "${{ steps.repo.outputs.name }}"
    assert (
        capture_step(document)["env"]["GITHUB_TOKEN"] == f"${{{{ steps.{token_step['id']}.outputs.token }}}}"
    )


def test_token_auth_reads_the_token_secret() -> None:
    document = load("historical-pr-sync", auth="token")
    assert not any("create-github-app-token" in s.get("uses", "") for s in steps(document))
    env = capture_step(document)["env"]
    assert env["GITHUB_TOKEN"] == "${{ secrets.GHCAPTURE_GITHUB_TOKEN }}"
    assert env["GHCAPTURE_DATABASE_URL"] == "${{ secrets.GHCAPTURE_DATABASE_URL }}"


@pytest.mark.parametrize(
    "spec", ["ghcapture==0.1.0", "/tmp/a dir/ghcapture-0.1.0-py3-none-any.whl", 'x"y: #z']
)
def test_the_install_spec_is_passed_verbatim_through_env(spec: str) -> None:
    (install,) = [
        s for s in steps(load("bulk-file-changes", ghcapture_spec=spec)) if s["name"] == "Install ghcapture"
    ]
    assert install["env"]["GHCAPTURE_SPEC"] == spec
    assert '"$GHCAPTURE_SPEC"' in install["run"]


def test_the_default_spec_pins_this_version() -> None:
    from ghcapture import __version__

    text = render_workflow("capture-pr-details")
    assert f'GHCAPTURE_SPEC: "ghcapture=={__version__}"' in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"auth": "oauth"}, "auth"),
        ({"max_parallel": 0}, "max_parallel"),
        ({"max_parallel": 257}, "max_parallel"),
        ({"ghcapture_spec": "a\nb"}, "single line"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        render_workflow("historical-pr-sync", **options)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InputError, match="historical-pr-sync"):
        render_workflow("historical-everything")


def test_generate_writes_one_file_per_kind(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    paths = generate_workflows(out, auth="token")
    assert sorted(p.name for p in paths) == sorted(k.file_name for k in WORKFLOW_KINDS.values())
    assert {
        "historical-pr-sync.yml",
        "historical-reviews-sync.yml",
        "historical-comments-sync.yml",
        "bulk-file-changes.yml",
        "capture-pr-details.yml",
    } == {p.name for p in paths}
    for kind, spec in WORKFLOW_KINDS.items():
        assert (out / spec.file_name).read_text() == render_workflow(kind, auth="token")


# The capture step's shell script, run with a stand-in `ghcapture` that prints its arguments one a line.


def run_capture_script(kind: str, tmp_path: Path, **env: str) -> list[str]:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    step = capture_step(load(kind))
    stand_in = tmp_path / "bin" / "ghcapture"
    stand_in.parent.mkdir(exist_ok=True)
    stand_in.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    stand_in.chmod(0o755)
    values = {"REPOSITORY": "octo/hello", "JOB_ID": "job-1", "DAYS": "0", "SINCE": "", "PR_NUMBERS": ""}
    values |= {"MAX_ITEMS": "0", "CHUNK": "{}"} | env
    run_env = {"PATH": f"{stand_in.parent}{os.pathsep}{os.environ['PATH']}", **values}
    # Actions runs a `run:` with `bash -e {0}` by default on Linux.
    result = subprocess.run(
        [bash, "-e", "-c", step["run"]], env=run_env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_capture_script_passes_only_the_given_options(tmp_path: Path) -> None:
    assert run_capture_script("historical-reviews-sync", tmp_path) == [
        "capture",
        "reviews",
        "octo/hello",
        "--job-id",
        "job-1",
    ]


def test_capture_script_passes_every_option_verbatim(tmp_path: Path) -> None:
    hostile = '$(touch pwned) "; rm -rf / #'
    args = run_capture_script(
        "bulk-file-changes",
        tmp_path,
        JOB_ID=hostile,
        DAYS="30",
        SINCE="2024-01-01",
        PR_NUMBERS="1,2,3",
        MAX_ITEMS="500",
        CHUNK='{\n  "numbers": [\n    1,\n    100\n  ]\n}',
    )
    assert args[:5] == ["capture", "files", "octo/hello", "--job-id", hostile]
    rest = args[5:]
    assert rest[:8] == [
        "--days",
        "30",
        "--since",
        "2024-01-01",
        "--pr-numbers",
        "1,2,3",
        "--max-items",
        "500",
    ]
    assert rest[8] == "--chunk"
    assert yaml.safe_load("\n".join(rest[9:])) == {"numbers": [1, 100]}
    assert not (tmp_path / "pwned").exists()
