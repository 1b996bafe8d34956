"""RateLimitMonitor: what is left of each GitHub budget, and how long to wait before spending more."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghcapture.config import Settings

log = logging.getLogger("ghcapture.github")

CORE = "core"
GRAPHQL = "graphql"

# GitHub's rule for a secondary limit without retry-after: wait at least a minute, then back off.
SECONDARY_BASE_WAIT = 60.0
SECONDARY_MAX_WAIT = 15 * 60.0
# A capture never drives a shared budget below this share of its limit.
DEFAULT_RESERVE_FRACTION = 0.02
# Added after a reset time, since GitHub's clock and ours differ by up to a second.
RESET_MARGIN = 1.0


@dataclass
class RateLimitBudget:
    """One of GitHub's rate-limit pools (x-ratelimit-* headers, or GraphQL's rateLimit)."""

    limit: int
    remaining: int
    used: int
    reset_at: float  # epoch seconds


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


# Told of every budget GitHub reports, with its resource name; how the caller keeps it is its own affair.
BudgetObserver = Callable[[str, RateLimitBudget], None]


def budget_name(settings: Settings, installation_id: str | None = None) -> str:
    """Which budget the credentials spend (GHCAPTURE_BUDGET_NAME, else an App installation, else a token by
    a short digest, so the name never reveals it); `installation_id` is one found after the settings."""
    chosen = settings.extra.get("budget_name")
    if chosen:
        return str(chosen)
    if settings.uses_app:
        return (
            f"app{settings.github_app_id}-{settings.github_app_installation_id or installation_id or 'any'}"
        )
    if settings.github_token:
        return "token-" + hashlib.sha256(settings.github_token.encode()).hexdigest()[:10]
    return "anonymous"


def parse_reset_at(value: str) -> float:
    """GraphQL's resetAt (ISO-8601, usually with Z) as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class RateLimitMonitor:
    """Budgets per resource ("core" for REST, "graphql"), owed waits, and the reserve a capture leaves."""

    def __init__(
        self,
        *,
        reserve_fraction: float = DEFAULT_RESERVE_FRACTION,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        secondary_max_wait: float = SECONDARY_MAX_WAIT,
        secondary_base_wait: float = SECONDARY_BASE_WAIT,
    ) -> None:
        if not 0 <= reserve_fraction < 1:
            raise ValueError("reserve_fraction must be in [0, 1)")
        self.reserve_fraction = reserve_fraction
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.secondary_max_wait = secondary_max_wait
        # GitHub's "at least one minute"; only a simulator on a compressed clock may shorten it.
        self.secondary_base_wait = secondary_base_wait
        self.budgets: dict[str, RateLimitBudget] = {}
        self.owed_until: dict[str, float] = {}
        self.secondary_strikes: dict[str, int] = {}
        self.waits = 0
        self.waited_seconds = 0.0
        self.observers: list[BudgetObserver] = []

    # -- what GitHub told us ------------------------------------------------------------------

    def observe_headers(self, headers: Mapping[str, str]) -> RateLimitBudget | None:
        """Update a budget from x-ratelimit-limit/-remaining/-used/-reset/-resource."""
        limit = _header_int(headers, "x-ratelimit-limit")
        remaining = _header_int(headers, "x-ratelimit-remaining")
        if limit is None or remaining is None:
            return None
        resource = headers.get("x-ratelimit-resource") or CORE
        used = _header_int(headers, "x-ratelimit-used")
        reset = _header_int(headers, "x-ratelimit-reset")
        budget = RateLimitBudget(
            limit=limit,
            remaining=remaining,
            used=used if used is not None else max(limit - remaining, 0),
            reset_at=float(reset) if reset is not None else self.clock() + 3600,
        )
        self.budgets[resource] = budget
        self._tell(resource, budget)
        return budget

    def observe_graphql(self, rate_limit: Mapping[str, Any]) -> RateLimitBudget | None:
        """Update the GraphQL budget from `rateLimit { cost limit remaining used resetAt nodeCount }`."""
        try:
            limit = int(rate_limit["limit"])
            remaining = int(rate_limit["remaining"])
        except (KeyError, TypeError, ValueError):
            return None
        reset_at_text = rate_limit.get("resetAt")
        try:
            reset_at = parse_reset_at(reset_at_text) if reset_at_text else self.clock() + 3600
        except (TypeError, ValueError):
            reset_at = self.clock() + 3600
        used = rate_limit.get("used")
        budget = RateLimitBudget(
            limit=limit,
            remaining=remaining,
            used=int(used) if used is not None else max(limit - remaining, 0),
            reset_at=reset_at,
        )
        self.budgets[GRAPHQL] = budget
        self._tell(GRAPHQL, budget)
        return budget

    def _tell(self, resource: str, budget: RateLimitBudget) -> None:
        # A copy: `acquire` counts spending into the live budget before GitHub confirms it.
        said = RateLimitBudget(budget.limit, budget.remaining, budget.used, budget.reset_at)
        for observer in list(self.observers):
            try:
                observer(resource, said)
            except Exception as exc:  # an observer's trouble never stops a request
                log.warning("rate-limit observer failed: %s", type(exc).__name__)

    def note_success(self, resource: str) -> None:
        """A request went through: the next secondary limit starts the back-off afresh."""
        self.secondary_strikes.pop(resource, None)

    # -- waits owed -----------------------------------------------------------------------------

    def _owe(self, resource: str, seconds: float, reason: str) -> float:
        until = self.clock() + max(seconds, 0.0)
        if until > self.owed_until.get(resource, 0.0):
            self.owed_until[resource] = until
        log.warning("rate limit (%s) on %s: waiting %.0f s", reason, resource, max(seconds, 0.0))
        return seconds

    def note_retry_after(self, resource: str, seconds: float) -> float:
        """GitHub said retry-after: no request on this resource before that many seconds."""
        return self._owe(resource, seconds, "retry-after")

    def note_primary_limit(self, resource: str) -> float:
        """The budget is spent (remaining 0, or GraphQL RATE_LIMITED): wait until it resets."""
        now = self.clock()
        budget = self.budgets.get(resource)
        if budget is not None:
            budget.remaining = 0
        if budget is not None and budget.reset_at > now:
            return self._owe(resource, budget.reset_at - now + RESET_MARGIN, "budget spent")
        # The reset time is unknown or already past: GitHub's rule says at least a minute.
        return self._owe(resource, self.secondary_base_wait, "budget spent, reset unknown")

    def note_secondary_limit(self, resource: str, retry_after: float | None) -> float:
        """GitHub's rule: retry-after if given; else the reset when remaining is 0; else 60 s, doubling."""
        strikes = self.secondary_strikes.get(resource, 0) + 1
        self.secondary_strikes[resource] = strikes
        if retry_after is not None:
            return self._owe(resource, retry_after, "retry-after")
        now = self.clock()
        budget = self.budgets.get(resource)
        if budget is not None and budget.remaining <= 0 and budget.reset_at > now:
            return self._owe(resource, budget.reset_at - now + RESET_MARGIN, "budget spent")
        backoff = min(self.secondary_base_wait * 2 ** (strikes - 1), self.secondary_max_wait)
        # Jitter only lengthens the wait, so GitHub's minimum holds.
        wait = min(backoff * (1 + 0.1 * self.rng.random()), self.secondary_max_wait)
        return self._owe(resource, max(wait, self.secondary_base_wait), f"secondary, strike {strikes}")

    # -- spending -------------------------------------------------------------------------------

    def _reserve(self, budget: RateLimitBudget) -> float:
        return budget.limit * self.reserve_fraction

    async def acquire(self, resource: str, cost: int = 1) -> None:
        """Return once `cost` units of `resource` may be spent: no wait owed, the reserve kept."""
        while True:
            now = self.clock()
            owed = self.owed_until.get(resource, 0.0)
            if now < owed:
                await self._wait(resource, owed - now)
                continue
            budget = self.budgets.get(resource)
            if budget is None:
                return
            if budget.reset_at <= now and budget.remaining < budget.limit:
                # The window has rolled over since GitHub last told us; assume a full budget until it says.
                budget.remaining = budget.limit
                budget.used = 0
                budget.reset_at = now + 3600
            fresh = budget.remaining >= budget.limit
            if budget.remaining - cost < self._reserve(budget) and not fresh:
                log.warning(
                    "%s budget at %d of %d (reserve %.0f): waiting for its reset",
                    resource,
                    budget.remaining,
                    budget.limit,
                    self._reserve(budget),
                )
                self.owed_until[resource] = budget.reset_at + RESET_MARGIN
                continue
            # Counted now, so concurrent callers do not all spend the same last units.
            budget.remaining -= cost
            budget.used += cost
            return

    async def _wait(self, resource: str, seconds: float) -> None:
        self.waits += 1
        self.waited_seconds += seconds
        await self.sleep(seconds)

    def snapshot(self) -> dict[str, dict[str, float | int | None]]:
        """Per resource: limit, remaining, used, reset_at, owed_until (None where GitHub has not said)."""
        out: dict[str, dict[str, float | int | None]] = {}
        for resource in sorted({CORE, GRAPHQL, *self.budgets}):
            budget = self.budgets.get(resource)
            out[resource] = {
                "limit": budget.limit if budget else None,
                "remaining": budget.remaining if budget else None,
                "used": budget.used if budget else None,
                "reset_at": budget.reset_at if budget else None,
                "owed_until": self.owed_until.get(resource),
            }
        return out
