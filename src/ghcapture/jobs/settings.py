"""The job system's settings: routing thresholds, the bulk lane's configuration, the local engine's limits.

Each is an environment variable or a key of ghcapture.toml (lower case, without the GHCAPTURE_ prefix).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ghcapture import config
from ghcapture.config import Settings
from ghcapture.errors import ConfigError
from ghcapture.jobs.router import RouterConfig

# (environment variable, help); the toml key is the name in lower case without GHCAPTURE_.
JOB_SETTINGS_HELP: list[tuple[str, str]] = [
    ("GHCAPTURE_REALTIME_MAX_DAYS", "older data than this many days goes to the bulk lane (default 1)"),
    ("GHCAPTURE_REALTIME_MAX_ITEMS", "batches larger than this go to the bulk lane (default 50)"),
    ("GHCAPTURE_REALTIME_MAX_REPO_PRS", "repositories with more PRs go to the bulk lane (default 1000)"),
    ("GHCAPTURE_ACTIONS_REPOSITORY", "OWNER/NAME of the repository whose Actions run bulk jobs"),
    ("GHCAPTURE_ACTIONS_DATABASE_URL", "the database URL Actions runners use (not SQLite)"),
    ("GHCAPTURE_DBOS_DATABASE_URL", "the job engine's system database (default: beside the data database)"),
    ("GHCAPTURE_HEARTBEAT_SECONDS", "how often a running local job proves it is alive (default 10)"),
    ("GHCAPTURE_STUCK_AFTER_SECONDS", "a local job silent this long is failed and retried (default 120)"),
    ("GHCAPTURE_ACTIONS_STUCK_AFTER_SECONDS", "the same for jobs on GitHub Actions (default 25200)"),
    ("GHCAPTURE_JOB_MAX_ATTEMPTS", "attempts a job gets before it stays failed (default 3)"),
    ("GHCAPTURE_PAGES_PER_STEP", "pages of a capture per durable step (default 5)"),
    ("GHCAPTURE_TOKEN_CONCURRENCY", "jobs running at once per GitHub token or installation (default 4)"),
    ("GHCAPTURE_TOKEN_JOBS_PER_MINUTE", "jobs started per minute per token or installation (default 30)"),
    ("GHCAPTURE_BUDGET_NAME", "name of the shared rate-limit budget (default: derived from the credentials)"),
    ("GHCAPTURE_RECONCILE_SECONDS", "how often a worker reconciles jobs on GitHub Actions (default 60)"),
]


@dataclass(frozen=True)
class JobSettings:
    router: RouterConfig = field(default_factory=RouterConfig)
    system_database_url: str = field(default="sqlite:///ghcapture-jobs.db", repr=False)
    heartbeat_seconds: float = 10.0
    stuck_after_seconds: float = 120.0
    actions_stuck_after_seconds: float = 7 * 3600.0
    max_attempts: int = 3
    pages_per_step: int = 5
    token_concurrency: int = 4
    token_jobs_per_minute: int = 30
    budget_name: str = "default"
    poll_seconds: float = 1.0
    reconcile_seconds: float = 60.0

    @property
    def stuck_limits(self) -> dict[str, float]:
        return {"local": self.stuck_after_seconds, "github_actions": self.actions_stuck_after_seconds}


def default_system_database_url(database_url: str) -> str:
    """A SQLite file beside a SQLite data database; the same PostgreSQL database otherwise."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            return "sqlite:///ghcapture-jobs.db"
        path = Path(database)
        return f"sqlite:///{path.with_name(path.stem + '-jobs' + (path.suffix or '.db'))}"
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def budget_name(settings: Settings) -> str:
    """Which rate-limit budget the credentials spend: an App installation, or a token (by a short digest)."""
    if settings.uses_app:
        return f"app{settings.github_app_id}-{settings.github_app_installation_id or 'any'}"
    if settings.github_token:
        # A digest names the budget without the token appearing anywhere.
        return "token-" + hashlib.sha256(settings.github_token.encode()).hexdigest()[:10]
    return "anonymous"


def load_job_settings(settings: Settings, env: Mapping[str, str] | None = None) -> JobSettings:
    env = os.environ if env is None else env
    extra: dict[str, Any] = settings.extra

    file_values: dict[str, Any] | None = None

    def pick(name: str) -> str | None:
        nonlocal file_values
        value = env.get(name)
        if value:
            return value
        key = name.removeprefix("GHCAPTURE_").lower()
        found = getattr(settings, key, None) or extra.get(key)
        if found is None:
            # Keys that config.py knows are kept out of `extra`; read them from the file itself.
            if file_values is None:
                reader = getattr(config, "settings_file_values", None)
                file_values = reader(dict(env)) if reader is not None else {}
            found = file_values.get(key)
        return None if found is None else str(found)

    def number(name: str, default: float, *, minimum: float = 0.0, integer: bool = False) -> Any:
        raw = pick(name)
        if raw is None:
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a {'whole ' if integer else ''}number") from None
        if value < minimum:
            raise ConfigError(f"{name}: must be at least {minimum:g}, got {raw}")
        return value

    router = RouterConfig(
        realtime_max_days=number("GHCAPTURE_REALTIME_MAX_DAYS", 1.0, minimum=0.0),
        realtime_max_items=number("GHCAPTURE_REALTIME_MAX_ITEMS", 50, integer=True),
        realtime_max_repo_prs=number("GHCAPTURE_REALTIME_MAX_REPO_PRS", 1000, integer=True),
        actions_repository=pick("GHCAPTURE_ACTIONS_REPOSITORY"),
        actions_database_url=pick("GHCAPTURE_ACTIONS_DATABASE_URL"),
        github_api_url=settings.github_api_url,
    )
    return JobSettings(
        router=router,
        system_database_url=(
            pick("GHCAPTURE_DBOS_DATABASE_URL") or default_system_database_url(settings.database_url)
        ),
        heartbeat_seconds=number("GHCAPTURE_HEARTBEAT_SECONDS", 10.0, minimum=0.1),
        stuck_after_seconds=number("GHCAPTURE_STUCK_AFTER_SECONDS", 120.0, minimum=1.0),
        actions_stuck_after_seconds=number("GHCAPTURE_ACTIONS_STUCK_AFTER_SECONDS", 7 * 3600.0, minimum=60.0),
        max_attempts=number("GHCAPTURE_JOB_MAX_ATTEMPTS", 3, minimum=1, integer=True),
        pages_per_step=number("GHCAPTURE_PAGES_PER_STEP", 5, minimum=1, integer=True),
        token_concurrency=number("GHCAPTURE_TOKEN_CONCURRENCY", 4, minimum=1, integer=True),
        token_jobs_per_minute=number("GHCAPTURE_TOKEN_JOBS_PER_MINUTE", 30, minimum=1, integer=True),
        budget_name=pick("GHCAPTURE_BUDGET_NAME") or budget_name(settings),
        poll_seconds=number("GHCAPTURE_POLL_SECONDS", 1.0, minimum=0.05),
        reconcile_seconds=number("GHCAPTURE_RECONCILE_SECONDS", 60.0, minimum=1.0),
    )
