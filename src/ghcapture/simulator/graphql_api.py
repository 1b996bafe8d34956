"""GitHub's GraphQL API over the simulator's model, executed by graphql-core against a subset of GitHub's
published schema (github/schema.graphql)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, assert_valid_schema, build_schema

from ghcapture.github.cost import SCHEMA_PATH
from ghcapture.simulator import rest_shapes
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
    legacy_node_id,
    modern_node_id,
    parse_time,
    review_threads,
    thread_node_id,
    visible_reviews,
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
    diffs: int = 0  # pull requests whose diff GitHub computed to list their files (the slow part)
    viewer: str | None = None  # the login the request is made as (it alone sees its pending reviews)


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
    stamp: str | None = None  # when each item happened, where an edge says so (ReactorEdge.reactedAt)

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


def _files(pr: PullRequest, info: GraphQLResolveInfo, args: dict[str, Any]) -> Connection:
    # GitHub's connection stops at 3,000 files, its totalCount too ("When there are more than 3k files, the
    # gql query returns only 3k, and that includes prInfo.files.totalCount", DefinitelyTyped/dt-mergebot#420);
    # `changedFiles` keeps the full count.
    info.context.diffs += 1
    return connection(pr.files[:FILE_CAP], args, info)


def _actor(user: User | None) -> User | None:
    # GraphQL shows the deleted user as a null actor.
    return None if user is None or user.is_ghost else user


def _dt(value: datetime | None) -> str | None:
    return format_time(value)


def _repo_of(info: GraphQLResolveInfo, obj: Any) -> tuple[Repository, PullRequest]:
    ctx: ExecutionContext = info.context
    return ctx.world.parent(obj)


def _sorted_prs(repo: Repository, args: dict[str, Any]) -> list[PullRequest]:
    states = args.get("states")
    where = None
    if states:
        wanted = frozenset(states)
        where = (f"states:{','.join(sorted(wanted))}", lambda p: _pr_state(p) in wanted)
    order = args.get("orderBy")
    if order:
        by = {"CREATED_AT": "created", "UPDATED_AT": "updated", "COMMENTS": "comments"}[order["field"]]
        prs = repo.ordered(by, descending=order["direction"] == "DESC", where=where)
    elif where is not None:
        prs = [p for p in repo.pull_requests if where[1](p)]
    else:
        prs = repo.pull_requests
    if args.get("baseRefName"):
        prs = [p for p in prs if p.base_ref == args["baseRefName"]]
    if args.get("headRefName"):
        prs = [p for p in prs if p.head_ref == args["headRefName"]]
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
    for c in [*pr.commits, *pr.former_commits]:
        if c.sha == sha:
            return c
    return None


# Derived values: what GitHub's GraphQL shows of a pull request, review or comment beyond the simulator's
# model. A recorded REST payload (`raw`) says it where it can; otherwise the value follows from the model,
# the same way every time, and agrees with what the REST shapes derive.

# GitHub lists every reaction group, in this order, whether or not anyone reacted
# (https://docs.github.com/graphql/reference/enums#reactioncontent); REST's rollup keys name the same eight.
REACTIONS = (
    ("THUMBS_UP", "+1"),
    ("THUMBS_DOWN", "-1"),
    ("LAUGH", "laugh"),
    ("HOORAY", "hooray"),
    ("CONFUSED", "confused"),
    ("HEART", "heart"),
    ("ROCKET", "rocket"),
    ("EYES", "eyes"),
)
# REST's `mergeable_state` and GraphQL's MergeStateStatus name the same states.
MERGE_STATES = {
    s.lower(): s for s in ("BEHIND", "BLOCKED", "CLEAN", "DIRTY", "DRAFT", "HAS_HOOKS", "UNSTABLE")
}
WRITERS = ("OWNER", "MEMBER", "COLLABORATOR")
CO_AUTHOR = re.compile(r"^co-authored-by:\s*(?P<name>.+?)\s*<(?P<email>[^>]+)>\s*$", re.I | re.M)


@dataclass(slots=True)
class ReactionGroupValue:
    content: str
    reactors: list[User]
    created_at: datetime | None


@dataclass(slots=True)
class GitActorValue:
    name: str | None
    email: str | None
    date: datetime | None
    user: User | None


@dataclass(slots=True)
class ThreadValue:
    pull_request: PullRequest
    comments: list[ReviewComment]

    @property
    def root(self) -> ReviewComment:
        return self.comments[0]


@dataclass(slots=True)
class ReviewRequestValue:
    pull_request: PullRequest
    reviewer: Any  # User or TeamValue


@dataclass(slots=True)
class TeamValue:
    data: dict[str, Any]
    organization: User


@dataclass(slots=True)
class LabelValue:
    data: dict[str, Any]
    repository: Repository


@dataclass(slots=True)
class MilestoneValue:
    data: dict[str, Any]
    repository: Repository


def _raw(obj: Any) -> dict[str, Any]:
    raw = getattr(obj, "raw", None)
    return raw if isinstance(raw, dict) else {}


def _association(obj: Any) -> str:
    # REST's author_association where recorded; else the model's, as the REST shapes show it.
    value = _raw(obj).get("author_association")
    return value if isinstance(value, str) else str(getattr(obj, "author_association", "CONTRIBUTOR"))


def _reaction_groups(info: GraphQLResolveInfo, subject: Any) -> list[ReactionGroupValue]:
    """GitHub's eight groups; the counts from the recorded REST `reactions` rollup (none for generated data),
    the reactors the world's people in a fixed order (the model records counts, not who reacted)."""
    counts = _raw(subject).get("reactions")
    counts = counts if isinstance(counts, dict) else {}
    ctx: ExecutionContext = info.context
    people = [u for _, u in sorted(ctx.world.users_by_id.items()) if not u.is_ghost and u.type == "User"]
    groups = []
    for content, key in REACTIONS:
        count = counts.get(key)
        wanted = count if isinstance(count, int) and count > 0 else 0
        start = (getattr(subject, "id", 0) or 0) % max(1, len(people))
        chosen = (people[start:] + people[:start])[:wanted]
        when = getattr(subject, "created_at", None) or getattr(subject, "submitted_at", None)
        groups.append(ReactionGroupValue(content, chosen, when if chosen else None))
    return groups


def _reactors(group: ReactionGroupValue, info: GraphQLResolveInfo, args: dict[str, Any]) -> Connection:
    page = connection(group.reactors, args, info)
    page.stamp = _dt(group.created_at)
    return page


def _user_from(info: GraphQLResolveInfo, data: Any) -> User | None:
    """A person a recorded payload names, as the world knows them (or as the payload describes them)."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) or not data.get("login"):
        return None
    ctx: ExecutionContext = info.context
    known = ctx.world.users_by_id.get(data["id"])
    if known is not None:
        return known
    kind = data.get("type") or "User"
    return User(
        id=data["id"],
        login=data["login"],
        node_id=data.get("node_id") or legacy_node_id(kind, data["id"]),
        type=kind,
        site_admin=bool(data.get("site_admin")),
        raw=data,
    )


def _users(info: GraphQLResolveInfo, payloads: Any) -> list[User]:
    found = [_user_from(info, d) for d in payloads] if isinstance(payloads, list) else []
    return [u for u in found if u is not None and u.type == "User" and not u.is_ghost]


def _labels(pr: PullRequest, repo: Repository) -> list[LabelValue]:
    labels = _raw(pr).get("labels")
    if not isinstance(labels, list):
        labels = [rest_shapes.label(x, repo, rest_shapes.RECORDED_API) for x in pr.labels]
    return [LabelValue(d, repo) for d in labels if isinstance(d, dict)]


def _repository_labels(repo: Repository, query: str | None) -> list[LabelValue]:
    seen: dict[str, LabelValue] = {}
    for pr in repo.pull_requests:
        for label in _labels(pr, repo):
            seen.setdefault(str(label.data.get("name", "")).lower(), label)
    found = [seen[k] for k in sorted(seen)]
    return [x for x in found if query.lower() in _label_key(x)] if query else found


def _label_key(label: LabelValue) -> str:
    return str(label.data.get("name", "")).lower()


def _milestone(pr: PullRequest, repo: Repository) -> MilestoneValue | None:
    data = _raw(pr).get("milestone")
    if data is None and pr.milestone is not None:
        data = rest_shapes.milestone(pr.milestone, repo, rest_shapes.RECORDED_API)
    return MilestoneValue(data, repo) if isinstance(data, dict) else None


def _review_requests(info: GraphQLResolveInfo, pr: PullRequest) -> list[ReviewRequestValue]:
    raw = _raw(pr)
    repo = _pr_repo(info, pr)
    if "requested_reviewers" in raw:
        people = [_user_from(info, d) for d in raw.get("requested_reviewers") or []]
    else:
        people = list(pr.requested_reviewers)
    reviewers: list[Any] = [u for u in people if u is not None]
    reviewers += [TeamValue(t, repo.owner) for t in raw.get("requested_teams") or [] if isinstance(t, dict)]
    return [ReviewRequestValue(pr, r) for r in reviewers]


def _mergeable(pr: PullRequest) -> str:
    raw = _raw(pr)
    if "mergeable" in raw:
        return {True: "MERGEABLE", False: "CONFLICTING"}.get(raw["mergeable"], "UNKNOWN")
    # GitHub computes mergeability for open pull requests only; a closed one reads UNKNOWN.
    return "MERGEABLE" if pr.state == "open" else "UNKNOWN"


def _merge_state_status(pr: PullRequest) -> str:
    recorded = _raw(pr).get("mergeable_state")
    if isinstance(recorded, str) and recorded in MERGE_STATES:
        return MERGE_STATES[recorded]
    if pr.state != "open":
        return "UNKNOWN"
    return "DRAFT" if pr.draft else "CLEAN"


def _latest_reviews(pr: PullRequest, opinionated: bool = False) -> list[Review]:
    """Each reviewer's latest submitted review (of those approving or requesting changes, if opinionated)."""
    latest: dict[int, Review] = {}
    for r in sorted(pr.reviews, key=lambda r: (r.submitted_at, r.id)):
        if r.state == "PENDING" or (opinionated and r.state not in ("APPROVED", "CHANGES_REQUESTED")):
            continue
        latest[r.user.id] = r
    return sorted(latest.values(), key=lambda r: (r.submitted_at, r.id))


def _review_decision(pr: PullRequest) -> str:
    # As for a repository whose protected base branch requires an approving review.
    states = {r.state for r in _latest_reviews(pr, opinionated=True)}
    if "CHANGES_REQUESTED" in states:
        return "CHANGES_REQUESTED"
    return "APPROVED" if "APPROVED" in states else "REVIEW_REQUIRED"


def _participants(pr: PullRequest) -> list[User]:
    people: dict[int, User] = {}
    reviewers = (r.user for r in visible_reviews(pr, None))  # a pending review takes no part yet
    everyone = [pr.user, *reviewers, *(c.user for c in pr.review_comments)]
    for person in [*everyone, *(c.user for c in pr.issue_comments)]:
        if person.type == "User" and not person.is_ghost:
            people.setdefault(person.id, person)
    return list(people.values())


def _threads(pr: PullRequest) -> list[ThreadValue]:
    return [ThreadValue(pr, comments) for comments in review_threads(pr)]


def _cross_repository(pr: PullRequest) -> bool:
    if pr.cross_repository:
        return True
    raw = _raw(pr)
    head = ((raw.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((raw.get("base") or {}).get("repo") or {}).get("full_name")
    return bool(head and base and head != base)


def _head_repository(info: GraphQLResolveInfo, pr: PullRequest) -> Repository | None:
    if pr.head_repo_deleted:
        return None
    if pr.head_fork is not None:
        return pr.head_fork
    if _cross_repository(pr):
        owner, _, name = str(_raw(pr)["head"]["repo"]["full_name"]).partition("/")
        ctx: ExecutionContext = info.context
        return ctx.world.repository(owner, name)
    return _pr_repo(info, pr)


def _head_owner(info: GraphQLResolveInfo, pr: PullRequest) -> User | None:
    repo = _head_repository(info, pr)
    if repo is not None:
        return repo.owner
    return None if pr.head_repo_deleted else _user_from(info, (_raw(pr).get("head") or {}).get("user"))


def _ref(repo: Repository, name: str) -> dict[str, str]:
    ref_id = base64.b64encode(f"ref:{repo.id}:{name}".encode()).decode()
    return {"id": ref_id, "name": name, "prefix": "refs/heads/"}


def _git_actor(c: Commit, role: str) -> GitActorValue:
    recorded = (_raw(c).get("commit") or {}).get(role)
    if role == "committer" and isinstance(recorded, dict):
        when = parse_time(recorded.get("date"))
        return GitActorValue(recorded.get("name"), recorded.get("email"), when, None)
    when = c.authored_at if role == "author" else c.committed_at
    return GitActorValue(c.author_name, c.author_email, when, c.author)


def _authors(c: Commit) -> list[GitActorValue]:
    """The commit's author, then its co-authors from `Co-authored-by:` trailers, as GitHub lists them
    (https://docs.github.com/pull-requests/committing-changes-to-your-project/creating-and-editing-commits/creating-a-commit-with-multiple-authors)."""
    authors = [_git_actor(c, "author")]
    seen = {(c.author_email or "").lower()}
    for m in CO_AUTHOR.finditer(c.message or ""):
        if m["email"].lower() not in seen:
            seen.add(m["email"].lower())
            authors.append(GitActorValue(m["name"], m["email"], c.authored_at, None))
    return authors


def _commit_path(info: GraphQLResolveInfo, c: Commit) -> str:
    return f"/{_repo_of(info, c)[0].full_name}/commit/{c.sha}"


def _avatar(u: User, size: int | None) -> str:
    return f"https://avatars.githubusercontent.com/u/{u.id}?v=4" + (f"&s={size}" if size else "")


def _actor_avatar(a: GitActorValue, size: int | None) -> str:
    if a.user is not None:
        return _avatar(a.user, size)
    return f"https://avatars.githubusercontent.com/u/e?email={a.email or ''}" + (f"&s={size}" if size else "")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _resolve_issue(repo: Repository, _info: GraphQLResolveInfo, number: int) -> None:
    # The model holds a repository's pull requests, not its issues; a pull request's number is no issue's.
    raise NotFound(f"Could not resolve to an Issue with the number of {number}.")


def _resolve_issue_or_pull_request(repo: Repository, info: GraphQLResolveInfo, number: int) -> PullRequest:
    pr = repo.pull_request(number)
    if pr is None:
        raise NotFound(f"Could not resolve to an issue or pull request with the number of {number}.")
    ctx: ExecutionContext = info.context
    ctx.nodes += 1
    return pr


def _resolve_organization(_root: Any, info: GraphQLResolveInfo, login: str) -> User:
    found = info.context.world.user(login)
    if found is None or found.type != "Organization":
        raise NotFound(f"Could not resolve to an Organization with the login of '{login}'.")
    return found  # type: ignore[no-any-return]


def _resolve_user(_root: Any, info: GraphQLResolveInfo, login: str) -> User:
    found = info.context.world.user(login)
    if found is None or found.type != "User":
        raise NotFound(f"Could not resolve to a User with the login of '{login}'.")
    return found  # type: ignore[no-any-return]


def _resolve_repository_owner(_root: Any, info: GraphQLResolveInfo, login: str) -> User | None:
    found = info.context.world.user(login)
    return found if found is not None and found.type in ("User", "Organization") else None


def _resolve_query_repository(
    _root: Any,
    info: GraphQLResolveInfo,
    owner: str,
    name: str,
    followRenames: bool = True,  # noqa: N803
) -> Repository:
    """The repository by its name or, as `followRenames` (true by default) asks, by a name it had before a
    rename or transfer (https://docs.github.com/graphql/reference/queries#repository)."""
    ctx: ExecutionContext = info.context
    repo = ctx.world.repository(owner, name)
    moved = getattr(ctx.world, "moved", None)
    if repo is not None and not followRenames and moved is not None and moved(owner, name) is not None:
        repo = None
    if repo is None:
        raise NotFound(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
    ctx.nodes += 1
    return repo


def _visible(obj: Any, ctx: ExecutionContext) -> Any:
    """The object, or None for someone else's pending review (and what hangs off it)."""
    if isinstance(obj, Review) and obj.state == "PENDING" and obj.user.login != ctx.viewer:
        return None
    return obj


def _resolve_node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
    ctx: ExecutionContext = info.context
    obj = _visible(ctx.world.node(id), ctx)
    if obj is None:
        raise NotFound(f"Could not resolve to a node with the global id of '{id}'")
    ctx.nodes += 1
    return obj


def _resolve_nodes(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
    ctx: ExecutionContext = info.context
    if len(ids) > 100:
        raise GraphQLError(f"You may not request more than 100 node ids; you requested {len(ids)}.")
    found = [_visible(ctx.world.node(i), ctx) for i in ids]
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
        ThreadValue: "PullRequestReviewThread",
        ReviewRequestValue: "ReviewRequest",
        TeamValue: "Team",
        LabelValue: "Label",
        MilestoneValue: "Milestone",
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
        "avatarUrl": lambda u, _i, size=None: _avatar(u, size),
        "bio": lambda u, _i: _text(_raw(u).get("bio")),
        "company": lambda u, _i: _text(_raw(u).get("company")),
        "createdAt": lambda u, _i: _stamp(_raw(u), "created_at"),
        "description": lambda u, _i: _text(_raw(u).get("description")),
        # User.email is "" unless the user made an address public; Organization's and Mannequin's are null.
        "email": lambda u, _i: _text(_raw(u).get("email")) or ("" if u.type == "User" else None),
        "isHireable": lambda u, _i: bool(_raw(u).get("hireable")),
        "isSiteAdmin": lambda u, _i: u.site_admin,
        "location": lambda u, _i: _text(_raw(u).get("location")),
        "twitterUsername": lambda u, _i: _text(_raw(u).get("twitter_username")),
        "updatedAt": lambda u, _i: _stamp(_raw(u), "updated_at", "created_at"),
        "websiteUrl": lambda u, _i: _text(_raw(u).get("blog")),
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
            "organization": _resolve_organization,
            "repositoryOwner": _resolve_repository_owner,
            "user": _resolve_user,
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
            "description": lambda r, _i: _text(_raw(r).get("description")),
            "forkCount": lambda r, _i: int(_raw(r).get("forks_count") or 0),
            "hasIssuesEnabled": lambda r, _i: bool(_raw(r).get("has_issues", True)),
            "hasProjectsEnabled": lambda r, _i: bool(_raw(r).get("has_projects", True)),
            "hasWikiEnabled": lambda r, _i: bool(_raw(r).get("has_wiki", True)),
            "homepageUrl": lambda r, _i: _text(_raw(r).get("homepage")),
            "id": lambda r, _i: r.node_id,
            "isArchived": lambda r, _i: bool(_raw(r).get("archived")),
            "isDisabled": lambda r, _i: bool(_raw(r).get("disabled")),
            "isEmpty": lambda r, _i: False,
            "isFork": lambda r, _i: r.fork or bool(_raw(r).get("fork")),
            "isInOrganization": lambda r, _i: r.owner.type == "Organization",
            "isLocked": lambda r, _i: False,
            "isMirror": lambda r, _i: bool(_raw(r).get("mirror_url")),
            "isPrivate": lambda r, _i: r.private,
            "isTemplate": lambda r, _i: bool(_raw(r).get("is_template")),
            "issue": _resolve_issue,
            "issueOrPullRequest": _resolve_issue_or_pull_request,
            "issues": lambda r, info, **a: connection([], a, info),
            "labels": lambda r, info, query=None, **a: connection(_repository_labels(r, query), a, info),
            "milestone": lambda r, _i, number: _repository_milestone(r, number),
            "pushedAt": lambda r, _i: _raw(r).get("pushed_at") or _dt(r.updated_at),
            "resourcePath": lambda r, _i: f"/{r.full_name}",
            "stargazerCount": lambda r, _i: int(_raw(r).get("stargazers_count") or 0),
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
            "files": lambda p, info, **a: _files(p, info, a),
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
            "reviews": lambda p, info, **a: connection(
                _filtered_reviews(visible_reviews(p, info.context.viewer), a), a, info
            ),
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
            "committedDate": lambda c, _i: _dt(c.committed_at),
            "id": lambda c, _i: c.node_id,
            "message": lambda c, _i: c.message,
            "messageHeadline": lambda c, _i: c.message.splitlines()[0] if c.message else "",
            "oid": lambda c, _i: c.sha,
        },
    }
    for type_name, fields in _derived_resolvers().items():
        resolvers[type_name] = {**resolvers.get(type_name, {}), **fields}
    for conn in (
        "PullRequest",
        "PullRequestReview",
        "PullRequestReviewComment",
        "IssueComment",
        "PullRequestChangedFile",
        "PullRequestCommit",
        "GitActor",
        "User",
        "Label",
        "ReviewRequest",
        "PullRequestReviewThread",
        "Issue",
    ):
        resolvers[f"{conn}Connection"] = _connection_fields()
        resolvers[f"{conn}Edge"] = edge
    resolvers["SearchResultItemConnection"] = {
        **_connection_fields(),
        "issueCount": lambda c, _i: c.total if c.total is not None else len(c.items),
    }
    resolvers["SearchResultItemEdge"] = edge
    return resolvers


def _comment_fields(published: Callable[[Any], datetime | None]) -> dict[str, Callable[..., Any]]:
    """The Comment interface's fields the model has nothing for, the same on every kind of comment."""
    return {
        "authorAssociation": lambda c, _i: _association(c),
        "bodyText": lambda c, _i: c.body or "",
        "createdViaEmail": lambda c, _i: False,
        "editor": lambda c, _i: _actor(c.user) if getattr(c, "edited_at", None) else None,
        "includesCreatedEdit": lambda c, _i: False,
        "isMinimized": lambda c, _i: False,
        "lastEditedAt": lambda c, _i: _dt(getattr(c, "edited_at", None)),
        "minimizedReason": lambda c, _i: None,
        "publishedAt": lambda c, _i: _dt(published(c)),
        "reactionGroups": lambda c, info: _reaction_groups(info, c),
        "viewerDidAuthor": lambda c, _i: False,
    }


def _derived_resolvers() -> dict[str, dict[str, Callable[..., Any]]]:
    """Resolvers of the fields and types beyond the simulator's model (see the derived values above)."""
    thread = "PullRequestReviewThread"
    return {
        "PullRequest": {
            **_comment_fields(lambda p: p.created_at),
            "assignees": lambda p, info, **a: connection(
                _users(info, _raw(p)["assignees"]) if "assignees" in _raw(p) else p.assignees, a, info
            ),
            "baseRef": lambda p, info: _ref(_pr_repo(info, p), p.base_ref),
            "baseRepository": lambda p, info: _pr_repo(info, p),
            "headRef": lambda p, info: None if p.head_repo_deleted else _ref(_pr_repo(info, p), p.head_ref),
            "headRepository": lambda p, info: _head_repository(info, p),
            "headRepositoryOwner": lambda p, info: _head_owner(info, p),
            "isCrossRepository": lambda p, _i: _cross_repository(p),
            "labels": lambda p, info, **a: connection(_labels(p, _pr_repo(info, p)), a, info),
            "latestOpinionatedReviews": lambda p, info, writersOnly=False, **a: connection(
                [r for r in _latest_reviews(p, True) if not writersOnly or _association(r) in WRITERS],
                a,
                info,
            ),
            "latestReviews": lambda p, info, **a: connection(_latest_reviews(p), a, info),
            "locked": lambda p, _i: bool(_raw(p).get("locked")),
            "maintainerCanModify": lambda p, _i: bool(_raw(p).get("maintainer_can_modify")),
            "mergeStateStatus": lambda p, _i: _merge_state_status(p),
            "mergeable": lambda p, _i: _mergeable(p),
            "milestone": lambda p, info: _milestone(p, _pr_repo(info, p)),
            "participants": lambda p, info, **a: connection(_participants(p), a, info),
            "reviewDecision": lambda p, _i: _review_decision(p),
            "reviewRequests": lambda p, info, **a: connection(_review_requests(info, p), a, info),
            "reviewThreads": lambda p, info, **a: connection(_threads(p), a, info),
            "totalCommentsCount": lambda p, _i: len(p.issue_comments) + len(p.review_comments),
        },
        "PullRequestReview": {
            **_comment_fields(lambda r: r.submitted_at),
            "authorCanPushToRepository": lambda r, _i: _association(r) in WRITERS,
            "repository": lambda r, info: _repo_of(info, r)[0],
            "resourcePath": lambda r, info: _anchor(info, r, f"pullrequestreview-{r.id}"),
        },
        "PullRequestReviewComment": {
            **_comment_fields(lambda c: c.created_at),
            "draftedAt": lambda c, _i: _dt(c.created_at),
            "originalCommit": lambda c, info: _commit_of(
                _repo_of(info, c)[1], _raw(c).get("original_commit_id") or c.first_commit_id
            ),
            "originalPosition": lambda c, _i: _raw(c).get("original_position") or c.original_line or 1,
            "originalStartLine": lambda c, _i: _raw(c).get("original_start_line", c.original_start_line),
            # REST and GraphQL both leave `line` null on a comment the latest push moved out of the diff.
            "outdated": lambda c, _i: _outdated(c),
            "position": lambda c, _i: _raw(c).get("position", c.line),
            "repository": lambda c, info: _repo_of(info, c)[0],
            "resourcePath": lambda c, info: _anchor(info, c, f"discussion_r{c.id}"),
            "startLine": lambda c, _i: _raw(c).get("start_line", c.start_line),
            "state": lambda c, _i: "SUBMITTED",
            "subjectType": lambda c, _i: "FILE" if _subject_type(c) == "file" else "LINE",
        },
        "IssueComment": {
            **_comment_fields(lambda c: c.created_at),
            "repository": lambda c, info: _repo_of(info, c)[0],
            "resourcePath": lambda c, info: _anchor(info, c, f"issuecomment-{c.id}"),
        },
        thread: {
            "comments": lambda t, info, **a: connection(t.comments, a, info),
            "diffSide": lambda t, _i: "LEFT" if _raw(t.root).get("side", t.root.side) == "LEFT" else "RIGHT",
            "id": lambda t, _i: thread_node_id(t.pull_request, t.comments),
            "isCollapsed": lambda t, _i: t.root.resolved_by is not None,
            "isOutdated": lambda t, _i: _outdated(t.root),
            "isResolved": lambda t, _i: t.root.resolved_by is not None,
            "line": lambda t, _i: t.root.line,
            "originalLine": lambda t, _i: t.root.original_line,
            "originalStartLine": lambda t, _i: _raw(t.root).get(
                "original_start_line", t.root.original_start_line
            ),
            "path": lambda t, _i: t.root.path,
            "pullRequest": lambda t, _i: t.pull_request,
            "repository": lambda t, info: _pr_repo(info, t.pull_request),
            "resolvedBy": lambda t, _i: _actor(t.root.resolved_by),
            "startDiffSide": lambda t, _i: (
                None if t.root.start_line is None else ("LEFT" if t.root.side == "LEFT" else "RIGHT")
            ),
            "startLine": lambda t, _i: _raw(t.root).get("start_line", t.root.start_line),
            "subjectType": lambda t, _i: "FILE" if _subject_type(t.root) == "file" else "LINE",
            "viewerCanReply": lambda t, _i: False,
            "viewerCanResolve": lambda t, _i: False,
            "viewerCanUnresolve": lambda t, _i: False,
        },
        "ReviewRequest": {
            "asCodeOwner": lambda q, _i: False,
            "databaseId": lambda q, _i: None,
            "id": lambda q, _i: modern_node_id("RR", q.pull_request.id, _reviewer_id(q.reviewer)),
            "pullRequest": lambda q, _i: q.pull_request,
            "requestedReviewer": lambda q, _i: q.reviewer,
        },
        "Team": {
            "avatarUrl": lambda t, _i, size=None: None,
            "combinedSlug": lambda t, _i: f"{t.organization.login}/{t.data.get('slug')}",
            "createdAt": lambda t, _i: _stamp(t.data, "created_at"),
            "databaseId": lambda t, _i: _int32(t.data.get("id")),
            "description": lambda t, _i: _text(t.data.get("description")),
            "id": lambda t, _i: _data_node_id("Team", t.data),
            "name": lambda t, _i: t.data.get("name") or t.data.get("slug") or "",
            "organization": lambda t, _i: t.organization,
            "resourcePath": lambda t, _i: f"/orgs/{t.organization.login}/teams/{t.data.get('slug')}",
            "slug": lambda t, _i: t.data.get("slug") or "",
            "updatedAt": lambda t, _i: _stamp(t.data, "updated_at", "created_at"),
            "url": lambda t, _i: f"{WEB}/orgs/{t.organization.login}/teams/{t.data.get('slug')}",
        },
        "Label": {
            "color": lambda x, _i: x.data.get("color") or "ededed",
            "createdAt": lambda x, _i: x.data.get("created_at"),
            "description": lambda x, _i: _text(x.data.get("description")),
            "id": lambda x, _i: _data_node_id("Label", x.data),
            "isDefault": lambda x, _i: bool(x.data.get("default")),
            "name": lambda x, _i: x.data.get("name") or "",
            "repository": lambda x, _i: x.repository,
            "resourcePath": lambda x, _i: f"/{x.repository.full_name}/labels/{x.data.get('name')}",
            "updatedAt": lambda x, _i: x.data.get("updated_at"),
            "url": lambda x, _i: f"{WEB}/{x.repository.full_name}/labels/{x.data.get('name')}",
        },
        "Milestone": {
            "closed": lambda m, _i: m.data.get("state") == "closed",
            "closedAt": lambda m, _i: m.data.get("closed_at"),
            "createdAt": lambda m, _i: _stamp(m.data, "created_at"),
            "creator": lambda m, info: _actor(_user_from(info, m.data.get("creator"))),
            "description": lambda m, _i: _text(m.data.get("description")),
            "dueOn": lambda m, _i: m.data.get("due_on"),
            "id": lambda m, _i: _data_node_id("Milestone", m.data),
            "number": lambda m, _i: int(m.data.get("number") or 0),
            "progressPercentage": lambda m, _i: _progress(m.data),
            "repository": lambda m, _i: m.repository,
            "resourcePath": lambda m, _i: f"/{m.repository.full_name}/milestone/{m.data.get('number')}",
            "state": lambda m, _i: "CLOSED" if m.data.get("state") == "closed" else "OPEN",
            "title": lambda m, _i: m.data.get("title") or "",
            "updatedAt": lambda m, _i: _stamp(m.data, "updated_at", "created_at"),
            "url": lambda m, _i: f"{WEB}/{m.repository.full_name}/milestone/{m.data.get('number')}",
        },
        "ReactionGroup": {
            "content": lambda g, _i: g.content,
            "createdAt": lambda g, _i: _dt(g.created_at),
            "reactors": lambda g, info, **a: _reactors(g, info, a),
            "viewerHasReacted": lambda g, _i: False,
        },
        "ReactorConnection": {
            **_connection_fields(),
            "edges": lambda c, _i: [(c.items[k], k, c.stamp) for k in range(c.start, c.end)],
        },
        "ReactorEdge": {
            "cursor": lambda e, _i: cursor_for(e[1]),
            "node": lambda e, _i: e[0],
            "reactedAt": lambda e, _i: e[2],
        },
        "Commit": {
            "abbreviatedOid": lambda c, _i: c.sha[:7],
            "author": lambda c, _i: _git_actor(c, "author"),
            "authoredByCommitter": lambda c, _i: (
                (_git_actor(c, "committer").email or "").lower() == (c.author_email or "").lower()
            ),
            "authors": lambda c, info, **a: connection(_authors(c), a, info),
            "commitResourcePath": lambda c, info: _commit_path(info, c),
            "commitUrl": lambda c, info: WEB + _commit_path(info, c),
            "committedViaWeb": lambda c, _i: False,
            "committer": lambda c, _i: _git_actor(c, "committer"),
            "messageBody": lambda c, _i: "\n".join((c.message or "").splitlines()[1:]).strip(),
            "repository": lambda c, info: _repo_of(info, c)[0],
            "resourcePath": lambda c, info: _commit_path(info, c),
            "url": lambda c, info: WEB + _commit_path(info, c),
        },
        "GitActor": {
            "avatarUrl": lambda a, _i, size=None: _actor_avatar(a, size),
            "date": lambda a, _i: _dt(a.date),
            "email": lambda a, _i: a.email,
            "name": lambda a, _i: a.name,
            "user": lambda a, _i: a.user if a.user is not None and a.user.type == "User" else None,
        },
    }


def _outdated(c: ReviewComment) -> bool:
    # A comment on a whole file has no line to lose (GitHub's thread `line` is null for file-level threads,
    # mvanhorn/printing-press-library#620); a line comment has none once a push moved it out of the diff.
    return c.line is None and _subject_type(c) == "line"


def _subject_type(c: ReviewComment) -> str:
    return str(_raw(c).get("subject_type", c.subject_type))


def _anchor(info: GraphQLResolveInfo, obj: Any, fragment: str) -> str:
    return f"{_pr_url(info, _repo_of(info, obj)[1])}#{fragment}"[len(WEB) :]


def _data_node_id(type_name: str, data: dict[str, Any]) -> str:
    return data.get("node_id") or legacy_node_id(type_name, int(data.get("id") or 0))


def _stamp(data: dict[str, Any], *keys: str) -> str:
    # The date GitHub's payload gave, else the simulator's fixed account-creation date.
    return next((data[k] for k in keys if isinstance(data.get(k), str)), "2015-01-01T00:00:00Z")


def _repository_milestone(repo: Repository, number: int) -> MilestoneValue | None:
    for pr in repo.pull_requests:
        found = _milestone(pr, repo)
        if found is not None and found.data.get("number") == number:
            return found
    return None


def _reviewer_id(reviewer: Any) -> int:
    return reviewer.id if isinstance(reviewer, User) else int(reviewer.data.get("id") or 0)


def _progress(data: dict[str, Any]) -> float:
    done, left = int(data.get("closed_issues") or 0), int(data.get("open_issues") or 0)
    return 100.0 * done / (done + left) if done + left else 0.0


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
    # Every commit: unlike REST's 250, the GraphQL connection has no cap (dcoapp/app#310 falls back to it
    # for that reason; linuxfoundation/easycla#4801 likewise).
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
    for abstract in (
        "Node",
        "Actor",
        "Comment",
        "RepositoryOwner",
        "SearchResultItem",
        "Reactor",
        "RequestedReviewer",
        "IssueOrPullRequest",
    ):
        schema.type_map[abstract].resolve_type = _type_name  # type: ignore[attr-defined]
    assert_valid_schema(schema)
    return schema
