"""What the database holds for a repository against GitHub's own counts: its pull-request total, and per
pull request its reviews (and how many of them are dismissed), issue comments, files and commits.

GitHub's `totalCount`s come a page of 100 pull requests per query (a connection asked for its count only
is not paginated: about one point per 100 pull requests), so a repository is checked for a few points.
A file list GitHub cut at 3,000 files is counted as truncated, not as a difference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from ghcapture.capture.engine import estimate_points
from ghcapture.capture.scope import parse_repository
from ghcapture.errors import GhcaptureError
from ghcapture.github.graphql import AdaptivePageSize, execute_paged
from ghcapture.github.http import GitHubClient
from ghcapture.store.tables import comments, pr_commits, pr_files, pull_requests, repositories, reviews

COUNTS_QUERY = """
query PullRequestCounts($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost limit remaining used resetAt nodeCount }
  repository(owner: $owner, name: $name) {
    databaseId
    nameWithOwner
    pullRequests(first: $first, after: $after, orderBy: {field: CREATED_AT, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        number
        changedFiles
        reviews { totalCount }
        dismissed: reviews(states: [DISMISSED]) { totalCount }
        comments { totalCount }
        commits { totalCount }
      }
    }
  }
}
"""

# What is compared per pull request: GitHub's count (field of a node) and the held count's name.
PER_PULL_REQUEST = ("reviews", "dismissed reviews", "issue comments", "files", "commits")


class NotCaptured(GhcaptureError):
    """The repository has never been captured into this database."""


@dataclass
class Difference:
    number: int | None  # None: the repository's pull-request total
    what: str
    github: int
    held: int


@dataclass
class Audit:
    repository: str
    github_pull_requests: int = 0
    held_pull_requests: int = 0
    truncated: list[int] = field(default_factory=list)  # PRs whose file list GitHub cut
    differences: list[Difference] = field(default_factory=list)
    points_used: int = 0
    rest_requests: int = 0

    @property
    def numbers(self) -> list[int]:
        """The pull requests that differ (to capture again)."""
        return sorted({d.number for d in self.differences if d.number is not None})

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "numbers": self.numbers, "equal": not self.differences}


def _held_counts(engine: Engine, repository_id: int) -> dict[int, dict[str, Any]]:
    """Per held PR number: its live counts, `changed_files` and whether its file list is truncated."""
    held: dict[int, dict[str, Any]] = {}
    by_id: dict[int, int] = {}
    with engine.connect() as conn:
        for pr_id, number, changed, truncated in conn.execute(
            select(
                pull_requests.c.github_id,
                pull_requests.c.number,
                pull_requests.c.changed_files,
                pull_requests.c.files_truncated,
            ).where(pull_requests.c.repository_id == repository_id)
        ):
            by_id[pr_id] = number
            held[number] = {
                "changed_files": changed,
                "truncated": bool(truncated),
                **dict.fromkeys(PER_PULL_REQUEST, 0),
            }
        ids = select(pull_requests.c.github_id).where(pull_requests.c.repository_id == repository_id)
        for what, table, *live in (
            ("reviews", reviews),
            ("dismissed reviews", reviews, reviews.c.state == "DISMISSED"),
            ("issue comments", comments, comments.c.kind == "issue_comment", comments.c.deleted_at.is_(None)),
            ("files", pr_files),
            ("commits", pr_commits),
        ):
            query = (
                select(table.c.pull_request_id, func.count())
                .where(table.c.pull_request_id.in_(ids.scalar_subquery()), *live)
                .group_by(table.c.pull_request_id)
            )
            for pr_id, count in conn.execute(query):
                held[by_id[pr_id]][what] = int(count)
    return held


async def audit_repository(client: GitHubClient, engine: Engine, repository: str) -> Audit:
    """Compares what `engine` holds for `repository` (OWNER/NAME) with GitHub's counts."""
    owner, name = parse_repository(repository)
    with engine.connect() as conn:
        row = conn.execute(
            select(repositories.c.github_id, repositories.c.full_name).where(
                func.lower(repositories.c.full_name) == f"{owner}/{name}".lower()
            )
        ).first()
    if row is None:
        raise NotCaptured(
            f"{owner}/{name} is not in the database; capture it first (ghcapture capture prs {owner}/{name})"
        )
    held = _held_counts(engine, int(row.github_id))
    audit = Audit(repository=row.full_name, held_pull_requests=len(held))
    pager = AdaptivePageSize(initial=100, maximum=100)
    seen: set[int] = set()
    after: str | None = None
    while True:

        async def fetch(size: int, after: str | None = after) -> dict[str, Any]:
            variables = {"owner": owner, "name": name, "first": size, "after": after}
            return await client.graphql(
                COUNTS_QUERY, variables, estimated_cost=estimate_points(COUNTS_QUERY, variables, None)
            )

        data = await execute_paged(client, f"{row.full_name}:counts", fetch, pager=pager)
        connection = data["repository"]["pullRequests"]
        audit.repository = data["repository"]["nameWithOwner"]
        audit.github_pull_requests = connection["totalCount"]
        for node in connection["nodes"]:
            seen.add(node["number"])
            _compare(audit, node, held.get(node["number"]))
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    if audit.github_pull_requests != audit.held_pull_requests:
        audit.differences.insert(
            0, Difference(None, "pull requests", audit.github_pull_requests, audit.held_pull_requests)
        )
    audit.points_used = client.stats.graphql_points
    audit.rest_requests = client.stats.rest_requests
    return audit


def _compare(audit: Audit, node: dict[str, Any], held: dict[str, Any] | None) -> None:
    number = node["number"]
    github = {
        "reviews": node["reviews"]["totalCount"],
        "dismissed reviews": node["dismissed"]["totalCount"],
        "issue comments": node["comments"]["totalCount"],
        "files": node["changedFiles"],
        "commits": node["commits"]["totalCount"],
    }
    if held is None:
        audit.differences.append(Difference(number, "pull request", 1, 0))
        return
    if held["truncated"] and held["files"] < github["files"]:
        audit.truncated.append(number)
        github["files"] = held["files"]  # GitHub lists no more than what is held
    for what in PER_PULL_REQUEST:
        if github[what] != held[what]:
            audit.differences.append(Difference(number, what, github[what], held[what]))
