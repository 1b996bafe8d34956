"""The job system's settings: routing thresholds, the bulk lane's configuration, the local engine's limits.

Each is a key of the one settings model (`ghcapture.config.KEYS`): an environment variable or a key of
ghcapture.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from ghcapture.config import KEY_BY_NAME, Settings, read_setting_values
from ghcapture.github.ratelimit import budget_name
from ghcapture.jobs.router import RouterConfig

_JOB_KEYS = (
    "realtime_max_days",
    "realtime_max_items",
    "realtime_max_repo_prs",
    "actions_repository",
    "actions_database_url",
    "dbos_database_url",
    "heartbeat_seconds",
    "stuck_after_seconds",
    "actions_stuck_after_seconds",
    "job_max_attempts",
    "pages_per_step",
    "token_concurrency",
    "token_jobs_per_minute",
    "budget_name",
    "poll_seconds",
    "reconcile_seconds",
)
# (environment variable, help) of the job system's keys.
JOB_SETTINGS_HELP: list[tuple[str, str]] = [(KEY_BY_NAME[k].env, KEY_BY_NAME[k].help_line) for k in _JOB_KEYS]


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


def load_job_settings(settings: Settings, env: Mapping[str, str] | None = None) -> JobSettings:
    """The job settings from the environment (os.environ unless given), then ghcapture.toml, then defaults;
    what is derived from the credentials or the data database comes from `settings`."""
    values = read_setting_values(None if env is None else dict(env))
    router = RouterConfig(
        realtime_max_days=values["realtime_max_days"],
        realtime_max_items=values["realtime_max_items"],
        realtime_max_repo_prs=values["realtime_max_repo_prs"],
        actions_repository=values["actions_repository"],
        actions_database_url=values["actions_database_url"],
        github_api_url=settings.github_api_url,
    )
    return JobSettings(
        router=router,
        system_database_url=values["dbos_database_url"] or default_system_database_url(settings.database_url),
        heartbeat_seconds=values["heartbeat_seconds"],
        stuck_after_seconds=values["stuck_after_seconds"],
        actions_stuck_after_seconds=values["actions_stuck_after_seconds"],
        max_attempts=values["job_max_attempts"],
        pages_per_step=values["pages_per_step"],
        token_concurrency=values["token_concurrency"],
        token_jobs_per_minute=values["token_jobs_per_minute"],
        budget_name=values["budget_name"] or budget_name(settings),
        poll_seconds=values["poll_seconds"],
        reconcile_seconds=values["reconcile_seconds"],
    )
