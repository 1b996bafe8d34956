"""The bulk lane's GitHub Actions settings: where the workflows live, who may dispatch them, what runners
use as their database, the webhook secret and the price of a runner minute."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ghcapture.config import Settings, load_settings, settings_file_values
from ghcapture.errors import ConfigError

# GitHub's price of a Linux 2-core runner minute from 1 January 2026.
DEFAULT_PRICE_PER_MINUTE = 0.006
DEFAULT_REF = "main"
# A chunk of about this many pull requests keeps a matrix job well inside its timeout and spreads the work.
DEFAULT_PRS_PER_CHUNK = 1000
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


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
    env = dict(os.environ) if env is None else env
    file_values: dict[str, Any] = settings_file_values(env)

    def pick(env_name: str, key: str) -> str | None:
        value = env.get(env_name)
        if value:
            return value.strip()
        value = file_values.get(key)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    repository = pick("GHCAPTURE_ACTIONS_REPOSITORY", "actions_repository")
    if repository is not None and not _REPOSITORY.match(repository):
        raise ConfigError(f"GHCAPTURE_ACTIONS_REPOSITORY must be OWNER/NAME, got {repository!r}")
    price_text = pick("GHCAPTURE_ACTIONS_PRICE_PER_MINUTE", "actions_price_per_minute")
    try:
        price = DEFAULT_PRICE_PER_MINUTE if price_text is None else float(price_text)
    except ValueError:
        raise ConfigError(
            f"GHCAPTURE_ACTIONS_PRICE_PER_MINUTE must be a number, got {price_text!r}"
        ) from None
    if not 0 <= price < 10:
        raise ConfigError(
            f"GHCAPTURE_ACTIONS_PRICE_PER_MINUTE must be between 0 and 10 USD, got {price_text}"
        )
    chunk_text = pick("GHCAPTURE_ACTIONS_PRS_PER_CHUNK", "actions_prs_per_chunk")
    try:
        prs_per_chunk = DEFAULT_PRS_PER_CHUNK if chunk_text is None else int(chunk_text)
    except ValueError:
        raise ConfigError(
            f"GHCAPTURE_ACTIONS_PRS_PER_CHUNK must be a whole number, got {chunk_text!r}"
        ) from None
    if prs_per_chunk < 1:
        raise ConfigError("GHCAPTURE_ACTIONS_PRS_PER_CHUNK must be at least 1")
    database_url = pick("GHCAPTURE_ACTIONS_DATABASE_URL", "actions_database_url")
    if database_url is None and repository is not None:
        # The runners write where we read; a PostgreSQL database of our own is the natural default.
        own = (base or load_settings(env)).database_url
        if not own.startswith("sqlite"):
            database_url = own
    if database_url is not None:
        check_runner_database_url(database_url)
    return ActionsSettings(
        repository=repository,
        ref=pick("GHCAPTURE_ACTIONS_REF", "actions_ref") or DEFAULT_REF,
        token=pick("GHCAPTURE_ACTIONS_TOKEN", "actions_token"),
        database_url=database_url,
        webhook_secret=pick("GHCAPTURE_WEBHOOK_SECRET", "webhook_secret"),
        price_per_minute=price,
        prs_per_chunk=prs_per_chunk,
    )


def check_runner_database_url(url: str) -> None:
    """Refuses a URL runners on other machines cannot use: not a URL, or a SQLite file."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError("GHCAPTURE_ACTIONS_DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        raise ConfigError(
            "GHCAPTURE_ACTIONS_DATABASE_URL is a SQLite file, which Actions runners cannot reach; "
            "use PostgreSQL (postgresql://...)"
        )
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"GHCAPTURE_ACTIONS_DATABASE_URL: unsupported database {parsed.get_backend_name()!r}; use postgresql://"
        )
