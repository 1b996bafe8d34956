"""GitHub's search syntax for pull requests, as far as the capture and its clients use it: `repo:`,
`is:pr`, `is:issue`, `is:open`, `is:closed`, `is:merged`, `is:unmerged`, `draft:`, `updated:`, `created:`,
`closed:` and `merged:` ranges, `sort:`, and free words in titles.

https://docs.github.com/search-github/searching-on-github/searching-issues-and-pull-requests
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ghcapture.simulator.model import PullRequest, Repository
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


@dataclass
class SearchQuery:
    """A parsed `q`: the repositories it names, its filters and words, and the order its `sort:` asks."""

    repos: list[str] = field(default_factory=list)
    filters: list[Callable[[PullRequest], bool]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    order: str | None = None  # `sort:` qualifier, e.g. "updated-asc"
    finds_nothing: bool = False  # `is:issue`, or an unparsable qualifier


def parse_query(query: str) -> SearchQuery:
    parsed = SearchQuery()
    for token in query.split():
        qualifier, _, value = token.partition(":")
        key = qualifier.lower()
        try:
            if key == "repo" and "/" in value:
                parsed.repos.append(value.lower())
            elif key in ("is", "type") and value in ("pr", "pull-request"):
                continue
            elif key in ("is", "type") and value == "issue":
                parsed.finds_nothing = True  # the simulator holds pull requests only
            elif key in ("is", "state") and value in ("open", "closed"):
                parsed.filters.append(_state_is(value))
            elif key == "is" and value == "merged":
                parsed.filters.append(lambda p: p.merged)
            elif key == "is" and value == "unmerged":
                parsed.filters.append(lambda p: p.state == "closed" and not p.merged)
            elif key == "draft" and value in ("true", "false"):
                parsed.filters.append(_draft_is(value == "true"))
            elif key in ("updated", "created", "closed", "merged"):
                parsed.filters.append(_time_in(key, _range(value)))
            elif key == "sort":
                parsed.order = value
            else:
                parsed.words.append(token.lower())
        except ValueError:
            parsed.finds_nothing = True  # GitHub answers an unparsable qualifier with no results
    return parsed


def unknown_repositories(world: World, query: SearchQuery) -> list[str]:
    """The `repo:` names of `query` that name no repository (GitHub refuses such a search with 422)."""
    return [name for name in query.repos if world.repository(*name.split("/", 1)) is None]


def search_pull_requests(
    world: World, query: str, *, sort: str | None = None, order: str = "desc"
) -> list[PullRequest]:
    """Pull requests matching `query`, ordered by `sort` and `order` when given (GitHub's REST parameters),
    else by the query's `sort:` qualifier, else newest first."""
    parsed = parse_query(query)
    if parsed.finds_nothing:
        return []
    held = {id(r): r for r in world.repositories.values()}.values()
    wanted = {r.lower() for r in parsed.repos}
    candidates = [
        pr
        for repo in held
        if not wanted or repo.full_name.lower() in wanted or _old_name_of(world, repo, wanted)
        for pr in repo.pull_requests
    ]
    found = [
        p
        for p in candidates
        if all(f(p) for f in parsed.filters) and all(w in p.title.lower() for w in parsed.words)
    ]
    if sort is not None:
        field_name, direction = sort, order
    else:
        field_name, _, direction = (parsed.order or "created-desc").partition("-")
    orders: dict[str, Callable[[PullRequest], tuple[Any, int]]] = {
        "updated": lambda p: (p.updated_at, p.id),
        "created": lambda p: (p.created_at, p.id),
        "comments": lambda p: (len(p.issue_comments), p.id),
    }
    return sorted(found, key=orders.get(field_name, orders["created"]), reverse=direction != "asc")


def _old_name_of(world: World, repo: Repository, names: set[str]) -> bool:
    return any(world.moved(*name.split("/", 1)) is repo for name in names)


def _draft_is(draft: bool) -> Callable[[PullRequest], bool]:
    return lambda p: p.draft == draft


def _state_is(state: str) -> Callable[[PullRequest], bool]:
    return lambda p: p.state == state


def _time_in(qualifier: str, matches: Callable[[datetime], bool]) -> Callable[[PullRequest], bool]:
    def moment(p: PullRequest) -> datetime | None:
        return {
            "updated": p.updated_at,
            "created": p.created_at,
            "closed": p.closed_at,
            "merged": p.merged_at,
        }[qualifier]

    return lambda p: (when := moment(p)) is not None and matches(when)
