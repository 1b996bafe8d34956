"""`ghcapture simulate`: serve the GitHub simulator until stopped."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from ghcapture.cli import app, listening_socket
from ghcapture.errors import InputError

REPO_SPEC = re.compile(
    r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<name>[A-Za-z0-9._-]{1,100}):(?P<prs>\d{1,7})$"
)


def parse_repo_spec(spec: str) -> tuple[str, str, int]:
    """OWNER/NAME:PRS, e.g. acme/widgets:2000."""
    match = REPO_SPEC.match(spec)
    if not match:
        raise InputError(f"--repo {spec!r}: expected OWNER/NAME:PRS, e.g. acme/widgets:2000")
    return match["owner"], match["name"], int(match["prs"])


@app.command()
def simulate(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on."),
    seed: int = typer.Option(
        1, help="Seed of the generated repositories: the same seed gives the same data."
    ),
    repo: list[str] = typer.Option([], "--repo", help="A generated repository, OWNER/NAME:PRS (repeatable)."),
    dataset: Path | None = typer.Option(
        None, help="A dataset JSON file to serve (real or recorded payloads)."
    ),
    faults: float = typer.Option(0.0, help="Share of API requests that get an injected fault (0 to 1)."),
    fault_kinds: str = typer.Option("", help="Comma-separated fault kinds to inject (default: all kinds)."),
    profile: str = typer.Option(
        "realistic",
        help="realistic: GitHub's server time, limits and answer forms; fast: every answer at once.",
    ),
    time_scale: float = typer.Option(
        1.0, help="Real seconds per second of GitHub's clock, realistic profile (0.1: ten times faster)."
    ),
    rate_window: float | None = typer.Option(
        None, help="Seconds of a rate-limit window (default: GitHub's hour, times --time-scale)."
    ),
    rest_budget: int | None = typer.Option(
        None, min=1, help="REST requests per window and user or installation (default: GitHub's sizes)."
    ),
    graphql_budget: int | None = typer.Option(
        None, min=1, help="GraphQL points per window and user or installation (default: GitHub's sizes)."
    ),
    latency: float = typer.Option(
        0.0,
        min=0,
        help="Instead of the profile's server time: fixed milliseconds per node a GraphQL query touches.",
    ),
    token: list[str] = typer.Option([], "--token", help="Accept only these tokens (default: any token)."),
    token_user: list[str] = typer.Option(
        [], "--token-user", help="TOKEN=LOGIN: whose budget a token spends (default: one user, octocat)."
    ),
    app_key_out: Path | None = typer.Option(None, help="Write the simulator App's private key (PEM) here."),
    actions_repo: str | None = typer.Option(
        None, help="Create this OWNER/NAME holding the generated bulk workflows (the jobs repository)."
    ),
    workflows_auth: str = typer.Option("app", help="How those workflows authenticate: app or token."),
    runner: bool = typer.Option(False, "--runner", help="Execute dispatched workflow runs here."),
    runner_secret: list[str] = typer.Option(
        [], "--runner-secret", help="A secret the runner gives workflows, NAME=VALUE (repeatable)."
    ),
    runner_var: list[str] = typer.Option([], "--runner-var", help="A variable for workflows, NAME=VALUE."),
    runner_ghcapture: str | None = typer.Option(
        None, help="Command `ghcapture` runs in workflow steps (default: this installation)."
    ),
    runner_minute_seconds: float = typer.Option(
        60.0, help="Real seconds of a workflow minute, for timeout-minutes (shrink to test timeouts)."
    ),
    webhook_url: str | None = typer.Option(
        None, help="Deliver a webhook for every change (evolve, Actions runs) to this URL."
    ),
    webhook_secret: str | None = typer.Option(
        None,
        envvar="GHCAPTURE_WEBHOOK_SECRET",
        help="Secret the deliveries are signed with (X-Hub-Signature-256).",
    ),
    webhook_drop: float = typer.Option(0.0, help="Share of deliveries lost (listed as failed; 0 to 1)."),
    webhook_duplicate: float = typer.Option(0.0, help="Share of deliveries sent twice (0 to 1)."),
    webhook_reorder: float = typer.Option(0.0, help="Share of deliveries sent after the next one (0 to 1)."),
    webhook_delay: float = typer.Option(0.0, help="Share of deliveries held up to 2 s (0 to 1)."),
) -> None:
    """Serve a GitHub stand-in (REST, GraphQL, Actions) until stopped.

    Example: ghcapture simulate --repo acme/widgets:2000 --faults 0.02
    """
    from ghcapture.simulator.app import PROFILES, Simulator, SimulatorConfig
    from ghcapture.simulator.dataset import load_dataset, read_dataset
    from ghcapture.simulator.generator import generate_repository
    from ghcapture.simulator.limits import DEFAULT_KINDS, FAULT_KINDS, FaultPlan, LimitSettings
    from ghcapture.simulator.server import new_app_keys, serve_forever
    from ghcapture.simulator.world import World

    if profile not in PROFILES:
        raise InputError(f"--profile {profile!r}: expected one of {', '.join(PROFILES)}")
    if not time_scale > 0:
        raise InputError("--time-scale must be above 0")
    kinds = tuple(k.strip() for k in fault_kinds.split(",") if k.strip()) or DEFAULT_KINDS
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        raise InputError(f"--fault-kinds: unknown {', '.join(unknown)} (known: {', '.join(FAULT_KINDS)})")
    if not 0 <= faults <= 1:
        raise InputError("--faults must be between 0 and 1")
    shares = {
        "--webhook-drop": webhook_drop,
        "--webhook-duplicate": webhook_duplicate,
        "--webhook-reorder": webhook_reorder,
        "--webhook-delay": webhook_delay,
    }
    for option, share in shares.items():
        if not 0 <= share <= 1:
            raise InputError(f"{option} must be between 0 and 1")
    if webhook_url is not None and not webhook_secret:
        raise InputError(
            "--webhook-url needs --webhook-secret (or GHCAPTURE_WEBHOOK_SECRET) to sign deliveries"
        )
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise InputError(f"--webhook-url {webhook_url!r}: expected an http(s) URL")
    if rate_window is not None and not rate_window > 0:
        raise InputError("--rate-window must be above 0")
    if not runner_minute_seconds > 0:
        raise InputError("--runner-minute-seconds must be above 0")
    if workflows_auth not in ("app", "token"):
        raise InputError(f"--workflows-auth {workflows_auth!r}: expected app or token")
    specs = [parse_repo_spec(s) for s in repo]
    users = dict(parse_assignment(a, "--token-user", name_pattern=r".+") for a in token_user)
    secrets = dict(parse_assignment(a, "--runner-secret") for a in runner_secret)
    variables = dict(parse_assignment(a, "--runner-var") for a in runner_var)
    # Bound before the repositories are generated: a port in use is told at once, and the address is
    # announced only once it serves.
    sock = listening_socket(host, port)
    try:
        world = World()
        if dataset is not None:
            load_dataset(read_dataset(dataset), world)
        if not specs and dataset is None:
            specs = [("acme", "widgets", 500)]
        for owner, name, prs in specs:
            world.add_repository(generate_repository(owner, name, prs, seed=seed))
        keys = new_app_keys()
        scale = time_scale if profile == "realistic" else 1.0
        window = rate_window if rate_window is not None else 3600.0 * scale
        config = SimulatorConfig.for_profile(
            profile,
            time_scale,
            limits=LimitSettings(rest_budget=rest_budget, graphql_budget=graphql_budget, window=window),
            faults=FaultPlan(rate=faults, kinds=kinds, seed=seed),
            latency_ms_per_node=latency,
            tokens=frozenset(token) if token else None,
            token_users=users,
            app=keys.identity,
            seed=seed,
        )
        if app_key_out is not None:
            try:
                app_key_out.write_text(keys.private_key_pem)
                app_key_out.chmod(0o600)
            except OSError as exc:
                raise InputError(
                    f"--app-key-out {app_key_out}: cannot write it: {exc.strerror or exc}"
                ) from None
        simulator = Simulator(world, config)
        url = f"http://{host}:{port}"
        if actions_repo is not None:
            add_jobs_repository(world, actions_repo, auth=workflows_auth)
        if runner:
            from ghcapture.simulator.runner import RunnerConfig, WorkflowRunner

            # The App token step needs the App's key; the simulator made it, so it can hand it over.
            secrets.setdefault("GHCAPTURE_APP_PRIVATE_KEY", keys.private_key_pem)
            variables.setdefault("GHCAPTURE_APP_ID", str(keys.identity.app_id))
            WorkflowRunner(
                simulator,
                RunnerConfig(
                    api_url=url,
                    secrets=secrets,
                    vars=variables,
                    ghcapture_command=runner_ghcapture,
                    minute_seconds=runner_minute_seconds,
                ),
            ).attach()
        # With --token only those are accepted, so the example must use one of them.
        example_token = token[0] if token else next(iter(users), "anything")
        clock = f", GitHub's clock x{1 / time_scale:g}" if profile == "realistic" and time_scale != 1 else ""
        typer.echo(f"GitHub simulator at {url} (GraphQL {url}/graphql), {profile} profile{clock}")
        for r in world.unique_repositories:
            typer.echo(f"  {r.full_name}: {len(r.pull_requests)} pull requests")
        typer.echo(
            f"  App id {keys.identity.app_id}, installation {keys.identity.installation_id}"
            + (f", key in {app_key_out}" if app_key_out else "")
        )
        typer.echo(
            f"Try: GITHUB_API_URL={url} GITHUB_TOKEN={example_token} ghcapture capture prs "
            f"{world.unique_repositories[0].full_name if world.unique_repositories else 'OWNER/REPO'}"
        )
        if actions_repo is not None:
            typer.echo(f"  {actions_repo}: the generated bulk workflows" + (", run here" if runner else ""))
        if webhook_url is not None and webhook_secret:
            from ghcapture.simulator.webhooks import DeliveryOptions, attach_deliverer

            attach_deliverer(
                simulator,
                DeliveryOptions(
                    url=webhook_url,
                    secret=webhook_secret,
                    drop=webhook_drop,
                    duplicate=webhook_duplicate,
                    reorder=webhook_reorder,
                    delay=webhook_delay,
                    seed=seed,
                    installation_id=keys.identity.installation_id,
                    api=url,
                ),
            )
            typer.echo(
                f"  webhook deliveries to {webhook_url} (App deliveries API at {url}/app/hook/deliveries)"
            )
    except BaseException:
        sock.close()
        raise
    serve_forever(simulator, sock)


def parse_assignment(
    text: str, option: str, name_pattern: str = r"[A-Za-z_][A-Za-z0-9_]*"
) -> tuple[str, str]:
    """NAME=VALUE, as --runner-secret, --runner-var and --token-user take it."""
    name, sep, value = text.partition("=")
    if not sep or not value and option == "--token-user" or not re.fullmatch(name_pattern, name):
        if option == "--token-user":
            raise InputError(f"{option}: expected TOKEN=LOGIN")
        raise InputError(f"{option}: expected NAME=VALUE with a name of letters, digits and _")
    return name, value


def add_jobs_repository(world: object, full_name: str, *, auth: str = "app") -> None:
    """Adds a repository holding every generated bulk workflow on its default branch."""
    from ghcapture.simulator.generator import generate_repository
    from ghcapture.simulator.world import World
    from ghcapture.workflows.generate import WORKFLOW_KINDS, render_workflow

    assert isinstance(world, World)
    if auth not in ("app", "token"):
        raise InputError("--workflows-auth must be app or token")
    owner, _, name = full_name.partition("/")
    if not owner or not name:
        raise InputError(f"--actions-repo {full_name!r}: expected OWNER/NAME")
    repo = world.repository(owner, name) or world.add_repository(generate_repository(owner, name, 0))
    files = repo.files.setdefault(repo.default_branch, {})
    for kind, spec in WORKFLOW_KINDS.items():
        files[f".github/workflows/{spec.file_name}"] = render_workflow(kind, auth=auth).encode()  # type: ignore[arg-type]
