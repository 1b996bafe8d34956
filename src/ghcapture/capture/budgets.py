"""What GitHub says of the budgets a capture spends, kept in the store's rate-limit samples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from ghcapture.github.http import GitHubClient
from ghcapture.github.ratelimit import RateLimitBudget
from ghcapture.store.rate_limit_samples import DEFAULT_EVERY, DEFAULT_KEEP, RateLimitSampler, Sample


def sampler_for(client: GitHubClient, engine: Engine) -> RateLimitSampler:
    """A sampler of the client's budget, with the interval and retention the settings give."""
    extra = client.settings.extra
    every = extra.get("rate_limit_sample_seconds")
    keep = extra.get("rate_limit_samples_keep_days")
    return RateLimitSampler(
        engine,
        client.budget_name,
        every=DEFAULT_EVERY if every is None else timedelta(seconds=float(every)),
        keep=DEFAULT_KEEP if keep is None else timedelta(days=float(keep)),
    )


@contextmanager
def sampling_budgets(client: GitHubClient, engine: Engine) -> Iterator[RateLimitSampler]:
    """Record every budget the client hears of while the block runs, and the last readings at its end."""
    sampler = sampler_for(client, engine)

    def observe(resource: str, budget: RateLimitBudget) -> None:
        reset_at = datetime.fromtimestamp(budget.reset_at, UTC)
        sampler.observe(resource, Sample(budget.limit, budget.remaining, budget.used, reset_at))

    client.monitor.observers.append(observe)
    try:
        yield sampler
    finally:
        client.monitor.observers.remove(observe)
        sampler.flush()
