"""Settings from environment variables and an optional ghcapture.toml.

Environment variables win over the file. Names follow GitHub Actions where one exists.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ghcapture.errors import ConfigError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///ghcapture.db"

# (setting, environment variable, toml key, help)
SETTINGS_HELP: list[tuple[str, str, str]] = [
    ("GITHUB_TOKEN", "github_token", "personal access token or installation token"),
    ("GITHUB_APP_ID", "github_app_id", "GitHub App id or client id (instead of GITHUB_TOKEN)"),
    ("GITHUB_APP_PRIVATE_KEY", "github_app_private_key", "the App's PEM private key"),
    ("GITHUB_APP_PRIVATE_KEY_PATH", "github_app_private_key_path", "path to the App's PEM private key"),
    ("GITHUB_APP_INSTALLATION_ID", "github_app_installation_id", "installation to act as"),
    ("GITHUB_API_URL", "github_api_url", f"REST base URL (default {DEFAULT_API_URL})"),
    ("GITHUB_GRAPHQL_URL", "github_graphql_url", "GraphQL URL (derived from GITHUB_API_URL when absent)"),
    (
        "GHCAPTURE_DATABASE_URL",
        "database_url",
        "sqlite:///path.db (default ghcapture.db) or postgresql://...",
    ),
    ("GHCAPTURE_CONFIG", "", "path of the settings file (default ./ghcapture.toml)"),
    ("GHCAPTURE_ACTIONS_REPOSITORY", "actions_repository", "OWNER/NAME of the bulk workflows (unset: local)"),
    ("GHCAPTURE_ACTIONS_REF", "actions_ref", "ref the bulk workflows run on (default main)"),
    ("GHCAPTURE_ACTIONS_TOKEN", "actions_token", "token that may dispatch there (default: GITHUB_TOKEN/App)"),
    ("GHCAPTURE_ACTIONS_DATABASE_URL", "actions_database_url", "database URL the runners use (not SQLite)"),
    ("GHCAPTURE_ACTIONS_PRICE_PER_MINUTE", "actions_price_per_minute", "USD a runner minute (default 0.006)"),
    ("GHCAPTURE_WEBHOOK_SECRET", "webhook_secret", "secret of the workflow_run webhook (HMAC-SHA256)"),
    ("GHCAPTURE_ACTIONS_PRS_PER_CHUNK", "actions_prs_per_chunk", "PRs per matrix job of a backfill (1000)"),
    ("GHCAPTURE_REALTIME_MAX_DAYS", "realtime_max_days", "older data goes to the bulk lane (default 1 day)"),
    ("GHCAPTURE_REALTIME_MAX_ITEMS", "realtime_max_items", "larger batches go to the bulk lane (default 50)"),
    ("GHCAPTURE_REALTIME_MAX_REPO_PRS", "realtime_max_repo_prs", "larger repos go to bulk (default 1000)"),
    ("GHCAPTURE_DBOS_DATABASE_URL", "dbos_database_url", "job engine database (default: beside the data)"),
    ("GHCAPTURE_HEARTBEAT_SECONDS", "heartbeat_seconds", "how often a running job beats (default 10)"),
    ("GHCAPTURE_STUCK_AFTER_SECONDS", "stuck_after_seconds", "a silent local job is retried (default 120)"),
    ("GHCAPTURE_ACTIONS_STUCK_AFTER_SECONDS", "actions_stuck_after_seconds", "same on Actions (25200)"),
    ("GHCAPTURE_JOB_MAX_ATTEMPTS", "job_max_attempts", "attempts a job gets (default 3)"),
    ("GHCAPTURE_PAGES_PER_STEP", "pages_per_step", "capture pages per durable step (default 5)"),
    ("GHCAPTURE_TOKEN_CONCURRENCY", "token_concurrency", "jobs at once per token (default 4)"),
    ("GHCAPTURE_TOKEN_JOBS_PER_MINUTE", "token_jobs_per_minute", "job starts a minute per token (30)"),
    ("GHCAPTURE_BUDGET_NAME", "budget_name", "name of the shared rate-limit budget"),
    ("GHCAPTURE_POLL_SECONDS", "poll_seconds", "how often workers look for work (default 1)"),
    ("GHCAPTURE_RECONCILE_SECONDS", "reconcile_seconds", "how often workers reconcile Actions jobs (60)"),
]


def settings_help_text() -> str:
    """The settings, one per line, for --help epilogs."""
    return "\n".join(f"{env}: {text}" for env, _key, text in SETTINGS_HELP)


@dataclass(frozen=True)
class Settings:
    github_token: str | None = None
    github_app_id: str | None = None
    github_app_private_key: str | None = field(default=None, repr=False)
    github_app_installation_id: str | None = None
    github_api_url: str = DEFAULT_API_URL
    github_graphql_url: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never print secrets
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in {"extra"}}
        for secret in ("github_token", "github_app_private_key"):
            if shown.get(secret):
                shown[secret] = "***"
        return f"Settings({shown})"

    @property
    def uses_app(self) -> bool:
        return bool(self.github_app_id and self.github_app_private_key and not self.github_token)


def derive_graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST base URL (api.github.com, GHES /api/v3, or a simulator)."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    section = data.get("ghcapture", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: expected a [ghcapture] table")
    return section


def settings_file_values(env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """The keys of the settings file (GHCAPTURE_CONFIG, else ./ghcapture.toml if present), or {}."""
    env = dict(os.environ) if env is None else env
    cwd = cwd or Path.cwd()
    config_path = Path(env["GHCAPTURE_CONFIG"]) if env.get("GHCAPTURE_CONFIG") else cwd / "ghcapture.toml"
    if config_path.exists():
        return _read_toml(config_path)
    if env.get("GHCAPTURE_CONFIG"):
        raise ConfigError(f"GHCAPTURE_CONFIG points to {config_path}, which does not exist")
    return {}


def load_settings(env: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read settings from the environment, then ghcapture.toml, then defaults."""
    env = dict(os.environ) if env is None else env
    file_values = settings_file_values(env, cwd)

    def pick(env_name: str, key: str) -> str | None:
        value = env.get(env_name)
        if value:
            return value
        value = file_values.get(key)
        return None if value is None else str(value)

    private_key = pick("GITHUB_APP_PRIVATE_KEY", "github_app_private_key")
    key_path = pick("GITHUB_APP_PRIVATE_KEY_PATH", "github_app_private_key_path")
    if not private_key and key_path:
        try:
            private_key = Path(key_path).expanduser().read_text()
        except OSError as exc:
            raise ConfigError(
                f"GITHUB_APP_PRIVATE_KEY_PATH: cannot read {key_path} ({exc.strerror})"
            ) from None
    if private_key and "\\n" in private_key and "\n" not in private_key:
        private_key = private_key.replace("\\n", "\n")

    api_url = (pick("GITHUB_API_URL", "github_api_url") or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"GITHUB_API_URL must start with http:// or https://, got {api_url!r}")
    graphql_url = pick("GITHUB_GRAPHQL_URL", "github_graphql_url") or derive_graphql_url(api_url)
    database_url = pick("GHCAPTURE_DATABASE_URL", "database_url") or DEFAULT_DATABASE_URL
    app_id = pick("GITHUB_APP_ID", "github_app_id")
    installation = pick("GITHUB_APP_INSTALLATION_ID", "github_app_installation_id")
    if app_id and not private_key and not pick("GITHUB_TOKEN", "github_token"):
        raise ConfigError("GITHUB_APP_ID is set but neither GITHUB_APP_PRIVATE_KEY nor _PATH is")
    known = {key for _env, key, _text in SETTINGS_HELP if key}
    return Settings(
        github_token=pick("GITHUB_TOKEN", "github_token"),
        github_app_id=app_id,
        github_app_private_key=private_key,
        github_app_installation_id=installation,
        github_api_url=api_url,
        github_graphql_url=graphql_url,
        database_url=database_url,
        extra={k: v for k, v in file_values.items() if k not in known},
    )
