"""The rate-limit samples table: what GitHub said of each budget, written at most once a sampling interval
per budget and resource (and at each new window), and pruned by age."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert
from sqlalchemy.exc import SQLAlchemyError

from ghcapture.store.tables import rate_limit_samples, utc_now

log = logging.getLogger("ghcapture.store")

DEFAULT_EVERY = timedelta(seconds=60)
DEFAULT_KEEP = timedelta(days=7)
# Pruning is a DELETE over an index; once an hour per process is plenty.
PRUNE_EVERY = timedelta(hours=1)
# After a failed write, readings are only kept in memory this long: a database that is down must not cost
# the capture a connection timeout on every response.
PAUSE_AFTER_FAILURE = timedelta(seconds=30)


@dataclass(frozen=True)
class Sample:
    """One reading of one budget's resource."""

    limit: int
    remaining: int
    used: int
    reset_at: datetime


def record_sample(
    connection: Connection, budget: str, resource: str, sample: Sample, sampled_at: datetime
) -> None:
    connection.execute(
        insert(rate_limit_samples).values(
            budget=budget,
            resource=resource,
            limit=sample.limit,
            remaining=sample.remaining,
            used=sample.used,
            reset_at=sample.reset_at,
            sampled_at=sampled_at,
        )
    )


def prune_samples(connection: Connection, older_than: datetime) -> int:
    """Delete the samples taken before `older_than`; returns how many went."""
    result = connection.execute(
        delete(rate_limit_samples).where(rate_limit_samples.c.sampled_at < older_than)
    )
    return int(result.rowcount or 0)


class RateLimitSampler:
    """Keeps what one process hears of one budget: the first reading of each resource, then one per
    interval, one whenever the window resets, and the last one on `flush`. A failed write is logged once
    and never stops the work that spends the budget."""

    def __init__(
        self,
        engine: Engine,
        budget: str,
        *,
        every: timedelta = DEFAULT_EVERY,
        keep: timedelta = DEFAULT_KEEP,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.budget = budget
        self.every = every
        self.keep = keep
        self.clock = clock
        self.written = 0
        self._last_written: dict[str, tuple[datetime, Sample]] = {}
        self._pending: dict[str, Sample] = {}
        self._pruned_at: datetime | None = None
        self._failing = False
        self._paused_until: datetime | None = None

    def observe(self, resource: str, sample: Sample) -> None:
        now = self.clock()
        if self._paused_until is not None and now < self._paused_until:
            self._pending[resource] = sample
            return
        last = self._last_written.get(resource)
        due = (
            last is None
            or now - last[0] >= self.every
            # A new window: the reading before the reset and the first after it are both worth keeping.
            or abs((sample.reset_at - last[1].reset_at).total_seconds()) > 1
        )
        self._pending[resource] = sample
        if due:
            self._write(dict(self._pending), now)

    def flush(self) -> None:
        """Write the latest reading of each resource not written yet (at the end of a run)."""
        if self._pending:
            self._write(dict(self._pending), self.clock())

    def _write(self, samples: dict[str, Sample], now: datetime) -> None:
        try:
            with self.engine.begin() as connection:
                for resource, sample in samples.items():
                    record_sample(connection, self.budget, resource, sample, now)
                if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                    prune_samples(connection, now - self.keep)
                    self._pruned_at = now
        except SQLAlchemyError as exc:
            if not self._failing:  # one line per outage, not one per response
                reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
                log.warning("rate-limit samples not recorded: %s", reason)
            self._failing = True
            self._paused_until = now + PAUSE_AFTER_FAILURE
            return
        self._failing = False
        self._paused_until = None
        self.written += len(samples)
        for resource, sample in samples.items():
            self._last_written[resource] = (now, sample)
            self._pending.pop(resource, None)
