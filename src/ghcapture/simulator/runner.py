"""The simulator's workflow runner: executes a dispatched run the way a GitHub-hosted runner would, closely
enough for the bulk lane's generated workflows.

It reads the workflow file, expands each job's matrix, evaluates `${{ }}` expressions (inputs, matrix,
secrets, vars, env, github, steps.<id>.outputs, fromJSON/toJSON and friends), runs `run:` steps with bash as
subprocesses and emulates the few `uses:` actions the generated workflows use: checkout, setup-python and
create-github-app-token (which mints an installation token from this simulator). `pip install` lines are
skipped: the runner's own environment already has ghcapture. The run moves queued -> in_progress ->
completed with a conclusion (success, failure, cancelled, timed_out, startup_failure) and per-job timing.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from cryptography.hazmat.primitives import serialization

if TYPE_CHECKING:
    from ghcapture.simulator.actions import WorkflowRun
    from ghcapture.simulator.app import Simulator

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_PIP_INSTALL = re.compile(r"^(\s*)(?:\S*python[\d.]*\s+-m\s+)?pip3?\s+install\b.*$", re.M)
_POLL = 0.05


class ExpressionError(Exception):
    """An expression the runner cannot evaluate; the step (or run) fails with this message."""


# -- expressions ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|0x[0-9a-fA-F]+)|(?P<str>'(?:[^']|'')*')"
    r"|(?P<op>\|\||&&|==|!=|<=|>=|[<>!().\[\],*])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot read the expression at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


def to_text(value: Any) -> str:
    """A value as GitHub writes it into text: null is empty, booleans are lower case, whole numbers bare."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _truthy(value: Any) -> bool:
    return not (value is None or value is False or value == 0 or value == "")


def _as_number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip() or 0)
    except ValueError:
        return float("nan")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return a is b
    return _as_number(a) == _as_number(b)


def _format(template: str, *args: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        return to_text(args[int(match.group(1))])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", replace, template)


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]):
        self.tokens = _tokens(text)
        self.position = 0
        self.context = context
        self.functions = functions

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in the expression")
        self.position += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in the expression")  # type: ignore[index]
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.comparison()
            value = right if _truthy(value) else value
        return value

    def comparison(self) -> Any:
        left = self.unary()
        token = self.peek()
        if token is not None and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.unary()
            op = token[1]
            if op == "==":
                return _equal(left, right)
            if op == "!=":
                return not _equal(left, right)
            a, b = _as_number(left), _as_number(right)
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return left

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            number = float(int(text, 16)) if text.startswith("0x") else float(text)
            return int(number) if number.is_integer() else number
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if text == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in the expression")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == ("op", "("):
            self.take("(")
            args: list[Any] = []
            while self.peek() != ("op", ")"):
                args.append(self.or_())
                if self.peek() == ("op", ","):
                    self.take(",")
            self.take(")")
            function = self.functions.get(text.lower())
            if function is None:
                raise ExpressionError(f"unknown function {text}()")
            value: Any = function(*args)
        else:
            value = self.context.get(text)
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                name = self.take()[1]
                value = value.get(name) if isinstance(value, dict) else None
            else:
                key = self.or_()
                self.take("]")
                if isinstance(value, list) and isinstance(key, int | float):
                    value = value[int(key)] if 0 <= int(key) < len(value) else None
                elif isinstance(value, dict):
                    value = value.get(to_text(key))
                else:
                    value = None
        return value


def _from_json(text: Any) -> Any:
    try:
        return json.loads(to_text(text))
    except json.JSONDecodeError as exc:
        raise ExpressionError(f"fromJSON: not JSON: {to_text(text)[:60]!r}") from exc


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "fromjson": _from_json,
    "tojson": lambda value: json.dumps(value, indent=2),
    "format": lambda template, *args: _format(to_text(template), *args),
    "contains": lambda haystack, needle: (
        any(_equal(item, needle) for item in haystack)
        if isinstance(haystack, list)
        else to_text(needle).casefold() in to_text(haystack).casefold()
    ),
    "startswith": lambda text, prefix: to_text(text).casefold().startswith(to_text(prefix).casefold()),
    "endswith": lambda text, suffix: to_text(text).casefold().endswith(to_text(suffix).casefold()),
    "join": lambda items, sep=",": (
        to_text(sep).join(to_text(i) for i in items) if isinstance(items, list) else to_text(items)
    ),
    "hashfiles": lambda *patterns: "",
}


def evaluate(expression: str, context: Mapping[str, Any], status: str = "success") -> Any:
    """The value of one expression (without `${{ }}`); `status` is the job's so far, for success() etc."""
    functions = {
        **FUNCTIONS,
        "success": lambda: status == "success",
        "failure": lambda: status == "failure",
        "cancelled": lambda: status == "cancelled",
        "always": lambda: True,
    }
    return _Parser(expression, context, functions).parse()


def substitute(text: Any, context: Mapping[str, Any]) -> Any:
    """A workflow value with its expressions evaluated: a lone `${{ x }}` keeps x's type, else text."""
    if not isinstance(text, str):
        return text
    whole = _EXPRESSION.fullmatch(text.strip())
    if whole is not None:
        return evaluate(whole.group(1), context)
    return _EXPRESSION.sub(lambda m: to_text(evaluate(m.group(1), context)), text)


# -- running -------------------------------------------------------------------------------------------


@dataclass
class RunnerConfig:
    """What the runner gives the workflows: secrets, variables, the API URL and what `ghcapture` runs."""

    api_url: str
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    vars: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict, repr=False)  # extra environment for every step
    ghcapture_command: str | None = None  # default: this Python's `-m ghcapture`; gets the step's arguments
    # A shell snippet run in place of `ghcapture`, without the step's arguments: a step that fails (`false`)
    # or hangs (`sleep 60`). Arguments appended to `sleep` would make it exit at once with an error.
    ghcapture_stand_in: str | None = None
    minute_seconds: float = 60.0  # real seconds of a workflow minute (timeout-minutes); tests shrink it
    queue_seconds: float = 0.0  # how long a run stays queued before a runner takes it
    workdir: Path | None = None


@dataclass
class StepResult:
    outcome: str  # success, failure, cancelled, timed_out, skipped
    outputs: dict[str, str] = field(default_factory=dict)


class _Job:
    """One matrix job of a run, its log and the way to stop it."""

    def __init__(self, name: str, deadline: float) -> None:
        self.name = name
        self.deadline = deadline
        self.stop = threading.Event()


class WorkflowRunner:
    """Executes the simulator's dispatched runs in background threads; `attach` makes it the executor."""

    def __init__(self, sim: Simulator, config: RunnerConfig) -> None:
        self.sim = sim
        self.config = config
        self._root = Path(config.workdir or tempfile.mkdtemp(prefix="ghcapture-runner-"))
        self._shims = self._root / "bin"
        self._write_shims()
        self.logs: dict[int, list[str]] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._minted: list[str] = []  # installation tokens handed to steps, masked like secrets

    def attach(self) -> WorkflowRunner:
        self.sim.actions.executor = self
        return self

    def __call__(self, run: WorkflowRun) -> None:
        thread = threading.Thread(target=self._execute, args=(run,), name=f"runner-{run.id}", daemon=True)
        self._threads[run.id] = thread
        thread.start()

    def wait(self, run_id: int, timeout: float = 120.0) -> bool:
        """Waits for a run's thread; False if it is still running after `timeout` seconds."""
        thread = self._threads.get(run_id)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def log(self, run_id: int) -> str:
        return "\n".join(self.logs.get(run_id, []))

    # -- the run ---------------------------------------------------------------------------------------
    def _write_shims(self) -> None:
        self._shims.mkdir(parents=True, exist_ok=True)
        command = self.config.ghcapture_command or f"{shlex.quote(sys.executable)} -m ghcapture"
        shims = {
            "ghcapture": command,
            "python": shlex.quote(sys.executable),
            "python3": shlex.quote(sys.executable),
        }
        for name, target in shims.items():
            path = self._shims / name
            path.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
            path.chmod(0o755)
        if self.config.ghcapture_stand_in is not None:
            (self._shims / "ghcapture").write_text(f"#!/bin/sh\n{self.config.ghcapture_stand_in}\n")

    def _say(self, run: WorkflowRun, line: str) -> None:
        for secret in sorted(self._secret_values(), key=len, reverse=True):
            line = line.replace(secret, "***")
        with self._lock:
            self.logs.setdefault(run.id, []).append(line)

    def _secret_values(self) -> list[str]:
        values = [v for v in self.config.secrets.values() if v]
        # Every line of a multi-line secret (a private key) is masked on its own, as GitHub does.
        values += [line.strip() for v in values for line in v.splitlines() if len(line.strip()) > 3]
        return values + self._minted

    def _execute(self, run: WorkflowRun) -> None:
        actions = self.sim.actions
        try:
            if self.config.queue_seconds:
                time.sleep(self.config.queue_seconds)
            if run.status == "completed":
                return
            content = run.repo.files.get(run.ref, {}).get(run.workflow_path)
            try:
                document = yaml.safe_load(content or b"")
                jobs = document["jobs"]
                if not isinstance(jobs, dict) or not jobs:
                    raise TypeError("no jobs")
            except (yaml.YAMLError, KeyError, TypeError) as exc:
                self._say(run, f"startup failure: the workflow file cannot be run ({exc})")
                actions.complete_run(run, "startup_failure")
                return
            actions.start_run(run)
            conclusions: list[str] = []
            for job_key, job in jobs.items():
                conclusions += self._run_job(run, document, str(job_key), job or {})
                if run.status == "completed":
                    break
            if run.status != "completed":
                actions.complete_run(run, _run_conclusion(conclusions))
        except Exception as exc:  # noqa: BLE001 - a runner bug must still end the run, never hang it
            self._say(run, f"runner error: {type(exc).__name__}: {exc}")
            if run.status != "completed":
                actions.complete_run(run, "failure")

    def _context(self, run: WorkflowRun, document: Mapping[str, Any]) -> dict[str, Any]:
        workflow_inputs = _typed_inputs(document, run.inputs)
        api = self.config.api_url.rstrip("/")
        github = {
            "repository": run.repo.full_name,
            "repository_owner": run.repo.owner.login,
            "run_id": str(run.id),
            "run_number": str(run.run_number),
            "run_attempt": "1",
            "event_name": "workflow_dispatch",
            "ref": f"refs/heads/{run.ref}",
            "ref_name": run.ref,
            "sha": "0" * 40,
            "workflow": str(document.get("name") or run.workflow_path),
            "actor": "octocat",
            "api_url": api,
            "graphql_url": f"{api}/graphql",
            "server_url": "https://github.com",
            "event": {"inputs": dict(run.inputs)},
            "workspace": "",
            "action": "",
        }
        return {
            "inputs": workflow_inputs,
            "github": github,
            "secrets": dict(self.config.secrets),
            "vars": dict(self.config.vars),
            "env": {},
            "runner": {"os": "Linux", "arch": "X64"},
        }

    def _run_job(
        self, run: WorkflowRun, document: Mapping[str, Any], key: str, job: Mapping[str, Any]
    ) -> list[str]:
        context = self._context(run, document)
        try:
            context["env"] = {
                k: to_text(substitute(v, context)) for k, v in (document.get("env") or {}).items()
            }
            strategy = job.get("strategy") or {}
            combos = _matrix(strategy.get("matrix"), context)
            parallel = substitute(strategy.get("max-parallel"), context)
            parallel = max(1, int(_as_number(parallel))) if parallel not in (None, "") else len(combos) or 1
            timeout = _as_number(substitute(job.get("timeout-minutes", 360), context))
            fail_fast = _truthy(substitute(strategy.get("fail-fast", True), context))
        except ExpressionError as exc:
            self._say(run, f"job {key}: {exc}")
            return ["failure"]
        stop_all = threading.Event()

        def one(matrix: dict[str, Any]) -> str:
            name = to_text(substitute(job.get("name") or key, {**context, "matrix": matrix}))
            if matrix:
                name += " (" + ", ".join(to_text(v) for v in matrix.values()) + ")"
            record: dict[str, Any] = {
                "name": name,
                "started_at": None,
                "completed_at": None,
                "conclusion": None,
            }
            if stop_all.is_set() or run.status == "completed":
                record["conclusion"] = "cancelled"
                run.jobs.append(record)
                return "cancelled"
            record["started_at"] = time.time()
            run.jobs.append(record)
            handle = _Job(name, record["started_at"] + timeout * self.config.minute_seconds)
            conclusion = self._run_steps(run, job, {**context, "matrix": matrix}, handle, stop_all)
            record["completed_at"], record["conclusion"] = time.time(), conclusion
            if conclusion != "success" and fail_fast:
                stop_all.set()
            return conclusion

        with ThreadPoolExecutor(max_workers=min(parallel, max(1, len(combos)))) as pool:
            return list(pool.map(one, combos or [{}]))

    def _run_steps(
        self,
        run: WorkflowRun,
        job: Mapping[str, Any],
        context: dict[str, Any],
        handle: _Job,
        stop_all: threading.Event,
    ) -> str:
        workspace = Path(tempfile.mkdtemp(prefix="job-", dir=self._root))
        context = {**context, "steps": {}, "github": {**context["github"], "workspace": str(workspace)}}
        try:
            job_env = {k: to_text(substitute(v, context)) for k, v in (job.get("env") or {}).items()}
        except ExpressionError as exc:
            self._say(run, f"[{handle.name}] {exc}")
            return "failure"
        context["env"] = {**context["env"], **job_env}
        status = "success"
        for index, step in enumerate(job.get("steps") or []):
            step = step or {}
            label = str(step.get("name") or step.get("id") or step.get("uses") or f"step {index + 1}")
            try:
                condition = step.get("if")
                condition = (
                    _EXPRESSION.sub(lambda m: m.group(1), condition) if isinstance(condition, str) else None
                )
                wanted = (
                    status == "success"
                    if condition is None
                    else _truthy(evaluate(condition, context, status))
                )
                if not wanted:
                    self._say(run, f"[{handle.name}] {label}: skipped")
                    continue
                step_env = {k: to_text(substitute(v, context)) for k, v in (step.get("env") or {}).items()}
                env = {**context["env"], **step_env}
                with_ = {
                    k: to_text(substitute(v, {**context, "env": env}))
                    for k, v in (step.get("with") or {}).items()
                }
                if "uses" in step:
                    result = self._use(run, str(step["uses"]), with_, handle)
                else:
                    script = to_text(substitute(step.get("run") or "", {**context, "env": env}))
                    result = self._shell(run, script, env, workspace, context, handle, stop_all)
            except ExpressionError as exc:
                self._say(run, f"[{handle.name}] {label}: {exc}")
                result = StepResult("failure")
            self._say(run, f"[{handle.name}] {label}: {result.outcome}")
            if step.get("id"):
                context["steps"][str(step["id"])] = {
                    "outputs": result.outputs,
                    "outcome": result.outcome,
                    "conclusion": result.outcome,
                }
            if result.outcome in ("cancelled", "timed_out"):
                return result.outcome
            if result.outcome == "failure" and not step.get("continue-on-error"):
                status = "failure"
        return status

    def _use(self, run: WorkflowRun, uses: str, with_: Mapping[str, str], handle: _Job) -> StepResult:
        action = uses.split("@", 1)[0].lower()
        if action == "actions/checkout":
            return StepResult("success")
        if action == "actions/setup-python":
            return StepResult(
                "success", {"python-version": with_.get("python-version", ""), "python-path": sys.executable}
            )
        if action == "actions/create-github-app-token":
            problem = self._check_app(with_)
            if problem is not None:
                self._say(run, f"[{handle.name}] create-github-app-token: {problem}")
                return StepResult("failure")
            token, _expires = self.sim.mint_installation_token()
            self._minted.append(token)
            app = self.sim.config.app
            assert app is not None
            return StepResult(
                "success", {"token": token, "installation-id": str(app.installation_id), "app-slug": app.slug}
            )
        self._say(run, f"[{handle.name}] the simulator runner does not emulate {uses}")
        return StepResult("failure")

    def _check_app(self, with_: Mapping[str, str]) -> str | None:
        app = self.sim.config.app
        if app is None:
            return "this simulator has no GitHub App"
        if with_.get("app-id", "") not in (str(app.app_id), app.client_id):
            return "app-id does not name the simulator's App (is vars.GHCAPTURE_APP_ID set?)"
        try:
            key = serialization.load_pem_private_key(with_.get("private-key", "").encode(), password=None)
            public = (
                key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
        except (ValueError, TypeError):
            return "private-key is not a PEM private key (is secrets.GHCAPTURE_APP_PRIVATE_KEY set?)"
        if public.strip() != app.public_key_pem.strip():
            return "private-key is not the App's key"
        return None

    def _shell(
        self,
        run: WorkflowRun,
        script: str,
        env: Mapping[str, str],
        workspace: Path,
        context: Mapping[str, Any],
        handle: _Job,
        stop_all: threading.Event,
    ) -> StepResult:
        script = _PIP_INSTALL.sub(
            r"\1echo 'simulator runner: pip install skipped (ghcapture is installed)'", script
        )
        files = {
            name: workspace / f".{name.lower()}-{time.monotonic_ns()}"
            for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY", "GITHUB_PATH")
        }
        for path in files.values():
            path.touch()
        script_path = workspace / f".step-{time.monotonic_ns()}.sh"
        script_path.write_text(script)
        github = context["github"]
        process_env = {
            "PATH": f"{self._shims}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(workspace)),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self._root),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self._root),
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_GRAPHQL_URL": github["graphql_url"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_NUMBER": github["run_number"],
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_EVENT_NAME": "workflow_dispatch",
            "GITHUB_REF": github["ref"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_WORKFLOW": github["workflow"],
            "GITHUB_WORKSPACE": str(workspace),
            "PYTHONUNBUFFERED": "1",
            **self.config.env,
            **env,
            **{k: str(v) for k, v in files.items()},
        }
        process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_path)],
            cwd=workspace,
            env=process_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        reader = threading.Thread(target=self._pump, args=(run, handle, process), daemon=True)
        reader.start()
        outcome = None
        while process.poll() is None:
            if run.status == "completed" or stop_all.is_set():
                outcome = "cancelled"
            elif time.time() > handle.deadline:
                outcome = "timed_out"
                self._say(run, f"[{handle.name}] the job ran past its timeout-minutes")
            if outcome is not None:
                _kill(process)
                break
            time.sleep(_POLL)
        process.wait()
        reader.join(timeout=5)
        if outcome is not None:
            return StepResult(outcome)
        for line in files["GITHUB_ENV"].read_text().splitlines():
            name, _, value = line.partition("=")
            if name and "<<" not in name:
                context["env"][name] = value
        return StepResult(
            "success" if process.returncode == 0 else "failure",
            _read_outputs(files["GITHUB_OUTPUT"].read_text()),
        )

    def _pump(self, run: WorkflowRun, handle: _Job, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._say(run, f"[{handle.name}] {line.rstrip()}")


def _kill(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _read_outputs(text: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks of a GITHUB_OUTPUT file."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block: list[str] = []
            for item in lines:
                if item == delimiter:
                    break
                block.append(item)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def _typed_inputs(document: Mapping[Any, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The `inputs` context: booleans and numbers as the types the workflow declares."""
    triggers = document.get("on", document.get(True)) or {}
    declared = (
        ((triggers.get("workflow_dispatch") or {}).get("inputs") or {}) if isinstance(triggers, dict) else {}
    )
    typed: dict[str, Any] = {}
    for name, value in values.items():
        kind = (declared.get(name) or {}).get("type", "string")
        if kind == "boolean":
            typed[name] = str(value).lower() == "true"
        elif kind == "number":
            number = _as_number(value)
            typed[name] = int(number) if number == number and number.is_integer() else number
        else:
            typed[name] = value
    return typed


def _matrix(raw: Any, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The matrix's combinations, from a mapping of lists (each possibly an expression) or one expression."""
    if raw is None:
        return []
    matrix = substitute(raw, context)
    if not isinstance(matrix, dict):
        raise ExpressionError("strategy.matrix must be a mapping")
    axes: dict[str, list[Any]] = {}
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        values = substitute(values, context)
        if not isinstance(values, list) or not values:
            raise ExpressionError(f"matrix.{key} must be a non-empty list")
        axes[str(key)] = values
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    combos += [
        dict(extra) for extra in substitute(matrix.get("include"), context) or [] if isinstance(extra, dict)
    ]
    if len(combos) > 256:
        raise ExpressionError(f"the matrix has {len(combos)} jobs; GitHub allows 256")
    return combos


def _run_conclusion(job_conclusions: list[str]) -> str:
    for conclusion in ("timed_out", "failure", "cancelled"):
        if conclusion in job_conclusions:
            return conclusion
    return "success"
