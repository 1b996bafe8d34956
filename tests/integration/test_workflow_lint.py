"""Every generated workflow passes zizmor, actionlint and GitHub's workflow JSON schema.

Each linter comes with the `test` extra; a test skips only where its tool is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ghcapture.workflows.generate import generate_workflows

AUTHS = ["app", "token"]


def tool(name: str) -> str:
    # Beside this interpreter first: the test extra installs the linters into the same environment.
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (it comes with the test extra)")
    return path


@pytest.fixture(params=AUTHS)
def workflows(request: pytest.FixtureRequest, tmp_path: Path) -> list[Path]:
    # Linters find workflows by their place in a repository: .github/workflows/.
    return generate_workflows(
        tmp_path / ".github" / "workflows",
        auth=request.param,
        ghcapture_spec="ghcapture==0.1.0",
        max_parallel=4,
    )


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def repo_root(workflows: list[Path]) -> Path:
    return workflows[0].parent.parent.parent


def test_zizmor_finds_nothing(workflows: list[Path]) -> None:
    root = repo_root(workflows)
    result = run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "plain", ".github/workflows"], root
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_actionlint_finds_nothing(workflows: list[Path]) -> None:
    root = repo_root(workflows)
    result = run([tool("actionlint"), "-no-color", *[str(p) for p in workflows]], root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_github_workflow_schema_accepts_them(workflows: list[Path]) -> None:
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)]
    result = run(command, repo_root(workflows))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


# The linters are only worth trusting if they fail a workflow that is broken in the ways ours must not be.
BROKEN = """\
name: broken
on:
  workflow_dispatch:
    inputs:
      repository:
        type: string
        required: true
permissions: write-all
jobs:
  capture:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v6
      - run: ghcapture capture prs ${{ inputs.repository }} ${{ matrix.nope }}
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / ".github" / "workflows" / "broken.yml"
    path.parent.mkdir(parents=True)
    path.write_text(BROKEN)
    return path


def test_zizmor_flags_injection_and_unpinned_actions(broken: Path) -> None:
    result = run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "plain", ".github/workflows"],
        broken.parents[2],
    )
    assert result.returncode != 0
    assert "template-injection" in result.stdout and "unpinned-uses" in result.stdout


def test_actionlint_flags_an_undefined_matrix_property(broken: Path) -> None:
    result = run([tool("actionlint"), "-no-color", str(broken)], broken.parents[2])
    assert result.returncode == 1
    assert 'property "nope" is not defined' in result.stdout


def test_the_schema_rejects_a_misspelt_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(BROKEN.replace("runs-on:", "run-on:"))
    result = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)], tmp_path
    )
    assert result.returncode == 1
