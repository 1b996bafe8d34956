"""`ghcapture workflows generate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghcapture.cli import main
from ghcapture.workflows.generate import WORKFLOW_KINDS
from ghcapture.workflows.inputs import declared_inputs


def test_generate_writes_and_lists_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wf"
    main(["workflows", "generate", "--out", str(out), "--auth", "token", "--ghcapture-spec", "./dist/g.whl"])
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"wrote {out / spec.file_name}" for spec in WORKFLOW_KINDS.values()]
    text = (out / "historical-pr-sync.yml").read_text()
    assert "secrets.GHCAPTURE_GITHUB_TOKEN" in text and "create-github-app-token" not in text
    assert 'GHCAPTURE_SPEC: "./dist/g.whl"' in text


def test_generate_defaults_to_app_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    main(["workflows", "generate", "--max-parallel", "9"])
    text = (tmp_path / ".github" / "workflows" / "capture-pr-details.yml").read_text()
    assert "create-github-app-token" in text
    assert declared_inputs(text)["max_parallel"].default == "9"


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    main(["workflows", "generate", "--help"])
    assert "Example: ghcapture workflows generate" in capsys.readouterr().out
