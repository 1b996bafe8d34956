"""GraphQL paging that adapts to GitHub's 10-second limit, and the query documents shipped with ghcapture."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, TypeVar

from ghcapture.errors import GhcaptureError
from ghcapture.github.errors import GraphQLTimeoutError

if TYPE_CHECKING:
    from ghcapture.github.http import GitHubClient

log = logging.getLogger("ghcapture.github")

T = TypeVar("T")

# GitHub's bounds for `first`/`last`.
MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 100
_QUERY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class AdaptivePageSize:
    """Page size per key (a repository): halved on a timeout, grown by half after a run of successes.

    A timeout at a size that has already worked in this run is taken first as an unlucky answer (GitHub's
    server time grows with the page, so a page too large times out every time): the same size is tried
    once more, and halved only if it times out again. What a later run starts from is the largest size
    that worked, not the smallest one tried."""

    def __init__(
        self,
        initial: int = 50,
        *,
        minimum: int = MIN_PAGE_SIZE,
        maximum: int = MAX_PAGE_SIZE,
        grow_after: int = 3,
        grow_factor: float = 1.5,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError("page size bounds must satisfy 1 <= minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self.initial = min(max(initial, minimum), maximum)
        self.grow_after = max(grow_after, 1)
        self.grow_factor = grow_factor
        self._sizes: dict[str, int] = {}
        self._successes: dict[str, int] = {}
        self._worked: dict[str, int] = {}
        self._strikes: dict[str, int] = {}

    def size(self, key: str) -> int:
        return self._sizes.get(key, self.initial)

    def remember(self, key: str, size: int) -> None:
        """Start `key` at a size that worked before (from an earlier run), within the bounds."""
        self._sizes[key] = min(max(size, self.minimum), self.maximum)

    def worked(self, key: str) -> int | None:
        """The largest page that succeeded for `key`, if any did."""
        return self._worked.get(key)

    def shrink(self, key: str, used: int | None = None) -> int:
        """A timeout of a page of `used` items (default: the key's size): halve the page for this key (not
        below the minimum) and restart the success count; at a size that has worked before, only at the
        second timeout in a row."""
        size = min(self.size(key), used or self.size(key))
        self._successes[key] = 0
        if size <= self._worked.get(key, 0) and not self._strikes.get(key):
            self._strikes[key] = 1
            return size
        self._strikes[key] = 0
        new = max(size // 2, self.minimum)
        self._sizes[key] = new
        return new

    def grow(self, key: str, used: int | None = None) -> int:
        """A success of a page of `used` items (default: the key's size): after `grow_after` in a row,
        grow the page by `grow_factor` (up to the maximum). A page cut shorter by its caller proves only
        its own size."""
        streak = self._successes.get(key, 0) + 1
        size = self.size(key)
        self._worked[key] = max(min(size, used or size), self._worked.get(key, 0))
        self._strikes[key] = 0
        if used is not None and used < size:
            return size
        if streak >= self.grow_after:
            # At least one more, so a page of 1 can grow at all; back up to a size that worked, doubling.
            best = self._worked[key]
            factor = 2.0 if size < best else self.grow_factor
            grown = max(int(size * factor), size + 1)
            size = min(min(grown, best) if size < best else grown, self.maximum)
            self._sizes[key] = size
            streak = 0
        self._successes[key] = streak
        return size


async def execute_paged(
    client: GitHubClient | None,
    key: str,
    run: Callable[[int], Awaitable[T]],
    *,
    pager: AdaptivePageSize,
    max_shrinks: int = 8,
    cap: int | None = None,
) -> T:
    """Call `run(page_size)`; on a GraphQL timeout shrink the page and call again. `cap` bounds the page
    (a small first page), and what it proves or disproves is of that size only.

    Gives up with the last timeout once the page is at its minimum and has still failed `max_shrinks` times.
    """
    failures_at_minimum = 0
    while True:
        size = min(pager.size(key), cap) if cap else pager.size(key)
        try:
            result = await run(size)
        except GraphQLTimeoutError as exc:
            if client is not None:
                client.stats.count("page_shrink")
            if size <= pager.minimum:
                failures_at_minimum += 1
                if failures_at_minimum >= max_shrinks:
                    raise
            new_size = pager.shrink(key, size)
            log.warning(
                "%s: GraphQL timeout at page size %d, retrying with %d (%s)", key, size, new_size, exc
            )
            continue
        pager.grow(key, size)
        return result


@cache
def load_query(name: str) -> str:
    """The text of src/ghcapture/github/queries/{name}.graphql."""
    if not _QUERY_NAME.match(name):
        raise GhcaptureError(f"not a GraphQL query name: {name!r}")
    stem = name.removesuffix(".graphql")
    document = resources.files("ghcapture.github").joinpath("queries", f"{stem}.graphql")
    try:
        return document.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GhcaptureError(f"no GraphQL query named {stem!r} in ghcapture/github/queries") from None
