"""Settings from environment variables and an optional ghcapture.toml.

Every key is listed once, in KEYS: its environment variable, its toml key, its type, its default and its help.
The environment wins over the file; unknown keys of the file are refused. The typed model that checks values
(pydantic-settings) lives in `settings_model` and is imported only when settings are read, so that
`ghcapture --help`, which prints KEYS, does not pay for it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghcapture.settings_model import SettingValues

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///ghcapture.db"
CONFIG_ENV = "GHCAPTURE_CONFIG"
CONFIG_FILE = "ghcapture.toml"


@dataclass(frozen=True)
class Key:
    """One setting: where it is read from, what it holds, and what it means."""

    env: str
    toml: str  # also the field's name in the model; "" for GHCAPTURE_CONFIG, which names the file
    kind: type
    default: Any
    help: str
    default_help: str | None = None  # how the default reads when it is derived rather than a value
    secret: bool = False  # never repeated in an error message
    at_least: float | None = None
    below: float | None = None

    @property
    def help_line(self) -> str:
        if self.default_help is not None:
            return f"{self.help} (default {self.default_help})"
        if self.default is None:
            return self.help
        shown = f"{self.default:g}" if isinstance(self.default, float) else str(self.default)
        return f"{self.help} (default {shown})"


KEYS: tuple[Key, ...] = (
    Key(
        "GITHUB_TOKEN", "github_token", str, None, "personal access token or installation token", secret=True
    ),
    Key("GITHUB_APP_ID", "github_app_id", str, None, "GitHub App id or client id (instead of GITHUB_TOKEN)"),
    Key(
        "GITHUB_APP_PRIVATE_KEY",
        "github_app_private_key",
        str,
        None,
        "the App's PEM private key",
        secret=True,
    ),
    Key("GITHUB_APP_PRIVATE_KEY_PATH", "github_app_private_key_path", str, None, "path to the App's PEM key"),
    Key("GITHUB_APP_INSTALLATION_ID", "github_app_installation_id", str, None, "installation to act as"),
    Key("GITHUB_API_URL", "github_api_url", str, DEFAULT_API_URL, "REST base URL"),
    Key(
        "GITHUB_GRAPHQL_URL",
        "github_graphql_url",
        str,
        None,
        "GraphQL URL",
        default_help="from GITHUB_API_URL",
    ),
    Key(
        "GHCAPTURE_DATABASE_URL",
        "database_url",
        str,
        DEFAULT_DATABASE_URL,
        "sqlite:///path.db or postgresql://...",
        default_help="ghcapture.db",
        secret=True,
    ),
    Key(CONFIG_ENV, "", str, None, "path of the settings file", default_help=f"./{CONFIG_FILE}"),
    Key(
        "GHCAPTURE_RATE_LIMIT_RESERVE",
        "rate_limit_reserve",
        float,
        0.02,
        "share of a rate-limit budget never spent",
        at_least=0.0,
        below=1.0,
    ),
    Key(
        "GHCAPTURE_RATE_LIMIT_SAMPLE_SECONDS",
        "rate_limit_sample_seconds",
        float,
        60.0,
        "a budget reading is kept at most this often",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_RATE_LIMIT_SAMPLES_KEEP_DAYS",
        "rate_limit_samples_keep_days",
        float,
        7.0,
        "budget readings older than this are pruned",
        at_least=0.01,
    ),
    Key(
        "GHCAPTURE_ACTIONS_REPOSITORY",
        "actions_repository",
        str,
        None,
        "OWNER/NAME of the bulk workflows",
        default_help="unset: local",
    ),
    Key("GHCAPTURE_ACTIONS_REF", "actions_ref", str, "main", "ref the bulk workflows run on"),
    Key(
        "GHCAPTURE_ACTIONS_TOKEN",
        "actions_token",
        str,
        None,
        "token that may dispatch there",
        default_help="GITHUB_TOKEN/App",
        secret=True,
    ),
    Key(
        "GHCAPTURE_ACTIONS_DATABASE_URL",
        "actions_database_url",
        str,
        None,
        "database URL the runners use (not SQLite)",
        secret=True,
    ),
    Key(
        "GHCAPTURE_ACTIONS_PRICE_PER_MINUTE",
        "actions_price_per_minute",
        float,
        0.006,
        "USD a runner minute",
        at_least=0.0,
        below=10.0,
    ),
    Key(
        "GHCAPTURE_WEBHOOK_SECRET",
        "webhook_secret",
        str,
        None,
        "secret of GitHub's webhook deliveries (HMAC-SHA256)",
        secret=True,
    ),
    Key(
        "GHCAPTURE_WEBHOOK_COALESCE_SECONDS",
        "webhook_coalesce_seconds",
        float,
        5.0,
        "deliveries for a repository within this window make one job",
        at_least=0.0,
        below=3600.0,
    ),
    Key(
        "GHCAPTURE_REDELIVER_SECONDS",
        "redeliver_seconds",
        float,
        300.0,
        "how often the worker asks GitHub again for failed webhook deliveries",
        at_least=1.0,
    ),
    Key(
        "GHCAPTURE_ACTIONS_PRS_PER_CHUNK",
        "actions_prs_per_chunk",
        int,
        1000,
        "PRs per matrix job of a backfill",
        at_least=1,
    ),
    Key(
        "GHCAPTURE_REALTIME_MAX_DAYS",
        "realtime_max_days",
        float,
        1.0,
        "older data goes to the bulk lane",
        default_help="1 day",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_REALTIME_MAX_ITEMS",
        "realtime_max_items",
        int,
        50,
        "larger batches go to the bulk lane",
        at_least=0,
    ),
    Key(
        "GHCAPTURE_REALTIME_MAX_REPO_PRS",
        "realtime_max_repo_prs",
        int,
        1000,
        "larger repos go to bulk",
        at_least=0,
    ),
    Key(
        "GHCAPTURE_DBOS_DATABASE_URL",
        "dbos_database_url",
        str,
        None,
        "job engine database",
        default_help="beside the data",
        secret=True,
    ),
    Key(
        "GHCAPTURE_DB_OUTAGE_SECONDS",
        "db_outage_seconds",
        float,
        60.0,
        "how long a capture waits for a lost database",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_HEARTBEAT_SECONDS",
        "heartbeat_seconds",
        float,
        10.0,
        "how often a running job beats",
        at_least=0.1,
    ),
    Key(
        "GHCAPTURE_STUCK_AFTER_SECONDS",
        "stuck_after_seconds",
        float,
        120.0,
        "a silent local job is retried",
        at_least=1.0,
    ),
    Key(
        "GHCAPTURE_ACTIONS_STUCK_AFTER_SECONDS",
        "actions_stuck_after_seconds",
        float,
        7 * 3600.0,
        "same on Actions",
        at_least=60.0,
    ),
    Key("GHCAPTURE_JOB_MAX_ATTEMPTS", "job_max_attempts", int, 3, "attempts a job gets", at_least=1),
    Key("GHCAPTURE_PAGES_PER_STEP", "pages_per_step", int, 5, "capture pages per durable step", at_least=1),
    Key("GHCAPTURE_TOKEN_CONCURRENCY", "token_concurrency", int, 4, "jobs at once per token", at_least=1),
    Key(
        "GHCAPTURE_TOKEN_JOBS_PER_MINUTE",
        "token_jobs_per_minute",
        int,
        30,
        "job starts a minute per token",
        at_least=1,
    ),
    Key(
        "GHCAPTURE_BUDGET_NAME",
        "budget_name",
        str,
        None,
        "name of the shared rate-limit budget",
        default_help="from the credentials",
    ),
    Key(
        "GHCAPTURE_DASHBOARD_TOKEN",
        "dashboard_token",
        str,
        None,
        "the token every dashboard request must carry; required when it listens beyond 127.0.0.1",
        secret=True,
    ),
    Key(
        "GHCAPTURE_ALERT_FAILURE_RATE",
        "alert_failure_rate",
        float,
        0.25,
        "share of finished jobs failed in the window that alerts",
        at_least=0.0,
        below=1.01,
    ),
    Key(
        "GHCAPTURE_ALERT_WINDOW_HOURS",
        "alert_window_hours",
        float,
        24.0,
        "window of the failure rate and of failed or cancelled jobs",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_ALERT_STUCK_MINUTES",
        "alert_stuck_minutes",
        float,
        30.0,
        "a running job this long without a heartbeat is stuck",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_ALERT_BACKLOG",
        "alert_backlog",
        int,
        100,
        "jobs waiting (pending or queued) above which the backlog alerts",
        at_least=0,
    ),
    Key(
        "GHCAPTURE_ALERT_BULK_WAIT_HOURS",
        "alert_bulk_wait_hours",
        float,
        6.0,
        "a bulk job waiting this long alerts",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_ALERT_STALE_HOURS",
        "alert_stale_hours",
        float,
        48.0,
        "a repository not synced for this long alerts",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_ALERT_MISSING_PRS",
        "alert_missing_prs",
        int,
        1,
        "PRs GitHub reports beyond those held before a repository is incomplete",
        at_least=1,
    ),
    Key(
        "GHCAPTURE_ALERT_BUDGET_RESERVE",
        "alert_budget_reserve",
        float,
        0.1,
        "share of a rate-limit budget below which it alerts",
        at_least=0.0,
        below=1.0,
    ),
    Key(
        "GHCAPTURE_ALERT_COOLDOWN_MINUTES",
        "alert_cooldown_minutes",
        float,
        60.0,
        "a firing alert is sent again after this long",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_ALERT_WEBHOOK_URL",
        "alert_webhook_url",
        str,
        None,
        "alerts are POSTed here as JSON",
        secret=True,
    ),
    Key(
        "GHCAPTURE_ALERT_ISSUES",
        "alert_issues",
        bool,
        False,
        "open an issue in GHCAPTURE_ACTIONS_REPOSITORY per alert",
    ),
    Key(
        "GHCAPTURE_ACTIONS_FREE_MINUTES",
        "actions_free_minutes",
        float,
        2000.0,
        "Actions minutes the plan includes a month",
        default_help="2000, GitHub Free",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_HOSTED_MONTHLY_FEE",
        "hosted_monthly_fee",
        float,
        0.0,
        "USD a month of the hosted job service's plan",
        default_help="0, Trigger.dev Free",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_HOSTED_INCLUDED_USD",
        "hosted_included_usd",
        float,
        5.0,
        "usage in USD the hosted plan includes a month",
        default_help="5, Trigger.dev Free",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_HOSTED_PRICE_PER_RUN",
        "hosted_price_per_run",
        float,
        0.000025,
        "USD per run on the hosted service",
        default_help="0.000025, Trigger.dev",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_HOSTED_PRICE_PER_SECOND",
        "hosted_price_per_second",
        float,
        0.0000169,
        "USD per second of compute on the hosted service",
        default_help="0.0000169, Trigger.dev micro",
        at_least=0.0,
    ),
    Key(
        "GHCAPTURE_POLL_SECONDS", "poll_seconds", float, 1.0, "how often workers look for work", at_least=0.05
    ),
    Key(
        "GHCAPTURE_RECONCILE_SECONDS",
        "reconcile_seconds",
        float,
        60.0,
        "how often workers reconcile Actions jobs",
        at_least=1.0,
    ),
)
KEY_BY_NAME: dict[str, Key] = {key.toml: key for key in KEYS if key.toml}

# (environment variable, toml key, help), the shape command epilogs read.
SETTINGS_HELP: list[tuple[str, str, str]] = [(key.env, key.toml, key.help_line) for key in KEYS]


def settings_help_text() -> str:
    """The settings, one per line, for --help epilogs."""
    return "\n".join(f"{key.env}: {key.help_line}" for key in KEYS)


@dataclass(frozen=True)
class Settings:
    github_token: str | None = None
    github_app_id: str | None = None
    github_app_private_key: str | None = field(default=None, repr=False)
    github_app_installation_id: str | None = None
    github_api_url: str = DEFAULT_API_URL
    github_graphql_url: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    # The checked values of the keys other parts read (rate_limit_reserve, the job system's keys).
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


_SETTINGS_FIELDS = {f.name for f in fields(Settings)} - {"extra"}


def derive_graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST base URL (api.github.com, GHES /api/v3, or a simulator)."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


def read_setting_values(env: dict[str, str] | None = None, cwd: Path | None = None) -> SettingValues:
    """Every key's checked value, from the environment, then the settings file, then its default."""
    from ghcapture.settings_model import read_values

    return read_values(dict(os.environ) if env is None else env, cwd or Path.cwd())


def load_settings(env: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read settings from the environment, then ghcapture.toml, then defaults."""
    values = read_setting_values(env, cwd)
    private_key = _private_key(values)
    api_url: str = values["github_api_url"]
    github_token: str | None = values["github_token"]
    if values["github_app_id"] and not private_key and not github_token:
        raise values.error(
            "github_app_id", "set, but neither GITHUB_APP_PRIVATE_KEY nor GITHUB_APP_PRIVATE_KEY_PATH is"
        )
    return Settings(
        github_token=github_token,
        github_app_id=values["github_app_id"],
        github_app_private_key=private_key,
        github_app_installation_id=values["github_app_installation_id"],
        github_api_url=api_url,
        github_graphql_url=values["github_graphql_url"] or derive_graphql_url(api_url),
        database_url=values["database_url"],
        extra={
            name: values[name]
            for name in KEY_BY_NAME
            if name not in _SETTINGS_FIELDS and not name.startswith("github_app_private_key")
        },
    )


_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----.+-----END (?:[A-Z]+ )?PRIVATE KEY-----", re.S
)


def _private_key(values: SettingValues) -> str | None:
    """The App's key, from the source that gives it first (a key beats a path within one source), checked
    here so that an error names the variable or file key it really came from."""
    chosen = values.first_set("github_app_private_key", "github_app_private_key_path")
    if chosen is None:
        return None
    if chosen == "github_app_private_key":
        private_key: str = values[chosen]
        if "\\n" in private_key and "\n" not in private_key:
            private_key = private_key.replace("\\n", "\n")  # a key pasted into one line of an env file
    else:
        try:
            private_key = Path(values[chosen]).expanduser().read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
            raise values.error(chosen, f"cannot read the key file ({reason})") from None
    problem = _private_key_problem(private_key)
    if problem:
        raise values.error(chosen, problem)
    return private_key


def _private_key_problem(private_key: str) -> str | None:
    if not _PEM_PRIVATE_KEY.search(private_key):
        return "not a PEM private key"
    # cryptography is imported only when an App key is configured.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(private_key.strip().encode(), password=None)
    except Exception:  # cryptography raises ValueError, TypeError and types of its own for a bad key
        return "not a PEM private key"
    if not isinstance(key, rsa.RSAPrivateKey):
        return "not an RSA key (GitHub signs App JWTs with RS256)"
    return None
