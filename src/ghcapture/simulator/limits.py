"""Primary and secondary rate limits, fault injection and the counters behind /_simulator/stats."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = (
    "502",
    "504",
    "502-html",
    "something-went-wrong",
    "partial",
    "secondary",
    "reset",
    "slow",
    "malformed",
    "expired-token",
)
GRAPHQL_ONLY = {"something-went-wrong", "partial"}


@dataclass
class Budget:
    limit: int
    used: int = 0
    reset_at: float = 0.0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass
class LimitSettings:
    rest_budget: int = 5000
    graphql_budget: int = 5000
    anonymous_budget: int = 60
    window: float = 3600.0  # the primary window; tests shrink it so nobody waits an hour
    concurrent_requests: int = 100
    rest_points_per_minute: int = 900
    graphql_points_per_minute: int = 2000

    @property
    def minute(self) -> float:
        """The secondary-limit minute, scaled with the primary window."""
        return 60.0 * self.window / 3600.0


class RateLimits:
    """Budgets per token and resource ("core", "graphql"), and GitHub's secondary limits."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._minute_points: dict[tuple[str, str], deque[tuple[float, int]]] = defaultdict(deque)
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()

    def budget(self, token: str, resource: str) -> Budget:
        now = self.clock()
        key = (token, resource)
        budget = self._budgets.get(key)
        if budget is None or now >= budget.reset_at:
            if token == "anonymous":
                limit = self.settings.anonymous_budget
            else:
                limit = self.settings.graphql_budget if resource == "graphql" else self.settings.rest_budget
            budget = Budget(limit=limit, reset_at=math.ceil(now + self.settings.window))
            self._budgets[key] = budget
        return budget

    def charge(self, token: str, resource: str, cost: int) -> tuple[bool, Budget]:
        """Spend `cost` if the budget has it; (False, budget) when it would go below zero."""
        with self._lock:
            budget = self.budget(token, resource)
            if budget.remaining < cost or (budget.remaining == 0 and cost == 0):
                return False, budget
            budget.used += cost
            return True, budget

    def secondary_points(self, token: str, api: str, points: int) -> float | None:
        """Seconds to wait when this request would pass the points-per-minute limit, else None."""
        limit = (
            self.settings.graphql_points_per_minute
            if api == "graphql"
            else self.settings.rest_points_per_minute
        )
        now = self.clock()
        window = self._minute_points[(token, api)]
        with self._lock:
            while window and window[0][0] <= now - self.settings.minute:
                window.popleft()
            spent = sum(p for _t, p in window)
            if spent + points > limit:
                return max(1.0, window[0][0] + self.settings.minute - now) if window else 1.0
            window.append((now, points))
        return None

    def enter(self, token: str) -> bool:
        with self._lock:
            if self._in_flight[token] >= self.settings.concurrent_requests:
                return False
            self._in_flight[token] += 1
            return True

    def leave(self, token: str) -> None:
        with self._lock:
            self._in_flight[token] -= 1


@dataclass
class FaultPlan:
    """Faults by rate and kind, plus a queue of faults to serve next (for tests that need one exact fault)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    slow_seconds: float = 3.0
    queued: deque[tuple[str, str | None]] = field(default_factory=deque)  # (kind, api or None for any)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(
                f"unknown fault kinds: {', '.join(sorted(unknown))} (known: {', '.join(FAULT_KINDS)})"
            )
        self._rng = random.Random(self.seed)

    def queue(self, kind: str, api: str | None = None, count: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        for _ in range(count):
            self.queued.append((kind, api))

    def next_fault(self, api: str) -> str | None:
        for index, (kind, wanted) in enumerate(self.queued):
            if wanted in (None, api) and (api == "graphql" or kind not in GRAPHQL_ONLY):
                del self.queued[index]
                return kind
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        choices = [k for k in self.kinds if api == "graphql" or k not in GRAPHQL_ONLY]
        return self._rng.choice(choices) if choices else None


@dataclass
class Stats:
    """What the simulator served; benchmarks read their figures from here."""

    requests: Counter[str] = field(default_factory=Counter)  # by api: rest, graphql, app, actions
    endpoints: Counter[str] = field(default_factory=Counter)  # "GET /repos/{owner}/{repo}/pulls"
    graphql_points: int = 0
    rest_charged: int = 0
    graphql_nodes: int = 0
    graphql_prs: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    limits: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "endpoints": dict(self.endpoints),
            "graphql_points": self.graphql_points,
            "rest_requests_charged": self.rest_charged,
            "graphql_nodes": self.graphql_nodes,
            "graphql_pull_requests": self.graphql_prs,
            "faults": dict(self.faults),
            "limits_hit": dict(self.limits),
            "budget_units": self.graphql_points + self.rest_charged,
        }

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]
