"""The bulk lane's GitHub Actions settings: where the workflows live, who may dispatch them, what runners
use as their database, the webhook secret and the price of a runner minute."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ghcapture.config import KEY_BY_NAME, Settings, load_settings, read_setting_values
from ghcapture.errors import ConfigError

# GitHub's price of a Linux 2-core runner minute from 1 January 2026.
DEFAULT_PRICE_PER_MINUTE: float = KEY_BY_NAME["actions_price_per_minute"].default
DEFAULT_REF: str = KEY_BY_NAME["actions_ref"].default
# A chunk of about this many pull requests keeps a matrix job well inside its timeout and spreads the work.
DEFAULT_PRS_PER_CHUNK: int = KEY_BY_NAME["actions_prs_per_chunk"].default


class ActionsNotConfigured(ConfigError):
    """The bulk lane was asked to use GitHub Actions, which is not configured."""


@dataclass(frozen=True)
class ActionsSettings:
    repository: str | None = None
    ref: str = DEFAULT_REF
    token: str | None = field(default=None, repr=False)
    database_url: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    price_per_minute: float = DEFAULT_PRICE_PER_MINUTE
    prs_per_chunk: int = DEFAULT_PRS_PER_CHUNK

    @property
    def configured(self) -> bool:
        return bool(self.repository)

    @property
    def owner_and_name(self) -> tuple[str, str]:
        if not self.repository:
            raise ActionsNotConfigured(
                "GitHub Actions is not configured (set GHCAPTURE_ACTIONS_REPOSITORY); bulk work runs locally"
            )
        owner, name = self.repository.split("/")
        return owner, name

    def dispatch_settings(self, base: Settings) -> Settings:
        """The GitHub settings of a dispatcher: GHCAPTURE_ACTIONS_TOKEN if set, else the usual credentials."""
        if self.token:
            return replace(base, github_token=self.token, github_app_id=None, github_app_private_key=None)
        return base

    def cost_usd(self, billable_ms: int) -> float:
        return round(billable_ms / 60_000 * self.price_per_minute, 6)


def load_actions_settings(env: dict[str, str] | None = None, base: Settings | None = None) -> ActionsSettings:
    """Reads GHCAPTURE_ACTIONS_* and GHCAPTURE_WEBHOOK_SECRET from the environment, then ghcapture.toml."""
    values = read_setting_values(env)
    repository: str | None = values["actions_repository"]
    database_url: str | None = values["actions_database_url"]
    if database_url is None and repository is not None:
        # The runners write where we read; a PostgreSQL database of our own is the natural default.
        own = (base or load_settings(env)).database_url
        if runner_database_url_problem(own) is None:
            database_url = own
    return ActionsSettings(
        repository=repository,
        ref=values["actions_ref"],
        token=values["actions_token"],
        database_url=database_url,
        webhook_secret=values["webhook_secret"],
        price_per_minute=values["actions_price_per_minute"],
        prs_per_chunk=values["actions_prs_per_chunk"],
    )


def runner_database_url_problem(url: str) -> str | None:
    """Why runners on other machines cannot use this database URL (not a URL, a SQLite file), or None."""
    from ghcapture.settings_model import runner_database_url_problem as problem

    return problem(url)


def check_runner_database_url(url: str) -> None:
    """Refuses a URL runners on other machines cannot use: not a URL, or a SQLite file."""
    problem = runner_database_url_problem(url)
    if problem:
        raise ConfigError(f"GHCAPTURE_ACTIONS_DATABASE_URL: {problem}")
