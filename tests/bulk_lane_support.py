"""The bulk lane in tests: an in-process simulator holding a jobs repository, GitHub clients on it, and jobs
routed to GitHub Actions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine

from ghcapture.config import Settings
from ghcapture.github.http import GitHubClient
from ghcapture.jobs.actions_settings import ActionsSettings
from ghcapture.jobs.model import BULK, GITHUB_ACTIONS, Job
from ghcapture.jobs.store import JobStore, RouteFields
from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.model import Repository
from ghcapture.simulator.world import World
from ghcapture.workflows.generate import WORKFLOW_KINDS, render_workflow

JOBS_REPO = "acme/ghcapture-jobs"
API = "http://sim.test"
T = TypeVar("T")


@dataclass
class BulkLane:
    sim: Simulator
    jobs_repo: Repository
    actions: ActionsSettings
    settings: Settings

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.sim.asgi())

    def client(self) -> GitHubClient:
        # Few, short retries: a test that meets a real failure should see it at once.
        return GitHubClient(
            self.settings,
            transport=self.transport(),
            max_attempts=2,
            retry_wait_initial=0.01,
            retry_wait_max=0.02,
        )

    def run(self, call: Callable[[GitHubClient], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self.client() as client:
                return await call(client)

        return asyncio.run(go())

    def put_workflow(self, file_name: str, text: str) -> None:
        self.jobs_repo.files.setdefault("main", {})[f".github/workflows/{file_name}"] = text.encode()


def bulk_lane(
    *,
    repos: dict[str, int] | None = None,
    config: SimulatorConfig | None = None,
    auth: str = "app",
    actions: ActionsSettings | None = None,
) -> BulkLane:
    """A simulator whose jobs repository holds every generated workflow."""
    world = World()
    for full_name, prs in (repos or {"acme/big": 30}).items():
        owner, name = full_name.split("/")
        world.add_repository(generate_repository(owner, name, prs))
    jobs_repo = world.add_repository(generate_repository(*JOBS_REPO.split("/"), 0))
    lane = BulkLane(
        sim=Simulator(world, config),
        jobs_repo=jobs_repo,
        actions=actions or ActionsSettings(repository=JOBS_REPO, database_url="postgresql://db/x"),
        settings=Settings(
            github_token="ghp_dispatcher", github_api_url=API, github_graphql_url=API + "/graphql"
        ),
    )
    for kind, spec in WORKFLOW_KINDS.items():
        lane.put_workflow(spec.file_name, render_workflow(kind, auth=auth))  # type: ignore[arg-type]
    return lane


def bulk_job(engine: Engine, repository: str = "acme/big", kind: str = "prs", **params: Any) -> Job:
    return JobStore(engine).create(
        kind=kind,
        repository=repository,
        params=params,
        route=RouteFields(lane=BULK, processor=GITHUB_ACTIONS, reason="bulk: test"),
    )
