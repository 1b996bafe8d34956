"""HybridRouter: which lane a capture request runs in, and why, in words a person understands.

Recent, small work runs at once on the local engine (the realtime lane); old data, large batches,
background triggers and large repositories go to the bulk lane: GitHub Actions when it is configured,
otherwise the local engine's bulk queue. `route` is a pure function of the request, the repository's
facts and the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Engine, make_url, select
from sqlalchemy.exc import ArgumentError

from ghcapture.errors import InputError
from ghcapture.jobs.model import BULK, GITHUB_ACTIONS, LANES, LOCAL, REALTIME

BACKGROUND_TRIGGERS = ("scheduled", "background")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


@dataclass(frozen=True)
class CaptureRequest:
    """What was asked: a repository, a kind and a scope; who asked (trigger), and any lane chosen by hand."""

    repository: str
    kind: str = "prs"
    days: int | None = None
    since: datetime | None = None
    pr_numbers: tuple[int, ...] = ()
    max_items: int | None = None
    trigger: str = "manual"
    lane: str | None = None  # a manual override

    def __post_init__(self) -> None:
        if self.lane is not None and self.lane not in LANES:
            raise InputError(f"--lane: {self.lane!r} is not one of {', '.join(LANES)}")

    @property
    def is_everything(self) -> bool:
        return not (self.days or self.since or self.pr_numbers)

    def params(self) -> dict[str, object]:
        """The job row's params: what a worker needs to run this request again."""
        params: dict[str, object] = {}
        if self.days is not None:
            params["days"] = self.days
        if self.since is not None:
            params["since"] = self.since.isoformat()
        if self.pr_numbers:
            params["pr_numbers"] = list(self.pr_numbers)
        if self.max_items is not None:
            params["max_items"] = self.max_items
        return params


@dataclass(frozen=True)
class RepositoryFacts:
    """What is known of the repository before the capture: GitHub's PR total and the last watermark."""

    github_pr_total: int | None = None
    watermark: datetime | None = None


@dataclass(frozen=True)
class RouterConfig:
    realtime_max_days: float = 1.0
    realtime_max_items: int = 50
    realtime_max_repo_prs: int = 1000
    bulk_triggers: tuple[str, ...] = BACKGROUND_TRIGGERS
    actions_repository: str | None = None
    actions_database_url: str | None = field(default=None, repr=False)
    github_api_url: str | None = None  # where workflows are dispatched; a local one has local runners

    def bulk_lane_gap(self) -> str | None:
        """Why GitHub Actions cannot take bulk work, or None when it can."""
        if not self.actions_repository:
            return "GHCAPTURE_ACTIONS_REPOSITORY is not set"
        if not self.actions_database_url:
            return "GHCAPTURE_ACTIONS_DATABASE_URL is not set"
        try:
            url = make_url(self.actions_database_url)
        except (ArgumentError, ValueError):
            return "GHCAPTURE_ACTIONS_DATABASE_URL is not a database URL"
        if url.get_backend_name() == "sqlite":
            return "the database is a local SQLite file that Actions runners cannot reach"
        if (url.host or "") in _LOCAL_HOSTS and not self.runners_are_local:
            return "the database is on localhost, which Actions runners cannot reach"
        return None

    @property
    def runners_are_local(self) -> bool:
        """True when GITHUB_API_URL is on this machine (a simulator), whose runners reach localhost too."""
        if not self.github_api_url:
            return False
        host = urlsplit(self.github_api_url).hostname
        return host is not None and host in _LOCAL_HOSTS


@dataclass(frozen=True)
class Route:
    lane: str  # realtime | bulk
    processor: str  # local | github_actions
    reason: str


def _days_text(days: float) -> str:
    whole = int(days) if float(days).is_integer() else days
    return f"{whole} day" if whole == 1 else f"{whole} days"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


class HybridRouter:
    def __init__(self, config: RouterConfig | None = None) -> None:
        self.config = config or RouterConfig()

    def bulk_reasons(self, request: CaptureRequest, facts: RepositoryFacts, now: datetime) -> list[str]:
        """Every rule that sends this request to the bulk lane, each as a phrase."""
        cfg = self.config
        reasons: list[str] = []
        limit_text = _days_text(cfg.realtime_max_days).replace(" days", "-day").replace(" day", "-day")
        if request.days is not None and request.days > cfg.realtime_max_days:
            reasons.append(f"{_days_text(request.days)} requested, over the {limit_text} realtime limit")
        since = request.since
        if since is None and request.is_everything:
            since = facts.watermark
            if since is None:
                reasons.append("all history requested (the first capture of this repository)")
        if since is not None:
            age = now - since
            if age > timedelta(days=cfg.realtime_max_days):
                what = "changes since the last capture" if request.since is None else "data since"
                reasons.append(
                    f"{what} {since:%Y-%m-%d %H:%M} UTC ({_age_text(age)} old), "
                    f"over the {limit_text} realtime limit"
                )
        items = len(request.pr_numbers) if request.pr_numbers else request.max_items
        if items is not None and items > cfg.realtime_max_items:
            reasons.append(
                f"{_plural(items, 'pull request')} requested, "
                f"over the {cfg.realtime_max_items}-item realtime limit"
            )
        if request.trigger in cfg.bulk_triggers:
            reasons.append(f"a {request.trigger} trigger runs in the background")
        total = facts.github_pr_total
        # An explicit list of PR numbers is bounded by the batch rule, whatever the repository's size.
        if not request.pr_numbers and total is not None and total > cfg.realtime_max_repo_prs:
            reasons.append(
                f"{request.repository} has {_plural(total, 'pull request')} on GitHub, "
                f"over the {cfg.realtime_max_repo_prs:,} realtime limit"
            )
        return reasons

    def route(
        self, request: CaptureRequest, facts: RepositoryFacts | None = None, *, now: datetime | None = None
    ) -> Route:
        facts = facts or RepositoryFacts()
        now = now or datetime.now(UTC)
        reasons = self.bulk_reasons(request, facts, now)
        if request.lane == REALTIME:
            would = f" (the rules said bulk: {'; '.join(reasons)})" if reasons else ""
            return Route(REALTIME, LOCAL, f"realtime: chosen with --lane{would}")
        if request.lane == BULK:
            return self._bulk("chosen with --lane")
        if reasons:
            return self._bulk("; ".join(reasons))
        return Route(
            REALTIME, LOCAL, f"realtime: {self._scope_text(request, facts)}, within the realtime limits"
        )

    def _bulk(self, why: str) -> Route:
        gap = self.config.bulk_lane_gap()
        if gap is None:
            return Route(
                BULK,
                GITHUB_ACTIONS,
                f"bulk: {why}; runs on GitHub Actions ({self.config.actions_repository})",
            )
        return Route(BULK, LOCAL, f"bulk: {why}; runs on the local engine's bulk queue because {gap}")

    @staticmethod
    def _scope_text(request: CaptureRequest, facts: RepositoryFacts) -> str:
        if request.pr_numbers:
            scope = _plural(len(request.pr_numbers), "pull request")
        elif request.days is not None:
            scope = f"the last {_days_text(request.days)}"
        elif request.since is not None:
            scope = f"changes since {request.since:%Y-%m-%d %H:%M} UTC"
        else:
            scope = "changes since the last capture"
        if request.max_items is not None and not request.pr_numbers:
            scope += f" (at most {_plural(request.max_items, 'pull request')})"
        if facts.github_pr_total is not None and not request.pr_numbers:
            scope += f" of a repository with {_plural(facts.github_pr_total, 'pull request')}"
        return scope


def _age_text(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{age.days} days"


def repository_facts(engine: Engine, repository: str, kind: str = "prs") -> RepositoryFacts:
    """The stored facts: GitHub's PR total from the last capture and the watermark of 'everything'."""
    from ghcapture.store.checkpoints import load_checkpoint
    from ghcapture.store.tables import repositories

    with engine.connect() as conn:
        row = conn.execute(
            select(repositories.c.github_pr_total).where(repositories.c.full_name == repository)
        ).first()
        checkpoint = load_checkpoint(conn, repository, "pull_requests", "all")
    return RepositoryFacts(
        github_pr_total=row.github_pr_total if row else None,
        watermark=checkpoint.watermark if checkpoint else None,
    )
