"""How long GitHub takes to answer: the server time of each request, in simulated milliseconds.

The realistic profile is calibrated from published measurements of api.github.com:

- REST: 10,000 requests observed by bl.ocks.org (mbostock's "Gist API Latency",
  https://gist.github.com/mbostock/5503544) were log-normal, mode 120-140 ms, median 206 ms, the middle 80%
  between 114 and 527 ms, 5% over one second; listings were clearly slower than single objects.
- GraphQL: GitHub stops a query after 10 s ("Timeouts", docs.github.com/en/graphql/overview/
  rate-limits-and-node-limits-for-the-graphql-api). Pages of pull requests that ask for `files` make
  GitHub compute each PR's diff: getsentry/sentry#122671 found pages of about 50 such PRs over the limit and
  settled on 25; entrius/gittensor#1093 saw `first: 100` fail with 502 on every cycle and 50 usually pass;
  apache/devlake#3708 saw 30 PRs x 100 commits (3,000 nodes) fail now and then. A diff costs about 150 ms of
  server time at the median and other nodes about 2.5 ms each, with the REST spread around both.

Time is drawn from a seeded generator, so a run is repeatable; `scale` turns simulated time into real
seconds slept (a compressed clock for demos and tests).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field

# GitHub ends a request after 10 s of server time.
SERVER_TIMEOUT_MS = 10_000.0


@dataclass
class ServerTime:
    """Server time per request, log-normal around a median that grows with the work a request does."""

    rest_median_ms: float = 206.0
    rest_sigma: float = 0.6  # ln(527 / 206) / 1.28: the 90th percentile of the published sample
    rest_per_item_ms: float = 2.0  # listings are slower than single objects, by what they render
    rest_diff_ms: float = 150.0  # a PR's file listing computes its diff, as GraphQL's `files` does
    graphql_median_ms: float = 150.0
    graphql_per_node_ms: float = 2.5
    graphql_diff_ms: float = 150.0
    graphql_sigma: float = 0.35  # one query's work varies less than the spread of all REST endpoints
    tail_rate: float = 0.01  # a heavy tail: one request in a hundred takes several times longer
    tail_factor: float = 4.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _spread(self, median_ms: float, sigma: float) -> float:
        with self._lock:
            value = median_ms * math.exp(self._rng.gauss(0.0, sigma))
            if self._rng.random() < self.tail_rate:
                value *= self.tail_factor * (1.0 + self._rng.random())
        return value

    def rest_ms(self, items: int = 0, diffs: int = 0) -> float:
        """One REST answer: `items` objects rendered, `diffs` pull-request diffs computed."""
        median = self.rest_median_ms + items * self.rest_per_item_ms + diffs * self.rest_diff_ms
        return self._spread(median, self.rest_sigma)

    def graphql_ms(self, nodes: int, diffs: int = 0) -> float:
        """One GraphQL query that touched `nodes` nodes and computed `diffs` pull-request diffs."""
        median = self.graphql_median_ms + nodes * self.graphql_per_node_ms + diffs * self.graphql_diff_ms
        return self._spread(median, self.graphql_sigma)


@dataclass
class LinearServerTime(ServerTime):
    """Deterministic time: a fixed number of milliseconds per GraphQL node and nothing else (tests)."""

    per_node_ms: float = 0.0

    def rest_ms(self, items: int = 0, diffs: int = 0) -> float:
        return 0.0

    def graphql_ms(self, nodes: int, diffs: int = 0) -> float:
        return nodes * self.per_node_ms
