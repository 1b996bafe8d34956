"""GitHub's search syntax for pull requests, as far as the capture uses it: `repo:`, `is:pr`, `is:open`,
`is:closed`, `is:merged`, `updated:` and `created:` ranges, `sort:`, and free words in titles."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ghcapture.simulator.model import PullRequest
from ghcapture.simulator.world import World

RESULT_CAP = 1000  # GitHub serves at most 1,000 results of a search, whatever the count


def _moment(text: str, *, end: bool) -> datetime | None:
    if text == "*":
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if end and len(text) == 10:  # a bare date covers its whole day
        value = value.replace(hour=23, minute=59, second=59)
    return value


def _range(text: str) -> Callable[[datetime], bool]:
    """`A..B` (inclusive), `>=A`, `>A`, `<=A`, `<A`, or a day `A`."""
    if ".." in text:
        low_text, high_text = text.split("..", 1)
        low, high = _moment(low_text, end=False), _moment(high_text, end=True)
        return lambda t: (low is None or t >= low) and (high is None or t <= high)
    match = re.fullmatch(r"(>=|<=|>|<)(.+)", text)
    if match:
        op, when = match.group(1), _moment(match.group(2), end=match.group(1) in ("<=", ">"))
        assert when is not None
        return {
            ">=": lambda t: t >= when,
            ">": lambda t: t > when,
            "<=": lambda t: t <= when,
            "<": lambda t: t < when,
        }[op]
    day_start, day_end = _moment(text, end=False), _moment(text, end=True)
    assert day_start is not None and day_end is not None
    return lambda t: day_start <= t <= day_end


def search_pull_requests(world: World, query: str) -> list[PullRequest]:
    """Pull requests matching `query`, in the order its `sort:` asks (default: newest first)."""
    filters: list[Callable[[PullRequest], bool]] = []
    repos = []
    words = []
    order = "created-desc"
    for token in query.split():
        qualifier, _, value = token.partition(":")
        try:
            key = qualifier
            if key == "repo" and "/" in value:
                repos.append(value.lower())
            elif key in ("is", "type") and value in ("pr", "pull-request"):
                continue
            elif key in ("is", "type") and value == "issue":
                return []  # the simulator holds pull requests only
            elif key == "is" and value in ("open", "closed"):
                filters.append(_state_is(value))
            elif key == "is" and value == "merged":
                filters.append(lambda p: p.merged)
            elif key in ("updated", "created"):
                filters.append(_time_in(key, _range(value)))
            elif key == "sort":
                order = value
            else:
                words.append(token.lower())
        except ValueError:
            return []  # GitHub answers an unparsable qualifier with no results
    candidates = [
        pr
        for repo in world.unique_repositories
        if not repos or repo.full_name.lower() in repos
        for pr in repo.pull_requests
    ]
    found = [p for p in candidates if all(f(p) for f in filters) and all(w in p.title.lower() for w in words)]
    field, _, direction = order.partition("-")
    orders: dict[str, Callable[[PullRequest], tuple[Any, int]]] = {
        "updated": lambda p: (p.updated_at, p.id),
        "created": lambda p: (p.created_at, p.id),
        "comments": lambda p: (len(p.issue_comments), p.id),
    }
    return sorted(found, key=orders.get(field, orders["created"]), reverse=direction != "asc")


def _state_is(state: str) -> Callable[[PullRequest], bool]:
    return lambda p: p.state == state


def _time_in(qualifier: str, matches: Callable[[datetime], bool]) -> Callable[[PullRequest], bool]:
    if qualifier == "updated":
        return lambda p: matches(p.updated_at)
    return lambda p: matches(p.created_at)
