"""Renders the bulk lane's workflow files: one `workflow_dispatch` workflow per capture kind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ghcapture import __version__
from ghcapture.errors import InputError

if TYPE_CHECKING:
    import jinja2

Auth = Literal["app", "token"]


@dataclass(frozen=True)
class WorkflowKind:
    """A kind of bulk capture: the workflow file that runs it and the `ghcapture capture` subcommand."""

    file_name: str
    subcommand: str


WORKFLOW_KINDS: dict[str, WorkflowKind] = {
    "historical-pr-sync": WorkflowKind("historical-pr-sync.yml", "prs"),
    "historical-reviews-sync": WorkflowKind("historical-reviews-sync.yml", "reviews"),
    "historical-comments-sync": WorkflowKind("historical-comments-sync.yml", "comments"),
    "bulk-file-changes": WorkflowKind("bulk-file-changes.yml", "files"),
    "capture-pr-details": WorkflowKind("capture-pr-details.yml", "pr-details"),
}


@dataclass(frozen=True)
class ActionPin:
    """A third-party action pinned to the full commit SHA its release tag points at."""

    sha: str
    tag: str


ACTION_PINS: dict[str, ActionPin] = {
    "actions/create-github-app-token": ActionPin("bcd2ba49218906704ab6c1aa796996da409d3eb1", "v3.2.0"),
    "actions/setup-python": ActionPin("e797f83bcb11b83ae66e0230d6156d7c80228e7c", "v6.0.0"),
}

# GitHub ends a job at 6 hours (360 minutes); stop before that so the run ends as a timeout we report.
TIMEOUT_MINUTES = 350
# GitHub refuses a matrix of more than 256 jobs.
MAX_MATRIX_JOBS = 256

DEFAULT_GHCAPTURE_SPEC = f"ghcapture=={__version__}"


def _yaml_str(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar, so any spec or version renders safely.
    return json.dumps(value, ensure_ascii=False)


def _environment() -> jinja2.Environment:
    import jinja2  # only when writing workflows: the command line's help stays light

    # Jinja's default `{{ }}` would swallow GitHub's `${{ }}`; `#%` lines keep the template valid YAML.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ghcapture.workflows", "templates"),
        variable_start_string="<{",
        variable_end_string="}>",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
        line_statement_prefix="#%",
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    env.filters["yaml_str"] = _yaml_str
    return env


def render_workflow(
    kind: str,
    *,
    ghcapture_spec: str = DEFAULT_GHCAPTURE_SPEC,
    python_version: str = "3.11",
    auth: Auth = "app",
    max_parallel: int = 4,
) -> str:
    """The text of the workflow file for `kind` (a key of WORKFLOW_KINDS)."""
    if kind not in WORKFLOW_KINDS:
        raise InputError(f"unknown workflow kind {kind!r}; expected one of: {', '.join(WORKFLOW_KINDS)}")
    if auth not in ("app", "token"):
        raise InputError(f"unknown auth {auth!r}; expected 'app' or 'token'")
    if not 1 <= max_parallel <= MAX_MATRIX_JOBS:
        raise InputError(f"max_parallel must be between 1 and {MAX_MATRIX_JOBS}, got {max_parallel}")
    if not ghcapture_spec.strip() or "\n" in ghcapture_spec:
        raise InputError("the ghcapture spec must be one pip requirement, path or URL on a single line")
    template = _environment().get_template("capture.yml")
    return template.render(
        kind=kind,
        subcommand=WORKFLOW_KINDS[kind].subcommand,
        version=__version__,
        ghcapture_spec=ghcapture_spec.strip(),
        python_version=python_version,
        auth=auth,
        max_parallel=max_parallel,
        timeout_minutes=TIMEOUT_MINUTES,
        pins=ACTION_PINS,
    )


def generate_workflows(
    out_dir: Path,
    *,
    ghcapture_spec: str = DEFAULT_GHCAPTURE_SPEC,
    python_version: str = "3.11",
    auth: Auth = "app",
    max_parallel: int = 4,
) -> list[Path]:
    """Writes every kind's workflow file into `out_dir` (created if absent) and returns their paths."""
    rendered = {
        spec.file_name: render_workflow(
            kind,
            ghcapture_spec=ghcapture_spec,
            python_version=python_version,
            auth=auth,
            max_parallel=max_parallel,
        )
        for kind, spec in WORKFLOW_KINDS.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in rendered.items():
        path = out_dir / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
