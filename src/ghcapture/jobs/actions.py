"""The bulk lane's dispatcher: a job becomes the inputs of its generated workflow, checked against the inputs
the workflow file in the jobs repository declares, then a workflow_dispatch linked to the run it started.

GitHub refuses a dispatch whose inputs the file does not declare (422), so nothing is sent unless they fit.
The run id comes from `return_run_details`; a server that answers 204 instead is asked for the
workflow_dispatch runs created since the dispatch, and the run whose name carries the job id is the one.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from ghcapture.capture.scope import parse_pr_numbers
from ghcapture.config import Settings, load_settings
from ghcapture.errors import GhcaptureError
from ghcapture.github.errors import GitHubError, NotFound, Unprocessable
from ghcapture.github.http import GitHubClient
from ghcapture.jobs.actions_settings import ActionsSettings, load_actions_settings
from ghcapture.jobs.chunks import BackfillTooLarge, Chunk, chunks_input, max_parallel_for, plan_chunks
from ghcapture.jobs.model import GITHUB_ACTIONS, PENDING, QUEUED, Job
from ghcapture.jobs.store import JobStateError, JobStore
from ghcapture.workflows.generate import WORKFLOW_KINDS, WorkflowKind
from ghcapture.workflows.inputs import (
    InputSpec,
    WorkflowFileError,
    WorkflowInputsMismatch,
    check_dispatch_inputs,
    declared_inputs,
    encode_dispatch_inputs,
)

WORKFLOWS_DIR = ".github/workflows"
# Planning figures for a chunk: the design's budget per PR, and a slow runner's pace.
POINTS_PER_PR = 0.1
SECONDS_PER_PR = 0.2
# A token's GraphQL points an hour; App installations get more, so this errs on the side of fewer at once.
HOURLY_POINTS = 5000
# How long the declared inputs of a workflow file are trusted before it is read again.
DECLARED_INPUTS_TTL = 300.0
# GitHub takes a few seconds to create a dispatched run; look this long before leaving it to reconcile.
CORRELATION_ATTEMPTS = 8
CORRELATION_WAIT = 1.5
# A run's created_at may lag or lead our clock a little.
CLOCK_SKEW = timedelta(seconds=30)
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class DispatchError(GhcaptureError):
    """The job could not be dispatched to GitHub Actions; the job row says why."""


@dataclass(frozen=True)
class WorkflowFile:
    """A workflow file as read from the jobs repository: its path, declared inputs and run-name template."""

    path: str
    declared: dict[str, InputSpec]
    run_name: str | None


@dataclass(frozen=True)
class Dispatched:
    job_id: str
    repository: str  # the jobs repository
    workflow_file: str
    inputs: dict[str, str]
    chunks: int
    max_parallel: int
    run_id: int | None
    run_url: str | None  # the run's page on GitHub


class DeclaredInputsCache:
    """Workflow files read through the contents API, kept `ttl` seconds per (API, repository, ref, path)."""

    def __init__(self, ttl: float = DECLARED_INPUTS_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._files: dict[tuple[str, str, str, str], tuple[float, WorkflowFile]] = {}
        self.reads = 0

    async def get(self, client: GitHubClient, repository: str, ref: str, path: str) -> WorkflowFile:
        key = (client.api_url, repository.lower(), ref, path)
        cached = self._files.get(key)
        if cached is not None and self.clock() - cached[0] < self.ttl:
            return cached[1]
        workflow = await read_workflow_file(client, repository, ref, path)
        self.reads += 1
        self._files[key] = (self.clock(), workflow)
        return workflow

    def forget(self, client: GitHubClient, repository: str, ref: str, path: str) -> None:
        self._files.pop((client.api_url, repository.lower(), ref, path), None)


# One cache per process: the worker dispatches many jobs against the same few files.
DECLARED_INPUTS = DeclaredInputsCache()


async def read_workflow_file(client: GitHubClient, repository: str, ref: str, path: str) -> WorkflowFile:
    """Reads a workflow file through the contents API and parses its workflow_dispatch inputs."""
    import yaml

    try:
        answer = await client.rest("GET", f"/repos/{repository}/contents/{path}", params={"ref": ref})
    except NotFound:
        raise WorkflowFileError(
            f"{path} is not in {repository} at {ref}: generate the workflows (ghcapture workflows generate) "
            "and commit them there"
        ) from None
    data = answer.data
    if not isinstance(data, dict) or data.get("type") != "file" or data.get("encoding") != "base64":
        raise WorkflowFileError(f"{path} in {repository} at {ref} is not a file the contents API returns")
    try:
        text = base64.b64decode(data.get("content") or "").decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise WorkflowFileError(f"{path} in {repository} at {ref} is not UTF-8 text") from None
    declared = declared_inputs(text)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:  # declared_inputs has already refused invalid YAML
        document = {}
    run_name = document.get("run-name") if isinstance(document, dict) else None
    return WorkflowFile(
        path=path, declared=declared, run_name=run_name if isinstance(run_name, str) else None
    )


def workflow_kind_for(job_kind: str) -> tuple[str, WorkflowKind]:
    """The generated workflow that runs a job of this kind: a capture subcommand or a workflow kind name."""
    for name, kind in WORKFLOW_KINDS.items():
        if job_kind in (name, kind.subcommand, kind.file_name):
            return name, kind
    raise DispatchError(f"no bulk workflow runs jobs of kind {job_kind!r}")


def render_run_name(template: str | None, inputs: Mapping[str, str]) -> str | None:
    """The run name GitHub shows for these inputs, when the template uses nothing but inputs."""
    if template is None:
        return None
    unknown = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unknown
        expression = match.group(1)
        for prefix in ("inputs.", "github.event.inputs."):
            if expression.startswith(prefix) and re.fullmatch(
                r"[A-Za-z_][A-Za-z0-9_-]*", expression[len(prefix) :]
            ):
                return inputs.get(expression[len(prefix) :], "")
        unknown = True
        return ""

    rendered = _EXPRESSION.sub(substitute, template)
    return None if unknown else rendered


def _compact_numbers(numbers: list[int]) -> str:
    """12,13,14,20 -> '12-14,20': a dispatch input holds at most 65,535 characters."""
    parts: list[str] = []
    ordered = sorted(set(numbers))
    start = previous = ordered[0]
    for number in [*ordered[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ",".join(parts)


@dataclass(frozen=True)
class DispatchPlan:
    inputs: dict[str, object]
    chunks: list[Chunk]
    max_parallel: int


def _window_start(params: Mapping[str, Any], now: datetime) -> datetime | None:
    if params.get("days"):
        return now - timedelta(days=float(params["days"]))
    if params.get("since"):
        since = datetime.fromisoformat(str(params["since"]).replace("Z", "+00:00"))
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    return None


def plan_dispatch(
    job: Job,
    *,
    estimated_prs: int | None,
    highest_number: int | None,
    prs_per_chunk: int,
    now: datetime,
) -> DispatchPlan:
    """The workflow inputs for a job; a time window or all history is split into matrix chunks."""
    params = job.params
    inputs: dict[str, object] = {"job_id": job.id, "repository": job.repository or ""}
    if params.get("max_items"):
        inputs["max_items"] = int(params["max_items"])
    chunks: list[Chunk] = []
    pr_numbers = params.get("pr_numbers")
    if pr_numbers:
        numbers = (
            list(parse_pr_numbers(pr_numbers))
            if isinstance(pr_numbers, str)
            else [int(n) for n in pr_numbers]
        )
        inputs["pr_numbers"] = _compact_numbers(numbers)
    elif estimated_prs and not params.get("max_items"):
        min_chunks = max(1, math.ceil(estimated_prs / prs_per_chunk))
        start = _window_start(params, now)
        if start is not None and start < now:
            chunks = plan_chunks(
                time_range=(start, now),
                estimated_prs=estimated_prs,
                points_per_pr=POINTS_PER_PR,
                seconds_per_pr=SECONDS_PER_PR,
                hourly_budget=HOURLY_POINTS,
                min_chunks=min_chunks,
            )
        elif start is None and highest_number:
            chunks = plan_chunks(
                pr_numbers_range=(1, highest_number),
                estimated_prs=estimated_prs,
                points_per_pr=POINTS_PER_PR,
                seconds_per_pr=SECONDS_PER_PR,
                hourly_budget=HOURLY_POINTS,
                min_chunks=min_chunks,
            )
    if len(chunks) > 1:
        # The chunks carry the window; a days input as well would widen every chunk back to the whole window.
        inputs["chunks"] = chunks_input(chunks)
    else:
        chunks = []
        if params.get("days"):
            inputs["days"] = int(params["days"])
        elif params.get("since"):
            inputs["since"] = str(params["since"])
    seconds_each = max(SECONDS_PER_PR, 3600 * POINTS_PER_PR / HOURLY_POINTS)
    parallel = max_parallel_for(HOURLY_POINTS, POINTS_PER_PR * 3600 / seconds_each)
    max_parallel = max(1, min(parallel, len(chunks) or 1))
    inputs["max_parallel"] = max_parallel
    return DispatchPlan(inputs=inputs, chunks=chunks, max_parallel=max_parallel)


async def repository_size(client: GitHubClient, repository: str) -> tuple[int | None, int | None]:
    """GitHub's pull-request total and highest PR number for a repository (one GraphQL point), or Nones."""
    owner, name = repository.split("/", 1)
    query = (
        "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) "
        "{ pullRequests(last: 1) { totalCount nodes { number } } } }"
    )
    try:
        data = await client.graphql(query, {"owner": owner, "name": name})
    except GitHubError:
        return None, None
    connection = ((data.get("repository") or {}).get("pullRequests")) or {}
    nodes = connection.get("nodes") or []
    highest = nodes[-1].get("number") if nodes and isinstance(nodes[-1], dict) else None
    return connection.get("totalCount"), highest


async def find_dispatched_run(
    client: GitHubClient,
    repository: str,
    workflow_file: str,
    *,
    job_id: str,
    run_name: str | None,
    since: datetime,
) -> dict[str, Any] | None:
    """The workflow_dispatch run created since `since` whose name is `run_name` (or carries the job id)."""
    created = (since - CLOCK_SKEW).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = await client.rest(
        "GET",
        f"/repos/{repository}/actions/workflows/{workflow_file}/runs",
        params={"event": "workflow_dispatch", "created": f">={created}", "per_page": 100},
    )
    runs = (answer.data or {}).get("workflow_runs") or []
    for run in runs:
        title = str(run.get("display_title") or run.get("name") or "")
        if (run_name is not None and title == run_name) or (run_name is None and job_id in title):
            return dict(run)
    return None


async def dispatch_job_async(
    store: JobStore,
    job_id: str,
    client: GitHubClient,
    actions: ActionsSettings,
    *,
    reader: GitHubClient | None = None,
    estimated_prs: int | None = None,
    cache: DeclaredInputsCache = DECLARED_INPUTS,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    correlation_attempts: int = CORRELATION_ATTEMPTS,
) -> Dispatched:
    """Dispatches a pending or queued job's workflow and links the job to its run (status queued).

    Inputs that do not fit the workflow file fail the job with the reason, and nothing is sent.
    `reader` reads the captured repository's size for chunking (default: `client`).
    """
    job = store.get(job_id)
    if job.status not in (PENDING, QUEUED):
        raise JobStateError(f"job {job.id} is {job.status}; only pending or queued jobs are dispatched")
    if job.processor not in (None, GITHUB_ACTIONS):
        raise JobStateError(f"job {job.id} runs on the {job.processor} processor, not GitHub Actions")
    if not job.repository:
        raise DispatchError(f"job {job.id} names no repository")
    jobs_repo = "/".join(actions.owner_and_name)
    kind_name, kind = workflow_kind_for(job.kind)
    path = f"{WORKFLOWS_DIR}/{kind.file_name}"

    def refuse(reason: str) -> DispatchError:
        store.fail(job.id, reason)
        return DispatchError(f"job {job.id}: {reason}")

    try:
        workflow = await cache.get(client, jobs_repo, actions.ref, path)
    except (WorkflowFileError, GitHubError) as exc:
        raise refuse(f"not dispatched: {exc}") from None
    highest = None
    if estimated_prs is None:
        estimated_prs = job.items_total or job.params.get("estimated_prs")
    whole_history = not (job.params.get("days") or job.params.get("since") or job.params.get("pr_numbers"))
    if (estimated_prs is None and not job.params.get("pr_numbers")) or whole_history:
        total, highest = await repository_size(reader or client, job.repository)
        estimated_prs = estimated_prs if estimated_prs is not None else total
    try:
        plan = plan_dispatch(
            job,
            estimated_prs=estimated_prs,
            highest_number=highest,
            prs_per_chunk=actions.prs_per_chunk,
            now=now(),
        )
    except BackfillTooLarge as exc:
        raise refuse(f"not dispatched: {exc}") from None
    inputs = encode_dispatch_inputs(plan.inputs)
    try:
        check_dispatch_inputs(workflow.declared, inputs)
    except WorkflowInputsMismatch as exc:
        reason = f"not dispatched: {exc} ({path} in {jobs_repo} at {actions.ref}; regenerate and commit it)"
        store.fail(job.id, reason)
        raise WorkflowInputsMismatch(f"job {job.id}: {reason}") from None

    dispatched_at = now()
    body = {"ref": actions.ref, "inputs": inputs, "return_run_details": True}
    try:
        answer = await client.rest(
            "POST", f"/repos/{jobs_repo}/actions/workflows/{kind.file_name}/dispatches", json=body
        )
    except Unprocessable as exc:
        # The file may have changed since it was read; read it afresh next time.
        cache.forget(client, jobs_repo, actions.ref, path)
        raise refuse(f"GitHub refused the dispatch: {exc}") from None
    except GitHubError as exc:
        raise refuse(f"dispatch failed: {exc}") from None

    run_id: int | None = None
    run_url: str | None = None
    details = answer.data if isinstance(answer.data, dict) else {}
    if details.get("workflow_run_id"):
        run_id = int(details["workflow_run_id"])
        run_url = details.get("html_url") or details.get("run_url")
    else:
        run_name = render_run_name(workflow.run_name, _with_defaults(workflow.declared, inputs))
        for attempt in range(max(1, correlation_attempts)):
            if attempt:
                await sleep(CORRELATION_WAIT)
            try:
                run = await find_dispatched_run(
                    client, jobs_repo, kind.file_name, job_id=job.id, run_name=run_name, since=dispatched_at
                )
            except GitHubError:
                run = None
            if run is not None:
                run_id, run_url = int(run["id"]), run.get("html_url")
                break

    chunk_text = f"{len(plan.chunks)} chunks, {plan.max_parallel} at once" if plan.chunks else "one chunk"
    where = f"{kind.file_name} on {jobs_repo}@{actions.ref}"
    message = (
        f"dispatched {where}: run {run_id} {run_url or ''}; {chunk_text}"
        if run_id is not None
        else f"dispatched {where}; its run is not listed yet (reconcile will find it by name); {chunk_text}"
    )
    moved = store.transition(
        job.id,
        QUEUED,
        event="dispatched",
        message=message,
        from_statuses={PENDING, QUEUED},
        # The new run's chunks add their items from zero, so a retried job does not count twice.
        values={
            "workflow_run_id": run_id,
            "run_url": run_url,
            "error": None,
            "processor": GITHUB_ACTIONS,
            "items_done": 0,
        },
    )
    if not moved:
        raise JobStateError(f"job {job.id} changed while it was being dispatched (run {run_id})")
    return Dispatched(
        job_id=job.id,
        repository=jobs_repo,
        workflow_file=kind.file_name,
        inputs=inputs,
        chunks=max(1, len(plan.chunks)),
        max_parallel=plan.max_parallel,
        run_id=run_id,
        run_url=run_url,
    )


def _with_defaults(declared: Mapping[str, InputSpec], inputs: Mapping[str, str]) -> dict[str, str]:
    values = {name: spec.default for name, spec in declared.items() if spec.default is not None}
    return {**values, **inputs}


def dispatch_job(
    engine: Engine,
    job_id: str,
    settings: Settings | None = None,
    *,
    actions: ActionsSettings | None = None,
    estimated_prs: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Dispatched:
    """Dispatches a job to GitHub Actions from synchronous code (the CLI): see dispatch_job_async."""
    settings = settings or load_settings()
    actions = actions or load_actions_settings(base=settings)

    async def go() -> Dispatched:
        dispatch_settings = actions.dispatch_settings(settings)
        async with GitHubClient(dispatch_settings, transport=transport) as client:
            if dispatch_settings is settings:
                return await dispatch_job_async(
                    JobStore(engine), job_id, client, actions, estimated_prs=estimated_prs
                )
            async with GitHubClient(settings, transport=transport) as reader:
                return await dispatch_job_async(
                    JobStore(engine), job_id, client, actions, reader=reader, estimated_prs=estimated_prs
                )

    return asyncio.run(go())


async def cancel_run_async(
    store: JobStore, job_id: str, client: GitHubClient, actions: ActionsSettings
) -> bool:
    """Asks GitHub to cancel the job's workflow run; False when there is none or it has already finished."""
    job = store.get(job_id)
    if job.workflow_run_id is None:
        return False
    jobs_repo = "/".join(actions.owner_and_name)
    try:
        await client.rest("POST", f"/repos/{jobs_repo}/actions/runs/{job.workflow_run_id}/cancel")
    except GitHubError as exc:
        store.add_event(job.id, "cancel_run", f"GitHub did not cancel run {job.workflow_run_id}: {exc}")
        return False
    store.add_event(job.id, "cancel_run", f"asked GitHub to cancel run {job.workflow_run_id}")
    return True


def cancel_job(
    engine: Engine,
    job_id: str,
    settings: Settings | None = None,
    *,
    actions: ActionsSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> bool:
    """cancel_run_async from synchronous code (`ghcapture jobs cancel`)."""
    settings = settings or load_settings()
    actions = actions or load_actions_settings(base=settings)

    async def go() -> bool:
        async with GitHubClient(actions.dispatch_settings(settings), transport=transport) as client:
            return await cancel_run_async(JobStore(engine), job_id, client, actions)

    return asyncio.run(go())
