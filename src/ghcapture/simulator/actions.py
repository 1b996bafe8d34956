"""GitHub Actions as the bulk lane sees it: workflow files in a repository (contents API), workflow_dispatch
with declared inputs, runs with their status, conclusion and timing.

Executing a run is delegated to an optional `executor`; without one, runs stay queued until moved by
`complete_run` (or /_simulator/actions/runs/{id}).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ghcapture.simulator import rest_shapes
from ghcapture.simulator.app import ApiAnswer, api_base, error, find_repo, rest_api
from ghcapture.simulator.model import Repository, User, legacy_node_id, modern_node_id

if TYPE_CHECKING:
    from ghcapture.simulator.app import Simulator

WORKFLOWS_DIR = ".github/workflows/"
CONCLUSIONS = {
    "success",
    "failure",
    "cancelled",
    "timed_out",
    "startup_failure",
    "neutral",
    "skipped",
    "action_required",
    "stale",
}


@dataclass
class WorkflowRun:
    id: int
    run_number: int
    repo: Repository
    workflow_path: str
    workflow_id: int
    display_title: str
    ref: str
    inputs: dict[str, str]
    created_at: float
    status: str = "queued"  # queued, in_progress, completed
    conclusion: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    jobs: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"name", "started_at", "completed_at", "conclusion"}

    def billable_ms(self) -> int:
        """Each job is billed in whole minutes, as GitHub bills Linux runners."""
        total = 0
        for job in self.jobs or [{"started_at": self.started_at, "completed_at": self.completed_at}]:
            if job.get("started_at") and job.get("completed_at"):
                seconds = job["completed_at"] - job["started_at"]
                total += max(1, -(-int(seconds) // 60)) * 60_000
        return total


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workflow_id_for(path: str) -> int:
    return int(hashlib.sha1(path.encode()).hexdigest()[:8], 16)


class Actions:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.runs: dict[int, WorkflowRun] = {}
        self._next_run = 7_000_000_000
        self.executor: Callable[[WorkflowRun], None] | None = None
        self.return_run_details = True  # older servers answer 204 with no run id
        self.run_listeners: list[Callable[[WorkflowRun], None]] = []  # told of each run's new status

    # -- workflows -------------------------------------------------------------------------------
    def workflow_files(self, repo: Repository, ref: str | None = None) -> dict[str, bytes]:
        files = repo.files.get(ref or repo.default_branch, {})
        return {
            p: c for p, c in files.items() if p.startswith(WORKFLOWS_DIR) and p.endswith((".yml", ".yaml"))
        }

    def find_workflow(
        self, repo: Repository, workflow: str, ref: str | None = None
    ) -> tuple[str, bytes] | None:
        for path, content in self.workflow_files(repo, ref).items():
            if workflow in (path.rsplit("/", 1)[-1], str(workflow_id_for(path))):
                return path, content
        return None

    def workflow_shape(self, repo: Repository, path: str, api: str) -> dict[str, Any]:
        wid = workflow_id_for(path)
        name = path.rsplit("/", 1)[-1]
        try:
            parsed = yaml.safe_load(repo.files[repo.default_branch][path]) or {}
            name = parsed.get("name", name)
        except (yaml.YAMLError, KeyError, AttributeError):
            pass
        return {
            "id": wid,
            "node_id": f"W_kw{wid}",
            "name": name,
            "path": path,
            "state": "active",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "url": f"{api}/repos/{repo.full_name}/actions/workflows/{wid}",
            "html_url": f"https://github.com/{repo.full_name}/blob/{repo.default_branch}/{path}",
            "badge_url": f"https://github.com/{repo.full_name}/workflows/{name}/badge.svg",
        }

    def dispatch(
        self, repo: Repository, path: str, content: bytes, ref: str, inputs: dict[str, Any]
    ) -> WorkflowRun | str:
        """Creates a run, or returns GitHub's 422 message when the inputs do not fit the workflow."""
        try:
            doc = yaml.safe_load(content) or {}
        except yaml.YAMLError:
            return f"Workflow file {path} is not valid YAML"
        triggers = doc.get("on", doc.get(True)) or {}
        if isinstance(triggers, (str, list)) or "workflow_dispatch" not in triggers:
            return "Workflow does not have 'workflow_dispatch' trigger"
        declared = (triggers.get("workflow_dispatch") or {}).get("inputs") or {}
        if len(inputs) > 25:
            return f"you may only define up to 25 `inputs` for a `workflow_dispatch` event, got {len(inputs)}"
        unexpected = sorted(set(inputs) - set(declared))
        if unexpected:
            return "Unexpected inputs provided: " + str(unexpected).replace("'", '"')
        values: dict[str, str] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in inputs:
                values[name] = (
                    str(inputs[name]).lower() if isinstance(inputs[name], bool) else str(inputs[name])
                )
            elif spec.get("required") and spec.get("default") is None:
                return f"Required input '{name}' not provided"
            elif spec.get("default") is not None:
                default = spec["default"]
                values[name] = str(default).lower() if isinstance(default, bool) else str(default)
            if (
                spec.get("type") == "choice"
                and name in values
                and values[name] not in (spec.get("options") or [])
            ):
                return f"Provided value '{values[name]}' for input '{name}' not in the list of allowed values"
            if spec.get("type") == "boolean" and name in values and values[name] not in ("true", "false"):
                return f"Provided value for input '{name}' is not a boolean"
            if spec.get("type") == "number" and name in values:
                try:
                    float(values[name])
                except ValueError:
                    return f"Provided value for input '{name}' is not a number"
        self._next_run += 1
        title = _render_run_name(doc.get("run-name"), values) or doc.get("name") or path.rsplit("/", 1)[-1]
        run = WorkflowRun(
            id=self._next_run,
            run_number=len(self.runs) + 1,
            repo=repo,
            workflow_path=path,
            workflow_id=workflow_id_for(path),
            display_title=title,
            ref=ref,
            inputs=values,
            created_at=time.time(),
        )
        self.runs[run.id] = run
        self._tell(run)
        if self.executor is not None:
            self.executor(run)
        return run

    def start_run(self, run: WorkflowRun) -> None:
        run.status, run.started_at = "in_progress", time.time()
        self._tell(run)

    def _tell(self, run: WorkflowRun) -> None:
        for listener in list(self.run_listeners):
            listener(run)

    def complete_run(self, run: WorkflowRun, conclusion: str) -> None:
        if conclusion not in CONCLUSIONS:
            raise ValueError(f"unknown conclusion {conclusion!r}")
        now = time.time()
        run.started_at = run.started_at or now
        run.status, run.conclusion, run.completed_at = "completed", conclusion, now
        self._tell(run)

    def run_shape(self, run: WorkflowRun, api: str) -> dict[str, Any]:
        repo_obj = rest_shapes.repository(run.repo, api)
        base = f"{api}/repos/{run.repo.full_name}/actions/runs/{run.id}"
        sha = hashlib.sha1(f"{run.repo.full_name}:{run.ref}".encode()).hexdigest()
        actor = rest_shapes.user(User(id=1, login="octocat", node_id=legacy_node_id("User", 1)), api)
        return {
            "id": run.id,
            "name": run.workflow_path.rsplit("/", 1)[-1],
            "node_id": modern_node_id("WFR", run.id),
            "head_branch": run.ref,
            "head_sha": sha,
            "path": run.workflow_path,
            "display_title": run.display_title,
            "run_number": run.run_number,
            "run_attempt": 1,
            "event": "workflow_dispatch",
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": run.id + 1,
            "check_suite_node_id": f"CS_kw{run.id}",
            "url": base,
            "html_url": f"https://github.com/{run.repo.full_name}/actions/runs/{run.id}",
            "pull_requests": [],
            "created_at": _iso(run.created_at),
            "updated_at": _iso(run.completed_at or run.started_at or run.created_at),
            "run_started_at": _iso(run.started_at or run.created_at),
            "actor": actor,
            "triggering_actor": actor,
            "jobs_url": f"{base}/jobs",
            "logs_url": f"{base}/logs",
            "check_suite_url": f"{api}/repos/{run.repo.full_name}/check-suites/{run.id + 1}",
            "artifacts_url": f"{base}/artifacts",
            "cancel_url": f"{base}/cancel",
            "rerun_url": f"{base}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{api}/repos/{run.repo.full_name}/actions/workflows/{run.workflow_id}",
            "head_commit": {
                "id": sha,
                "tree_id": sha[::-1],
                "message": "workflow",
                "timestamp": _iso(run.created_at),
                "author": {"name": "octocat", "email": "octocat@github.com"},
                "committer": {"name": "octocat", "email": "octocat@github.com"},
            },
            "repository": repo_obj,
            "head_repository": repo_obj,
        }

    # -- routes ----------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        r = "/repos/{owner}/{repo}"
        sim = self.sim
        return [
            Route(f"{r}/actions/workflows", rest_api(sim, self._list_workflows, "actions"), methods=["GET"]),
            Route(
                f"{r}/actions/workflows/{{workflow}}",
                rest_api(sim, self._get_workflow, "actions"),
                methods=["GET"],
            ),
            Route(
                f"{r}/actions/workflows/{{workflow}}/dispatches",
                rest_api(sim, self._dispatch, "actions"),
                methods=["POST"],
            ),
            Route(
                f"{r}/actions/workflows/{{workflow}}/runs",
                rest_api(sim, self._list_runs, "actions"),
                methods=["GET"],
            ),
            Route(f"{r}/actions/runs", rest_api(sim, self._list_runs, "actions"), methods=["GET"]),
            Route(f"{r}/actions/runs/{{run_id}}", rest_api(sim, self._get_run, "actions"), methods=["GET"]),
            Route(
                f"{r}/actions/runs/{{run_id}}/timing", rest_api(sim, self._timing, "actions"), methods=["GET"]
            ),
            Route(
                f"{r}/actions/runs/{{run_id}}/cancel",
                rest_api(sim, self._cancel, "actions"),
                methods=["POST"],
            ),
            Route(f"{r}/contents/{{path:path}}", rest_api(sim, self._get_contents, "rest"), methods=["GET"]),
            Route(f"{r}/contents/{{path:path}}", rest_api(sim, self._put_contents, "rest"), methods=["PUT"]),
            Route("/user/repos", rest_api(sim, self._create_repo, "rest"), methods=["POST"]),
            Route("/orgs/{org}/repos", rest_api(sim, self._create_repo, "rest"), methods=["POST"]),
            Route("/_simulator/actions/runs/{run_id}", self._control_run, methods=["POST"]),
        ]

    async def _list_workflows(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        api = api_base(request)
        flows = [self.workflow_shape(repo, p, api) for p in sorted(self.workflow_files(repo))]
        return ApiAnswer(200, {"total_count": len(flows), "workflows": flows})

    async def _get_workflow(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        found = self.find_workflow(repo, request.path_params["workflow"])
        if found is None:
            return error(404, "Not Found")
        return ApiAnswer(200, self.workflow_shape(repo, found[0], api_base(request)))

    async def _dispatch(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        try:
            body = await request.json()
            ref = body["ref"]
            inputs = body.get("inputs") or {}
            if not isinstance(inputs, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return error(422, 'Invalid request.\n\n"ref" wasn\'t supplied.')
        if ref.startswith("refs/heads/"):
            ref = ref[len("refs/heads/") :]
        if ref not in repo.files and ref != repo.default_branch:
            return error(422, f"No ref found for: {ref}")
        found = self.find_workflow(repo, request.path_params["workflow"], ref)
        if found is None:
            return error(404, "Not Found")
        run = self.dispatch(repo, found[0], found[1], ref, inputs)
        if isinstance(run, str):
            return error(422, run)
        if body.get("return_run_details") and self.return_run_details:
            api = api_base(request)
            return ApiAnswer(
                200,
                {
                    "workflow_run_id": run.id,
                    "run_url": f"{api}/repos/{repo.full_name}/actions/runs/{run.id}",
                    "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run.id}",
                },
            )
        return ApiAnswer(204, None)

    async def _list_runs(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        q = request.query_params
        runs = [r for r in self.runs.values() if r.repo is repo]
        workflow = request.path_params.get("workflow")
        if workflow is not None:
            found = self.find_workflow(repo, workflow)
            if found is None:
                return error(404, "Not Found")
            runs = [r for r in runs if r.workflow_path == found[0]]
        if q.get("event"):
            runs = [r for r in runs if q["event"] == "workflow_dispatch"]
        if q.get("status"):
            runs = [r for r in runs if q["status"] in (r.status, r.conclusion)]
        created = q.get("created")
        if created:
            match = re.fullmatch(r"(>=|>|<=|<)?(.+)", created)
            assert match is not None
            op, when = (
                match.group(1) or ">=",
                datetime.fromisoformat(match.group(2).replace("Z", "+00:00")).timestamp(),
            )
            checks = {
                ">=": lambda t: t >= when,
                ">": lambda t: t > when,
                "<=": lambda t: t <= when,
                "<": lambda t: t < when,
            }
            runs = [r for r in runs if checks[op](int(r.created_at))]
        runs.sort(key=lambda r: r.id, reverse=True)
        api = api_base(request)
        try:
            per_page = min(100, max(1, int(q.get("per_page", 30))))
            page = max(1, int(q.get("page", 1)))
        except ValueError:
            return error(422, "Invalid request: page and per_page must be integers.")
        chunk = runs[(page - 1) * per_page : page * per_page]
        return ApiAnswer(
            200, {"total_count": len(runs), "workflow_runs": [self.run_shape(r, api) for r in chunk]}
        )

    def _run(self, request: Request, sim: Simulator) -> WorkflowRun | ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        try:
            run = self.runs.get(int(request.path_params["run_id"]))
        except ValueError:
            run = None
        if run is None or run.repo is not repo:
            return error(404, "Not Found")
        return run

    async def _get_run(self, request: Request, sim: Simulator) -> ApiAnswer:
        run = self._run(request, sim)
        return run if isinstance(run, ApiAnswer) else ApiAnswer(200, self.run_shape(run, api_base(request)))

    async def _timing(self, request: Request, sim: Simulator) -> ApiAnswer:
        run = self._run(request, sim)
        if isinstance(run, ApiAnswer):
            return run
        duration = int(((run.completed_at or time.time()) - (run.started_at or run.created_at)) * 1000)
        job_runs = [
            {
                "job_id": run.id * 10 + k,
                "duration_ms": max(1, -(-int(j["completed_at"] - j["started_at"]) // 60)) * 60_000,
            }
            for k, j in enumerate(run.jobs)
            if j.get("completed_at") and j.get("started_at")
        ]
        return ApiAnswer(
            200,
            {
                "billable": {
                    "UBUNTU": {
                        "total_ms": run.billable_ms(),
                        "jobs": max(1, len(run.jobs)),
                        "job_runs": job_runs,
                    }
                },
                "run_duration_ms": duration if run.started_at else 0,
            },
        )

    async def _cancel(self, request: Request, sim: Simulator) -> ApiAnswer:
        run = self._run(request, sim)
        if isinstance(run, ApiAnswer):
            return run
        if run.status == "completed":
            return error(409, "Cannot cancel a workflow run that is completed.")
        self.complete_run(run, "cancelled")
        return ApiAnswer(202, {})

    async def _control_run(self, request: Request) -> Response:
        run = self.runs.get(int(request.path_params["run_id"]))
        if run is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        payload = await request.json()
        if payload.get("status") == "in_progress":
            self.start_run(run)
        elif payload.get("conclusion"):
            try:
                self.complete_run(run, payload["conclusion"])
            except ValueError as exc:
                return JSONResponse({"message": str(exc)}, status_code=422)
        return JSONResponse({"id": run.id, "status": run.status, "conclusion": run.conclusion})

    async def _get_contents(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        ref = request.query_params.get("ref") or repo.default_branch
        path = request.path_params["path"]
        content = repo.files.get(ref, {}).get(path)
        if content is None:
            return error(404, "Not Found")
        return ApiAnswer(200, _content_shape(repo, path, ref, content, api_base(request)))

    async def _put_contents(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        try:
            body = await request.json()
            content = base64.b64decode(body["content"], validate=True)
            branch = body.get("branch") or repo.default_branch
            body["message"]  # noqa: B018 - GitHub requires a commit message
        except (ValueError, KeyError, TypeError):
            return error(422, 'Invalid request.\n\n"content" and "message" are required (content in base64).')
        path = request.path_params["path"]
        existing = repo.files.setdefault(branch, {}).get(path)
        if existing is not None and body.get("sha") != _blob_sha(existing):
            return error(409, f"{path} does not match {body.get('sha')}")
        repo.files[branch][path] = content
        api = api_base(request)
        return ApiAnswer(
            200 if existing is not None else 201,
            {
                "content": _content_shape(repo, path, branch, content, api),
                "commit": {
                    "sha": hashlib.sha1(content + path.encode()).hexdigest(),
                    "message": body["message"],
                },
            },
        )

    async def _create_repo(self, request: Request, sim: Simulator) -> ApiAnswer:
        try:
            body = await request.json()
            name = body["name"]
            if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", name):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return error(422, "Repository creation failed: name is missing or invalid.")
        owner_login = request.path_params.get("org", "octocat")
        if sim.world.repository(owner_login, name) is not None:
            return error(422, "Repository creation failed: name already exists on this account")
        from ghcapture.simulator.generator import generate_repository

        repo = generate_repository(owner_login, name, 0)
        repo.private = bool(body.get("private"))
        sim.world.add_repository(repo)
        return ApiAnswer(201, rest_shapes.repository(repo, api_base(request), full=True))


def _blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _content_shape(repo: Repository, path: str, ref: str, content: bytes, api: str) -> dict[str, Any]:
    sha = _blob_sha(content)
    url = f"{api}/repos/{repo.full_name}/contents/{path}?ref={ref}"
    html = f"https://github.com/{repo.full_name}/blob/{ref}/{path}"
    git = f"{api}/repos/{repo.full_name}/git/blobs/{sha}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(content),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.encodebytes(content).decode(),
        "sha": sha,
        "url": url,
        "git_url": git,
        "html_url": html,
        "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
        "_links": {"self": url, "git": git, "html": html},
    }


def _render_run_name(template: Any, inputs: dict[str, str]) -> str | None:
    if not isinstance(template, str):
        return None

    def sub(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        if expr.startswith("inputs."):
            return inputs.get(expr[len("inputs.") :], "")
        if expr.startswith("github.event.inputs."):
            return inputs.get(expr[len("github.event.inputs.") :], "")
        return ""

    return re.sub(r"\$\{\{(.*?)\}\}", sub, template)
