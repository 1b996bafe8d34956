"""The receiver as a service: built from the settings, served on its own (`ghcapture webhook serve`) or on a
thread of `ghcapture worker --webhook-port`."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette

from ghcapture.config import Settings, read_setting_values
from ghcapture.jobs.actions_settings import load_actions_settings
from ghcapture.jobs.settings import load_job_settings
from ghcapture.jobs.webhooks.apply import Applier
from ghcapture.jobs.webhooks.coalesce import PullRequestJobs
from ghcapture.jobs.webhooks.receiver import DEFAULT_PATH, receiver_app

log = logging.getLogger("ghcapture.webhook")


def build_receiver(
    settings: Settings, engine: Engine, *, path: str = DEFAULT_PATH, env: Mapping[str, str] | None = None
) -> Starlette:
    """The receiver of GitHub's deliveries for this configuration (refuses to exist without a secret)."""
    from ghcapture.github.http import GitHubClient

    environment = None if env is None else dict(env)
    values = read_setting_values(environment)
    actions = load_actions_settings(environment, base=settings)
    jobs = load_job_settings(settings, environment)
    applier = Applier(
        engine,
        pull_request_jobs=PullRequestJobs(engine, jobs, window_seconds=values["webhook_coalesce_seconds"]),
    )
    return receiver_app(
        applier,
        values["webhook_secret"],
        actions=actions,
        client_factory=lambda: GitHubClient(actions.dispatch_settings(settings)),
        path=path,
    )


class ReceiverThread:
    """A receiver served on a thread of another process (the worker), stopped with it."""

    def __init__(self, asgi: Any, sock: socket.socket) -> None:
        import uvicorn

        config = uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="off")
        # Off the main thread uvicorn leaves signals alone: they stay the worker's.
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="ghcapture-webhook", daemon=True
        )

    def start(self) -> ReceiverThread:
        self._thread.start()
        return self

    def stop(self, wait_seconds: float = 5.0) -> None:
        self.server.should_exit = True
        self._thread.join(wait_seconds)
