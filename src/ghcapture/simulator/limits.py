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
    "secondary-429",
    "reset",
    "headers-only",
    "slow",
    "malformed",
    "expired-token",
    "graphql-rate-limit",
    "deep-page",
    "moved",
)
GRAPHQL_ONLY = {"something-went-wrong", "partial", "graphql-rate-limit"}
REST_ONLY = {"deep-page"}
# Renaming a repository mid-run is drawn only when asked for by name: the default mix never renames one.
ON_REQUEST_ONLY = {"moved"}
DEFAULT_KINDS = tuple(k for k in FAULT_KINDS if k not in ON_REQUEST_ONLY)

# GitHub's secondary-limit points: "Most REST API GET, HEAD, and OPTIONS requests: 1; most POST, PATCH, PUT
# or DELETE requests: 5; GraphQL requests without mutations: 1; with mutations: 5"
# (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#calculating-points-for-the-
# secondary-rate-limit).
SECONDARY_POINTS_GET = 1
SECONDARY_POINTS_WRITE = 5


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
    """GitHub's limits. Durations are real seconds; `window` scales every one of GitHub's minutes too."""

    rest_budget: int | None = None  # None: GitHub's size for the principal (5,000; installations scale)
    graphql_budget: int | None = None
    anonymous_budget: int = 60
    search_per_minute: int = 30  # "30 requests per minute" for authenticated search (10 anonymous)
    anonymous_search_per_minute: int = 10
    window: float = 3600.0  # the primary window; tests and compressed clocks shrink it
    concurrent_requests: int = 100
    rest_points_per_minute: int = 900
    graphql_points_per_minute: int = 2000
    # "No more than 90 seconds of CPU time per 60 seconds of real time ... No more than 60 seconds of this CPU
    # time may be for the GraphQL API." Server time stands for CPU time.
    cpu_ms_per_minute: float = 90_000.0
    graphql_cpu_ms_per_minute: float = 60_000.0
    # An installation's budget: 5,000 an hour, plus 50 per repository over 20 and 50 per user over 20, at
    # most 12,500 (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
    # #primary-rate-limit-for-github-app-installations; the GraphQL page states the same rule).
    installation_repositories: int | None = None  # None: every repository the simulator holds
    installation_users: int = 0

    @property
    def minute(self) -> float:
        """The secondary-limit minute, scaled with the primary window."""
        return 60.0 * self.window / 3600.0

    @property
    def scale(self) -> float:
        """Real seconds per simulated second of GitHub's clock."""
        return self.window / 3600.0


def installation_limit(repositories: int, users: int) -> int:
    return min(12_500, 5_000 + 50 * max(0, repositories - 20) + 50 * max(0, users - 20))


class RateLimits:
    """Budgets per principal (a user, an App installation, an address) and resource ("core", "graphql",
    "search"), and GitHub's secondary limits per principal."""

    def __init__(
        self,
        settings: LimitSettings,
        clock: Callable[[], float] = time.time,
        repositories: Callable[[], int] = lambda: 1,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.repositories = repositories
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._minute_points: dict[tuple[str, str], deque[tuple[float, float]]] = defaultdict(deque)
        self._in_flight: Counter[str] = Counter()
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def limit_for(self, principal: str, resource: str) -> int:
        s = self.settings
        anonymous = principal.startswith("anonymous")
        if resource == "search":
            return s.anonymous_search_per_minute if anonymous else s.search_per_minute
        if anonymous:
            return s.anonymous_budget
        configured = s.graphql_budget if resource == "graphql" else s.rest_budget
        if configured is not None:
            return configured
        if principal.startswith("installation:"):
            repos = s.installation_repositories
            return installation_limit(self.repositories() if repos is None else repos, s.installation_users)
        return 5_000

    def budget(self, principal: str, resource: str) -> Budget:
        now = self.clock()
        key = (principal, resource)
        budget = self._budgets.get(key)
        if budget is None or now >= budget.reset_at:
            # Search's budget is a minute's; the others an hour's.
            window = self.settings.minute if resource == "search" else self.settings.window
            budget = Budget(limit=self.limit_for(principal, resource), reset_at=math.ceil(now + window))
            self._budgets[key] = budget
        return budget

    def charge(self, principal: str, resource: str, cost: int) -> tuple[bool, Budget]:
        """Spend `cost` if the budget has it; (False, budget) when it would go below zero."""
        with self._lock:
            budget = self.budget(principal, resource)
            if budget.remaining < cost or (budget.remaining == 0 and cost == 0):
                return False, budget
            budget.used += cost
            return True, budget

    def exhaust(self, principal: str, resource: str, seconds: float) -> Budget:
        """The budget is spent until `seconds` from now (an injected primary limit)."""
        with self._lock:
            budget = self.budget(principal, resource)
            budget.used = budget.limit
            budget.reset_at = math.ceil(self.clock() + seconds)
            return budget

    def _spent_this_minute(
        self, key: tuple[str, str], now: float
    ) -> tuple[deque[tuple[float, float]], float]:
        window = self._minute_points[key]
        while window and window[0][0] <= now - self.settings.minute:
            window.popleft()
        return window, sum(p for _t, p in window)

    def _minute_wait(self, window: deque[tuple[float, float]], now: float) -> float:
        return max(1.0 * self.settings.scale, window[0][0] + self.settings.minute - now) if window else 1.0

    def secondary_points(self, principal: str, api: str, points: int) -> float | None:
        """Seconds to wait when this request would pass the points-per-minute limit, else None."""
        limit = (
            self.settings.graphql_points_per_minute
            if api == "graphql"
            else self.settings.rest_points_per_minute
        )
        now = self.clock()
        with self._lock:
            window, spent = self._spent_this_minute((principal, api), now)
            if spent + points > limit:
                return self._minute_wait(window, now)
            window.append((now, points))
        return None

    def cpu_wait(self, principal: str, api: str) -> float | None:
        """Seconds to wait when the principal's server time this minute is over GitHub's CPU limit."""
        now = self.clock()
        with self._lock:
            total_window, total = self._spent_this_minute((principal, "cpu"), now)
            graphql_window, graphql = self._spent_this_minute((principal, "cpu:graphql"), now)
            if total >= self.settings.cpu_ms_per_minute:
                return self._minute_wait(total_window, now)
            if api == "graphql" and graphql >= self.settings.graphql_cpu_ms_per_minute:
                return self._minute_wait(graphql_window, now)
        return None

    def spend_cpu(self, principal: str, api: str, server_ms: float) -> None:
        now = self.clock()
        with self._lock:
            self._minute_points[(principal, "cpu")].append((now, server_ms))
            if api == "graphql":
                self._minute_points[(principal, "cpu:graphql")].append((now, server_ms))

    def block(self, principal: str, seconds: float) -> None:
        """After a secondary limit the principal is refused for `seconds` (GitHub: "at least one minute")."""
        with self._lock:
            until = self.clock() + seconds
            self._blocked_until[principal] = max(self._blocked_until.get(principal, 0.0), until)

    def blocked_for(self, principal: str) -> float | None:
        left = self._blocked_until.get(principal, 0.0) - self.clock()
        return left if left > 0 else None

    def enter(self, principal: str) -> bool:
        with self._lock:
            if self._in_flight[principal] >= self.settings.concurrent_requests:
                return False
            self._in_flight[principal] += 1
            return True

    def leave(self, principal: str) -> None:
        with self._lock:
            self._in_flight[principal] -= 1


@dataclass
class FaultPlan:
    """Faults by rate and kind, plus a queue of faults to serve next (for tests that need one exact fault).

    Whether a request gets a fault and which kind it gets are drawn from separate generators, and a kind
    that cannot apply to a request (an expired token for a personal token, a GraphQL error on REST) is
    replaced by another kind that can: the share of faulty answers is the rate asked for.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = DEFAULT_KINDS
    seed: int = 0
    slow_seconds: float = 3.0
    queued: deque[tuple[str, str | None]] = field(default_factory=deque)  # (kind, api or None for any)
    _rng: random.Random = field(init=False, repr=False)
    _kind_rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(
                f"unknown fault kinds: {', '.join(sorted(unknown))} (known: {', '.join(FAULT_KINDS)})"
            )
        self._rng = random.Random(self.seed)
        self._kind_rng = random.Random(self.seed + 1)

    def queue(self, kind: str, api: str | None = None, count: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        for _ in range(count):
            self.queued.append((kind, api))

    @staticmethod
    def applies(kind: str, api: str, *, installation: bool, listing: bool, repository: bool = False) -> bool:
        if kind in GRAPHQL_ONLY and api != "graphql":
            return False
        if kind == "moved" and (api == "graphql" or not repository):
            return False
        if kind in REST_ONLY and (api == "graphql" or not listing):
            return False
        if kind == "expired-token" and not installation:
            return False  # personal tokens do not expire mid-run; installation tokens do, every hour
        return True

    def next_fault(
        self, api: str, *, installation: bool = False, listing: bool = False, repository: bool = False
    ) -> str | None:
        where = {"installation": installation, "listing": listing, "repository": repository}
        for index, (kind, wanted) in enumerate(self.queued):
            if wanted in (None, api) and self.applies(kind, api, **where):
                del self.queued[index]
                return kind
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        choices = [k for k in self.kinds if self.applies(k, api, **where)]
        return self._kind_rng.choice(choices) if choices else None


@dataclass
class Stats:
    """What the simulator served; benchmarks read their figures from here."""

    requests: Counter[str] = field(default_factory=Counter)  # by api: rest, graphql, app, actions
    endpoints: Counter[str] = field(default_factory=Counter)  # "GET /repos/{owner}/{repo}/pulls"
    graphql_points: int = 0
    rest_charged: int = 0
    search_charged: int = 0
    not_modified: int = 0  # 304 answers, which GitHub does not charge
    server_ms: float = 0.0  # simulated server time of every answer
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
            "search_requests_charged": self.search_charged,
            "not_modified": self.not_modified,
            "server_seconds": round(self.server_ms / 1000.0, 3),
            "graphql_nodes": self.graphql_nodes,
            "graphql_pull_requests": self.graphql_prs,
            "faults": dict(self.faults),
            "limits_hit": dict(self.limits),
            "budget_units": self.graphql_points + self.rest_charged,
        }

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]
