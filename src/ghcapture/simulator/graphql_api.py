"""GitHub's GraphQL API over the simulator's model, executed by graphql-core against a subset of GitHub's
published schema (github/schema.graphql)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, assert_valid_schema, build_schema

from ghcapture.github.cost import SCHEMA_PATH
from ghcapture.simulator.generator import FILE_CAP
from ghcapture.simulator.model import (
    ChangedFile,
    Commit,
    IssueComment,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    User,
    format_time,
)
from ghcapture.simulator.world import World

WEB = "https://github.com"
REST_COMMIT_CAP = 250


@dataclass
class ExecutionContext:
    """Per-request state: the data, and the count of nodes the query touched (for simulated server time)."""

    world: World
    rate_limit: dict[str, Any] = field(default_factory=dict)
    nodes: int = 0
    prs: int = 0


class NotFound(GraphQLError):
    """GitHub's NOT_FOUND error: the field resolves to null and the error carries `type`."""

    github_type = "NOT_FOUND"


@dataclass(slots=True)
class PullRequestCommitNode:
    pull_request: PullRequest
    commit: Commit


@dataclass(slots=True)
class Connection:
    items: Sequence[Any]
    start: int
    end: int
    total: int | None = None  # a search's count of matches, which may exceed what it serves

    @property
    def page(self) -> Sequence[Any]:
        return self.items[self.start : self.end]


def cursor_for(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index_of(cursor: str, name: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith("cursor:v2:"):
            raise ValueError(text)
        return int(text[len("cursor:v2:") :])
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(items: Sequence[Any], args: dict[str, Any], info: GraphQLResolveInfo) -> Connection:
    """Relay pagination over a stable list, as GitHub applies it: after/before first, then first/last."""
    start, end = 0, len(items)
    if args.get("after") is not None:
        start = max(start, _index_of(args["after"], info.field_name) + 1)
    if args.get("before") is not None:
        end = min(end, _index_of(args["before"], info.field_name))
    end = max(start, end)
    if args.get("first") is not None:
        end = min(end, start + args["first"])
    if args.get("last") is not None:
        start = max(start, end - args["last"])
    ctx: ExecutionContext = info.context
    ctx.nodes += end - start
    return Connection(items, start, end)


def _actor(user: User | None) -> User | None:
    # GraphQL shows the deleted user as a null actor.
    return None if user is None or user.is_ghost else user


def _dt(value: datetime | None) -> str | None:
    return format_time(value)


def _repo_of(info: GraphQLResolveInfo, obj: Any) -> tuple[Repository, PullRequest]:
    ctx: ExecutionContext = info.context
    return ctx.world.parent(obj)


def _sorted_prs(repo: Repository, args: dict[str, Any]) -> list[PullRequest]:
    prs: list[PullRequest] = repo.pull_requests
    states = args.get("states")
    if states:
        wanted = set(states)
        prs = [p for p in prs if _pr_state(p) in wanted]
    if args.get("baseRefName"):
        prs = [p for p in prs if p.base_ref == args["baseRefName"]]
    if args.get("headRefName"):
        prs = [p for p in prs if p.head_ref == args["headRefName"]]
    order = args.get("orderBy")
    if order:
        key: Callable[[PullRequest], Any] = {
            "CREATED_AT": lambda p: (p.created_at, p.number),
            "UPDATED_AT": lambda p: (p.updated_at, p.number),
            "COMMENTS": lambda p: (len(p.issue_comments), p.number),
        }[order["field"]]
        prs = sorted(prs, key=key, reverse=order["direction"] == "DESC")
    return prs


def _pr_state(pr: PullRequest) -> str:
    if pr.merged:
        return "MERGED"
    return "OPEN" if pr.state == "open" else "CLOSED"


def _change_type(f: ChangedFile) -> str:
    return {
        "added": "ADDED",
        "removed": "DELETED",
        "modified": "MODIFIED",
        "renamed": "RENAMED",
        "copied": "COPIED",
        "changed": "CHANGED",
        "unchanged": "MODIFIED",
    }.get(f.status, "MODIFIED")


def _int32(value: int | None) -> int | None:
    # `databaseId` is a 32-bit Int; GitHub moved larger ids to `fullDatabaseId` (BigInt).
    return value if value is not None and value < 2**31 else None


def _user_url(u: User) -> str:
    return f"{WEB}/apps/{u.graphql_login}" if u.type == "Bot" else f"{WEB}/{u.login}"


def _commit_of(pr: PullRequest, sha: str) -> Commit | None:
    for c in pr.commits:
        if c.sha == sha:
            return c
    return None


def _resolve_query_repository(
    _root: Any, info: GraphQLResolveInfo, owner: str, name: str, **_: Any
) -> Repository:
    ctx: ExecutionContext = info.context
    repo = ctx.world.repository(owner, name)
    if repo is None:
        raise NotFound(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
    ctx.nodes += 1
    return repo


def _resolve_node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
    ctx: ExecutionContext = info.context
    obj = ctx.world.node(id)
    if obj is None:
        raise NotFound(f"Could not resolve to a node with the global id of '{id}'")
    ctx.nodes += 1
    return obj


def _resolve_nodes(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
    ctx: ExecutionContext = info.context
    if len(ids) > 100:
        raise GraphQLError(f"You may not request more than 100 node ids; you requested {len(ids)}.")
    found = [ctx.world.node(i) for i in ids]
    ctx.nodes += len(ids)
    return found


def _resolve_pull_request(repo: Repository, info: GraphQLResolveInfo, number: int) -> PullRequest:
    pr = repo.pull_request(number)
    if pr is None:
        raise NotFound(f"Could not resolve to a PullRequest with the number of {number}.")
    ctx: ExecutionContext = info.context
    ctx.nodes += 1
    return pr


def _resolve_search(_root: Any, info: GraphQLResolveInfo, query: str, type: str, **args: Any) -> Connection:  # noqa: A002
    from ghcapture.simulator.search import RESULT_CAP, search_pull_requests

    found = search_pull_requests(info.context.world, query) if type == "ISSUE" else []
    page = connection(found[:RESULT_CAP], args, info)
    page.total = len(found)
    info.context.prs += page.end - page.start
    return page


def _resolve_pull_requests(repo: Repository, info: GraphQLResolveInfo, **args: Any) -> Connection:
    page = connection(_sorted_prs(repo, args), args, info)
    info.context.prs += page.end - page.start
    return page


def _pr_url(info: GraphQLResolveInfo, pr: PullRequest) -> str:
    repo = _pr_repo(info, pr)
    return f"{WEB}/{repo.full_name}/pull/{pr.number}"


def _pr_repo(info: GraphQLResolveInfo, pr: PullRequest) -> Repository:
    ctx: ExecutionContext = info.context
    repo = ctx.world.repository_of(pr)
    return repo


def _type_name(obj: Any, *_: Any) -> str:
    if isinstance(obj, User):
        return obj.type
    return {
        Repository: "Repository",
        PullRequest: "PullRequest",
        Review: "PullRequestReview",
        ReviewComment: "PullRequestReviewComment",
        IssueComment: "IssueComment",
        Commit: "Commit",
        PullRequestCommitNode: "PullRequestCommit",
    }[type(obj)]


def _connection_fields() -> dict[str, Callable[..., Any]]:
    return {
        "edges": lambda c, _i: [(c.items[k], k) for k in range(c.start, c.end)],
        "nodes": lambda c, _i: c.page,
        "pageInfo": lambda c, _i: c,
        "totalCount": lambda c, _i: len(c.items),
    }


def _resolvers() -> dict[str, dict[str, Callable[..., Any]]]:
    user_fields: dict[str, Callable[..., Any]] = {
        "avatarUrl": lambda u, _i, size=None: (
            f"https://avatars.githubusercontent.com/u/{u.id}?v=4" + (f"&s={size}" if size else "")
        ),
        "createdAt": lambda u, _i: "2015-01-01T00:00:00Z",
        "databaseId": lambda u, _i: _int32(u.id),
        "id": lambda u, _i: u.node_id,
        "login": lambda u, _i: u.graphql_login,
        "name": lambda u, _i: u.name,
        "resourcePath": lambda u, _i: _user_url(u)[len(WEB) :],
        "url": lambda u, _i: _user_url(u),
    }
    edge = {"cursor": lambda e, _i: cursor_for(e[1]), "node": lambda e, _i: e[0]}
    resolvers: dict[str, dict[str, Callable[..., Any]]] = {
        "Query": {
            "id": lambda _r, _i: "MDU6UXVlcnk=",
            "repository": _resolve_query_repository,
            "search": _resolve_search,
            "node": _resolve_node,
            "nodes": _resolve_nodes,
            "rateLimit": lambda _r, info, dryRun=False: info.context.rate_limit,
            "user": lambda _r, info, login: info.context.world.user(login),
            "viewer": lambda _r, info: info.context.world.users_by_id[10137],
        },
        "User": user_fields,
        "Bot": user_fields,
        "Organization": user_fields,
        "Mannequin": user_fields,
        "RateLimit": {
            k: (lambda key: lambda rl, _i: rl[key])(k)
            for k in ("cost", "limit", "nodeCount", "remaining", "resetAt", "used")
        },
        "PageInfo": {
            "endCursor": lambda c, _i: cursor_for(c.end - 1) if c.end > c.start else None,
            "startCursor": lambda c, _i: cursor_for(c.start) if c.end > c.start else None,
            "hasNextPage": lambda c, _i: c.end < len(c.items),
            "hasPreviousPage": lambda c, _i: c.start > 0,
        },
        "Repository": {
            "createdAt": lambda r, _i: _dt(r.created_at),
            "databaseId": lambda r, _i: _int32(r.id),
            "defaultBranchRef": lambda r, _i: {
                "id": base64.b64encode(f"ref:{r.id}".encode()).decode(),
                "name": r.default_branch,
                "prefix": "refs/heads/",
            },
            "id": lambda r, _i: r.node_id,
            "isPrivate": lambda r, _i: r.private,
            "name": lambda r, _i: r.name,
            "nameWithOwner": lambda r, _i: r.full_name,
            "owner": lambda r, _i: r.owner,
            "pullRequest": _resolve_pull_request,
            "pullRequests": _resolve_pull_requests,
            "updatedAt": lambda r, _i: _dt(r.updated_at),
            "url": lambda r, _i: f"{WEB}/{r.full_name}",
        },
        "Ref": {k: (lambda key: lambda ref, _i: ref[key])(k) for k in ("id", "name", "prefix")},
        "PullRequest": {
            "additions": lambda p, _i: p.additions,
            "author": lambda p, _i: _actor(p.user),
            "baseRefName": lambda p, _i: p.base_ref,
            "baseRefOid": lambda p, _i: p.base_sha,
            "body": lambda p, _i: p.body or "",
            "changedFiles": lambda p, _i: p.changed_files,
            "closed": lambda p, _i: p.state == "closed",
            "closedAt": lambda p, _i: _dt(p.closed_at),
            "comments": lambda p, info, **a: connection(_ordered_comments(p.issue_comments, a), a, info),
            "commits": lambda p, info, **a: connection(_commit_nodes(p), a, info),
            "createdAt": lambda p, _i: _dt(p.created_at),
            "databaseId": lambda p, _i: _int32(p.id),
            "deletions": lambda p, _i: p.deletions,
            "files": lambda p, info, **a: connection(p.files[:FILE_CAP], a, info),
            "fullDatabaseId": lambda p, _i: str(p.id),
            "headRefName": lambda p, _i: p.head_ref,
            "headRefOid": lambda p, _i: p.head_sha,
            "id": lambda p, _i: p.node_id,
            "isDraft": lambda p, _i: p.draft,
            "merged": lambda p, _i: p.merged,
            "mergedAt": lambda p, _i: _dt(p.merged_at),
            "mergedBy": lambda p, _i: _actor(p.merged_by),
            "number": lambda p, _i: p.number,
            "permalink": lambda p, info: _pr_url(info, p),
            "repository": lambda p, info: _pr_repo(info, p),
            "resourcePath": lambda p, info: _pr_url(info, p)[len(WEB) :],
            "reviews": lambda p, info, **a: connection(_filtered_reviews(p.reviews, a), a, info),
            "state": lambda p, _i: _pr_state(p),
            "title": lambda p, _i: p.title,
            "updatedAt": lambda p, _i: _dt(p.updated_at),
            "url": lambda p, info: _pr_url(info, p),
        },
        "PullRequestReview": {
            "author": lambda r, _i: _actor(r.user),
            "body": lambda r, _i: r.body,
            "comments": lambda r, info, **a: connection(
                [c for c in _repo_of(info, r)[1].review_comments if c.review_id == r.id], a, info
            ),
            "commit": lambda r, info: _commit_of(_repo_of(info, r)[1], r.commit_id),
            "createdAt": lambda r, _i: _dt(r.submitted_at),
            "databaseId": lambda r, _i: _int32(r.id),
            "fullDatabaseId": lambda r, _i: str(r.id),
            "id": lambda r, _i: r.node_id,
            "pullRequest": lambda r, info: _repo_of(info, r)[1],
            "state": lambda r, _i: r.state,
            "submittedAt": lambda r, _i: _dt(r.submitted_at),
            "updatedAt": lambda r, _i: _dt(r.submitted_at),
            "url": lambda r, info: f"{_pr_url(info, _repo_of(info, r)[1])}#pullrequestreview-{r.id}",
        },
        "PullRequestReviewComment": {
            "author": lambda c, _i: _actor(c.user),
            "body": lambda c, _i: c.body,
            "commit": lambda c, info: _commit_of(_repo_of(info, c)[1], c.commit_id),
            "createdAt": lambda c, _i: _dt(c.created_at),
            "databaseId": lambda c, _i: _int32(c.id),
            "diffHunk": lambda c, _i: c.diff_hunk,
            "fullDatabaseId": lambda c, _i: str(c.id),
            "id": lambda c, _i: c.node_id,
            "line": lambda c, _i: c.line,
            "originalLine": lambda c, _i: c.original_line,
            "path": lambda c, _i: c.path,
            "pullRequest": lambda c, info: _repo_of(info, c)[1],
            "pullRequestReview": lambda c, info: next(
                (r for r in _repo_of(info, c)[1].reviews if r.id == c.review_id), None
            ),
            "replyTo": lambda c, info: (
                None
                if c.in_reply_to_id is None
                else next((x for x in _repo_of(info, c)[1].review_comments if x.id == c.in_reply_to_id), None)
            ),
            "updatedAt": lambda c, _i: _dt(c.updated_at),
            "url": lambda c, info: f"{_pr_url(info, _repo_of(info, c)[1])}#discussion_r{c.id}",
        },
        "IssueComment": {
            "author": lambda c, _i: _actor(c.user),
            "body": lambda c, _i: c.body,
            "createdAt": lambda c, _i: _dt(c.created_at),
            "databaseId": lambda c, _i: _int32(c.id),
            "fullDatabaseId": lambda c, _i: str(c.id),
            "id": lambda c, _i: c.node_id,
            "pullRequest": lambda c, info: _repo_of(info, c)[1],
            "updatedAt": lambda c, _i: _dt(c.updated_at),
            "url": lambda c, info: f"{_pr_url(info, _repo_of(info, c)[1])}#issuecomment-{c.id}",
        },
        "PullRequestChangedFile": {
            "additions": lambda f, _i: f.additions,
            "changeType": lambda f, _i: _change_type(f),
            "deletions": lambda f, _i: f.deletions,
            "path": lambda f, _i: f.filename,
        },
        "PullRequestCommit": {
            "commit": lambda n, _i: n.commit,
            "id": lambda n, _i: base64.b64encode(f"PRC:{n.pull_request.id}:{n.commit.sha}".encode()).decode(),
            "pullRequest": lambda n, _i: n.pull_request,
            "url": lambda n, info: f"{_pr_url(info, n.pull_request)}/commits/{n.commit.sha}",
        },
        "Commit": {
            "authoredDate": lambda c, _i: _dt(c.authored_at),
            "author": lambda c, _i: c,
            "committedDate": lambda c, _i: _dt(c.committed_at),
            "id": lambda c, _i: c.node_id,
            "message": lambda c, _i: c.message,
            "messageHeadline": lambda c, _i: c.message.splitlines()[0] if c.message else "",
            "oid": lambda c, _i: c.sha,
            "url": lambda c, info: f"{WEB}/commit/{c.sha}",
        },
        "GitActor": {
            "date": lambda c, _i: _dt(c.authored_at),
            "email": lambda c, _i: c.author_email,
            "name": lambda c, _i: c.author_name,
            "user": lambda c, _i: c.author if c.author is not None and c.author.type == "User" else None,
        },
    }
    for conn in (
        "PullRequest",
        "PullRequestReview",
        "PullRequestReviewComment",
        "IssueComment",
        "PullRequestChangedFile",
        "PullRequestCommit",
    ):
        resolvers[f"{conn}Connection"] = _connection_fields()
        resolvers[f"{conn}Edge"] = edge
    resolvers["SearchResultItemConnection"] = {
        **_connection_fields(),
        "issueCount": lambda c, _i: c.total if c.total is not None else len(c.items),
    }
    resolvers["SearchResultItemEdge"] = edge
    return resolvers


def _ordered_comments(comments: list[IssueComment], args: dict[str, Any]) -> Sequence[IssueComment]:
    order = args.get("orderBy")
    if not order:
        return comments
    return sorted(comments, key=lambda c: (c.updated_at, c.id), reverse=order["direction"] == "DESC")


def _filtered_reviews(reviews: list[Review], args: dict[str, Any]) -> Sequence[Review]:
    if args.get("states"):
        wanted = set(args["states"])
        reviews = [r for r in reviews if r.state in wanted]
    if args.get("author"):
        reviews = [r for r in reviews if r.user.graphql_login == args["author"]]
    return reviews


def _commit_nodes(pr: PullRequest) -> list[PullRequestCommitNode]:
    return [PullRequestCommitNode(pr, c) for c in pr.commits]


@cache
def simulator_schema() -> GraphQLSchema:
    """The simulator's schema with its resolvers bound."""
    schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))  # a fresh copy: resolvers are bound to it
    for type_name, fields in _resolvers().items():
        gtype = schema.type_map[type_name]
        for field_name, resolve in fields.items():
            if field_name in gtype.fields:  # type: ignore[attr-defined]
                gtype.fields[field_name].resolve = resolve  # type: ignore[attr-defined]
    for abstract in ("Node", "Actor", "RepositoryOwner", "SearchResultItem"):
        schema.type_map[abstract].resolve_type = _type_name  # type: ignore[attr-defined]
    assert_valid_schema(schema)
    return schema
