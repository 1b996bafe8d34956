"""The REST endpoints of the simulator and its own /_simulator/ controls.

Every repository route answers under `/repos/{owner}/{repo}/...` and under `/repositories/{id}/...` (the form
GitHub's Link headers and redirects use); an old name of a renamed or transferred repository answers 301 with
the `/repositories/{id}/...` URL of the same route; any other path answers GitHub's JSON 404.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from ghcapture.simulator import rest_shapes
from ghcapture.simulator.app import (
    DOCS,
    ApiAnswer,
    Handler,
    Simulator,
    api_base,
    error,
    find_pr,
    find_repo,
    rate_headers,
    render_pr,
    rest_api,
    run_api,
    viewer_login,
)
from ghcapture.simulator.dataset import stream_truth
from ghcapture.simulator.evolve import Changes, apply_changes
from ghcapture.simulator.generator import FILE_CAP, generate_repository
from ghcapture.simulator.graphql_api import REST_COMMIT_CAP
from ghcapture.simulator.model import (
    Commit,
    PullRequest,
    Repository,
    User,
    in_state,
    modern_node_id,
    parse_time,
    visible_reviews,
)
from ghcapture.simulator.rest_paging import (
    cursor_paginate,
    last_modified,
    page_request,
    paginate,
    since_filter,
    time_parameter,
)
from ghcapture.simulator.search import RESULT_CAP, parse_query, search_pull_requests, unknown_repositories

MOVED_DOCS = "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"
# GitHub refuses the repository issue listing by page number from about 10,000 issues on: `page=100` at
# `per_page=100` answers 422 with DEEP_PAGE_MESSAGE (google/go-github#3565, cooperspencer/gickup#334,
# josegonzalez/python-github-backup#429 and #449, all on /repos/{owner}/{repo}/issues). Nothing public gives
# the exact bound, so a page is refused when page x per_page reaches 10,000, which refuses that observed
# page and serves the one before it. No other listing is known to refuse deep pages this way.
ISSUES_PAGE_WINDOW = 10_000
SEARCH_DOCS = "https://docs.github.com/v3/search/"  # as GitHub's 1,000-result refusal names it


def documented(handler: Handler, docs: str) -> Handler:
    """The handler, whose errors name the route's documentation as GitHub's do (404s included)."""

    async def answer(request: Request, sim: Simulator) -> ApiAnswer:
        out = await handler(request, sim)
        body = out.body
        if out.status >= 400 and isinstance(body, dict) and body.get("documentation_url") == DOCS:
            body["documentation_url"] = docs
        return out

    return answer


def _stamp(value: Any) -> datetime | None:
    return getattr(value, "updated_at", None)


# -- repositories and pull requests ---------------------------------------------------------------------


async def get_repository(request: Request, sim: Simulator) -> ApiAnswer:
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    answer = ApiAnswer(200, rest_shapes.repository(repo, api_base(request), full=True))
    return last_modified(answer, repo.updated_at)


def _sorted_pulls(repo: Repository, request: Request) -> list[PullRequest] | ApiAnswer:
    q = request.query_params
    state = q.get("state", "open")
    if state not in ("open", "closed", "all"):
        return error(422, f"Validation Failed: state must be open, closed or all, not {state!r}")
    sort = q.get("sort", "created")
    if sort not in ("created", "updated", "popularity", "long-running"):
        return error(
            422, f"Validation Failed: sort must be created, updated, popularity or long-running, not {sort!r}"
        )
    # "Default: desc when sort is created or sort is not specified, otherwise asc."
    # https://docs.github.com/rest/pulls/pulls#list-pull-requests
    direction = q.get("direction", "desc" if sort == "created" else "asc")
    if direction not in ("asc", "desc"):
        return error(422, f"Validation Failed: direction must be asc or desc, not {direction!r}")
    by = {"popularity": "comments", "long-running": "created"}.get(sort, sort)
    where = None if state == "all" else in_state(state)
    prs = repo.ordered(by, descending=direction == "desc", where=where)
    if q.get("base"):
        prs = [p for p in prs if p.base_ref == q["base"]]
    if q.get("head"):
        branch = q["head"].split(":", 1)[-1]
        prs = [p for p in prs if p.head_ref == branch]
    if sort == "long-running":
        # "sorts by date created and limits the results to pull requests that have been open for more than
        # a month and have had activity within the past month" (the same page).
        month_ago = datetime.now(UTC) - timedelta(days=30)
        prs = [p for p in prs if p.state == "open" and p.created_at < month_ago <= p.updated_at]
    return prs


async def list_pulls(request: Request, sim: Simulator) -> ApiAnswer:
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    prs = _sorted_pulls(repo, request)
    if isinstance(prs, ApiAnswer):
        return prs
    return paginate(request, prs, render_pr(request, repo, full=False), repo=repo, stamp=_stamp)


async def get_pull(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    return last_modified(ApiAnswer(200, render_pr(request, repo, full=True)(pr)), pr.updated_at)


async def list_reviews(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    api = api_base(request)
    return paginate(
        request,
        visible_reviews(pr, viewer_login(sim, request)),
        lambda r: rest_shapes.review(r, pr, repo, api),
        repo=repo,
        stamp=lambda r: r.submitted_at,
    )


async def get_review(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    for review in visible_reviews(pr, viewer_login(sim, request)):
        if str(review.id) == request.path_params["review_id"]:
            answer = ApiAnswer(200, rest_shapes.review(review, pr, repo, api_base(request)))
            return last_modified(answer, review.submitted_at)
    return error(404, "Not Found")


async def list_requested_reviewers(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    return ApiAnswer(200, rest_shapes.requested_reviewers(found[1], api_base(request)))


# -- comments -------------------------------------------------------------------------------------------


def _order(request: Request, items: list[Any], comment_of: Callable[[Any], Any]) -> list[Any] | ApiAnswer:
    """Comments in GitHub's order: ascending id unless `sort` is given; `direction` is ignored without it.
    https://docs.github.com/rest/pulls/comments#list-review-comments-in-a-repository and
    https://docs.github.com/rest/issues/comments#list-issue-comments-for-a-repository"""
    q = request.query_params
    sort = q.get("sort")
    if sort is None:
        return sorted(items, key=lambda x: comment_of(x).id)
    if sort not in ("created", "updated", "created_at"):
        return error(422, f"Validation Failed: sort must be created or updated, not {sort!r}")
    direction = q.get("direction", "asc")
    if direction not in ("asc", "desc"):
        return error(422, f"Validation Failed: direction must be asc or desc, not {direction!r}")
    field_name = "updated_at" if sort == "updated" else "created_at"
    ordered = sorted(items, key=lambda x: (getattr(comment_of(x), field_name), comment_of(x).id))
    return ordered[::-1] if direction == "desc" else ordered


async def list_pull_comments(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    items = sorted(pr.review_comments, key=lambda c: (c.updated_at, c.id))
    filtered = since_filter(request, items, [c.updated_at for c in items])
    if isinstance(filtered, ApiAnswer):
        return filtered
    ordered = _order(request, filtered, lambda c: c)
    if isinstance(ordered, ApiAnswer):
        return ordered
    api = api_base(request)
    return paginate(
        request, ordered, lambda c: rest_shapes.review_comment(c, pr, repo, api), repo=repo, stamp=_stamp
    )


async def list_repo_review_comments(request: Request, sim: Simulator) -> ApiAnswer:
    return _repo_listing(request, sim, "review_comments", rest_shapes.review_comment)


async def list_repo_issue_comments(request: Request, sim: Simulator) -> ApiAnswer:
    return _repo_listing(request, sim, "issue_comments", rest_shapes.issue_comment)


def _repo_listing(request: Request, sim: Simulator, kind: str, render: Any) -> ApiAnswer:
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    items, keys = sim.listing(repo, kind)
    filtered = since_filter(request, items, keys)
    if isinstance(filtered, ApiAnswer):
        return filtered
    ordered = _order(request, filtered, lambda pair: pair[0])
    if isinstance(ordered, ApiAnswer):
        return ordered
    api = api_base(request)
    return paginate(
        request,
        ordered,
        lambda pair: render(pair[0], pair[1], repo, api),
        repo=repo,
        stamp=lambda pair: pair[0].updated_at,
    )


def _one_comment(request: Request, sim: Simulator, kind: str, render: Any) -> ApiAnswer:
    # The `url` of a listed comment leads here; clients such as PyGithub follow it to complete an object.
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    try:
        wanted = int(request.path_params["comment_id"])
    except ValueError:
        return error(404, "Not Found")
    items, _keys = sim.listing(repo, kind)
    for comment, pr in items:
        if comment.id == wanted:
            answer = ApiAnswer(200, render(comment, pr, repo, api_base(request)))
            return last_modified(answer, comment.updated_at)
    return error(404, "Not Found")


async def get_review_comment(request: Request, sim: Simulator) -> ApiAnswer:
    return _one_comment(request, sim, "review_comments", rest_shapes.review_comment)


async def get_issue_comment(request: Request, sim: Simulator) -> ApiAnswer:
    return _one_comment(request, sim, "issue_comments", rest_shapes.issue_comment)


async def list_issue_comments(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    items = sorted(pr.issue_comments, key=lambda c: (c.updated_at, c.id))
    filtered = since_filter(request, items, [c.updated_at for c in items])
    if isinstance(filtered, ApiAnswer):
        return filtered
    # "Issue comments are ordered by ascending ID." https://docs.github.com/rest/issues/comments#list-issue-comments
    filtered = sorted(filtered, key=lambda c: c.id)
    api = api_base(request)
    return paginate(
        request, filtered, lambda c: rest_shapes.issue_comment(c, pr, repo, api), repo=repo, stamp=_stamp
    )


# -- files and commits -------------------------------------------------------------------------------------


async def list_files(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    api = api_base(request)
    return paginate(
        request,
        pr.files,
        lambda f: rest_shapes.changed_file(f, pr, repo, api),
        repo=repo,
        cap=FILE_CAP,
        stamp=lambda _f: pr.updated_at,
    )


async def list_commits(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    api = api_base(request)
    parents = rest_shapes.commit_parents(pr)
    return paginate(
        request,
        pr.commits,
        lambda c: rest_shapes.commit(c, repo, api, parents.get(c.sha)),
        repo=repo,
        cap=REST_COMMIT_CAP,
        stamp=lambda c: c.committed_at,
    )


def default_branch_history(repo: Repository) -> list[tuple[Commit, list[str]]]:
    """The default branch's commits, newest first, with their parents. The simulator keeps no branches, so
    the branch is what merged pull requests brought: each PR's commits, then its merge commit."""
    history: list[tuple[Commit, list[str]]] = []
    for pr in repo.pull_requests:
        if not pr.merged or pr.merged_at is None:
            continue
        parents = rest_shapes.commit_parents(pr)
        history += [(c, parents[c.sha]) for c in pr.commits]
        if pr.merge_commit_sha:
            who = pr.merged_by or pr.user
            merge = Commit(
                sha=pr.merge_commit_sha,
                node_id=modern_node_id("C", repo.id, int(pr.merge_commit_sha[:12], 16)),
                message=f"Merge pull request #{pr.number} from {pr.user.login}/{pr.head_ref}\n\n{pr.title}",
                author_name=who.name or who.login,
                author_email=f"{who.id}+{who.login}@users.noreply.github.com",
                authored_at=pr.merged_at,
                committed_at=pr.merged_at,
                author=who,
            )
            history.append((merge, [pr.base_sha, pr.commits[-1].sha if pr.commits else pr.head_sha]))
    seen: set[str] = set()
    unique = []
    for c, shas in sorted(history, key=lambda x: (x[0].committed_at, x[0].sha), reverse=True):
        if c.sha not in seen:
            seen.add(c.sha)
            unique.append((c, shas))
    return unique


async def list_repo_commits(request: Request, sim: Simulator) -> ApiAnswer:
    """https://docs.github.com/rest/commits/commits#list-commits: `sha` (a SHA or branch to start from,
    default the default branch), `author` (login or email), `since` and `until`, newest first."""
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    q = request.query_params
    history = default_branch_history(repo)
    start = q.get("sha")
    if start and start != repo.default_branch:
        at = next((i for i, (c, _p) in enumerate(history) if c.sha.startswith(start.lower())), None)
        if at is None or len(start) < 7:
            head = next((p for p in repo.pull_requests if start in (p.head_ref, p.head_sha)), None)
            if head is None:
                return error(404, f"No commit found for SHA: {start}")
            parents = rest_shapes.commit_parents(head)
            history = [(c, parents[c.sha]) for c in reversed(head.commits)]
        else:
            history = history[at:]
    bounds: tuple[tuple[str, Callable[[Any, datetime], bool]], ...] = (
        ("since", lambda c, t: bool(c.committed_at >= t)),
        ("until", lambda c, t: bool(c.committed_at <= t)),
    )
    for name, keep in bounds:
        if q.get(name):
            when = time_parameter(q[name], name)
            if isinstance(when, ApiAnswer):
                return when
            history = [(c, p) for c, p in history if keep(c, when)]
    if q.get("author"):
        who = q["author"].lower()
        history = [
            (c, p)
            for c, p in history
            if c.author_email.lower() == who or (c.author is not None and c.author.login.lower() == who)
        ]
    api = api_base(request)
    return paginate(
        request,
        history,
        lambda pair: rest_shapes.commit(pair[0], repo, api, pair[1]),
        repo=repo,
        stamp=lambda pair: pair[0].committed_at,
    )


# -- issues and search -------------------------------------------------------------------------------------


def _invalid(resource: str, field_name: str, value: str) -> ApiAnswer:
    return ApiAnswer(
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": resource, "field": field_name, "code": "invalid", "value": value}],
            "documentation_url": DOCS,
            "status": "422",
        },
    )


ISSUE_SORTS: dict[str, Callable[[PullRequest], int]] = {
    "created": lambda p: int(p.created_at.timestamp() * 1000),
    "updated": lambda p: int(p.updated_at.timestamp() * 1000),
    "comments": lambda p: len(p.issue_comments),
}


async def list_issues(request: Request, sim: Simulator) -> ApiAnswer:
    """https://docs.github.com/rest/issues/issues#list-repository-issues: state open by default, sort created
    (or updated, comments), direction desc by default, `since`; pull requests are issues with a
    `pull_request` object. Paged by cursor, and refused by page number past ISSUES_PAGE_WINDOW."""
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    q = request.query_params
    state, sort, direction = q.get("state", "open"), q.get("sort", "created"), q.get("direction", "desc")
    for name, value, allowed in (
        ("state", state, ("open", "closed", "all")),
        ("sort", sort, tuple(ISSUE_SORTS)),
        ("direction", direction, ("asc", "desc")),
    ):
        if value not in allowed:
            return _invalid("Issue", name, value)
    prs = [p for p in repo.pull_requests if state == "all" or p.state == state]
    if q.get("since"):
        when = time_parameter(q["since"], "since")
        if isinstance(when, ApiAnswer):
            return when
        prs = [p for p in prs if p.updated_at >= when]
    sort_value = ISSUE_SORTS[sort]

    def position(p: PullRequest) -> tuple[int, int]:
        return sort_value(p), rest_shapes.issue_id(p)

    descending = direction == "desc"
    prs.sort(key=position, reverse=descending)
    api = api_base(request)
    return cursor_paginate(
        request,
        prs,
        position,
        descending,
        lambda p: rest_shapes.issue(p, repo, api),
        repo=repo,
        resource="Issue",
        stamp=_stamp,
        deepest=ISSUES_PAGE_WINDOW,
        deep_docs=DOCS_OF[list_issues],
    )


async def get_issue(request: Request, sim: Simulator) -> ApiAnswer:
    opened = sim.issues.get(request)  # an issue opened through the API, not a pull request
    if opened is not None:
        return opened
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    body = rest_shapes.issue(pr, repo, api_base(request))
    body["closed_by"] = rest_shapes.user(pr.merged_by, api_base(request)) if pr.state == "closed" else None
    return last_modified(ApiAnswer(200, body), pr.updated_at)


async def search_issues(request: Request, sim: Simulator) -> ApiAnswer:
    """https://docs.github.com/rest/search/search#search-issues-and-pull-requests: `q` with qualifiers, `sort`
    (comments, created, updated) and `order` (desc by default, ignored without `sort`); at most the first
    1,000 results are served, while total_count tells them all."""
    q = request.query_params
    query = q.get("q")
    if not query:
        return ApiAnswer(
            422,
            {
                "message": "Validation Failed",
                "errors": [{"resource": "Search", "field": "q", "code": "missing"}],
                "documentation_url": DOCS,
                "status": "422",
            },
        )
    if unknown_repositories(sim.world, parse_query(query)):
        message = (
            "The listed users and repositories cannot be searched either because the resources do not exist "
            "or you do not have permission to view them."
        )
        return ApiAnswer(
            422,
            {
                "message": "Validation Failed",
                "errors": [{"message": message, "resource": "Search", "field": "q", "code": "invalid"}],
                "documentation_url": DOCS,
                "status": "422",
            },
        )
    sort = q.get("sort")
    order = q.get("order", "desc")
    if order not in ("asc", "desc"):
        return _invalid("Search", "order", order)
    found = search_pull_requests(sim.world, query, sort=sort if sort in ISSUE_SORTS else None, order=order)
    asked = page_request(request)
    if isinstance(asked, ApiAnswer):
        return asked
    if (asked.page - 1) * asked.per_page >= RESULT_CAP:
        refused = error(422, "Only the first 1000 search results are available")
        refused.body["documentation_url"] = SEARCH_DOCS
        return refused
    api = api_base(request)
    page = paginate(
        request,
        found,
        lambda p: rest_shapes.issue(p, sim.world.repository_of(p), api, score=1.0),
        repo=None,
        cap=RESULT_CAP,
        stamp=_stamp,
    )
    if page.status != 200:
        return page
    page.body = {
        "total_count": len(found),
        "incomplete_results": False,
        "items": page.body,
        "search_type": "lexical",
    }
    return page


# -- users and limits --------------------------------------------------------------------------------------


async def get_user(request: Request, sim: Simulator) -> ApiAnswer:
    user = sim.world.user(request.path_params["login"])
    if user is None or user.is_ghost and request.path_params["login"] != "ghost":
        return error(404, "Not Found")
    body = rest_shapes.user_detail(user, api_base(request))
    return last_modified(ApiAnswer(200, body), parse_time(body.get("updated_at")))


async def get_authenticated_user(request: Request, sim: Simulator) -> ApiAnswer:
    token = sim.token_of(request)
    if token is None:
        return error(401, "Requires authentication")
    if token in sim.installation_tokens:
        return error(403, "Resource not accessible by integration")
    from ghcapture.simulator.model import legacy_node_id

    # The user a personal token belongs to (every token belongs to octocat unless mapped to another).
    login = sim.principal_of(token).partition(":")[2]
    me = sim.world.user(login) or User(
        id=1, login=login, node_id=legacy_node_id("User", 1), name="The Octocat"
    )
    return ApiAnswer(200, rest_shapes.user_detail(me, api_base(request)))


async def rate_limit(request: Request, sim: Simulator) -> ApiAnswer:
    # The principal's budgets: every token of one user, or of one App installation, reports the same.
    principal = sim.principal_of(sim.token_of(request), request)
    core = sim.limits.budget(principal, "core")
    graphql = sim.limits.budget(principal, "graphql")
    search = sim.limits.budget(principal, "search")

    def shape(b: Any) -> dict[str, int]:
        return {"limit": b.limit, "used": b.used, "remaining": b.remaining, "reset": int(b.reset_at)}

    resources = {"core": shape(core), "graphql": shape(graphql), "search": shape(search)}
    return ApiAnswer(200, {"resources": resources, "rate": shape(core)}, rate_headers(core, "core"))


# -- GitHub App ---------------------------------------------------------------------------------------


def _app_guard(request: Request, sim: Simulator) -> ApiAnswer | None:
    problem = sim.verify_app_jwt(request)
    return error(401, problem) if problem else None


def _installation(sim: Simulator, request: Request) -> dict[str, Any]:
    app = sim.config.app
    assert app is not None
    api = api_base(request)
    return {
        "id": app.installation_id,
        "app_id": app.app_id,
        "app_slug": app.slug,
        "client_id": app.client_id,
        "target_id": 1,
        "target_type": "Organization",
        "single_file_name": None,
        "repository_selection": "all",
        "access_tokens_url": f"{api}/app/installations/{app.installation_id}/access_tokens",
        "html_url": f"https://github.com/settings/installations/{app.installation_id}",
        "repositories_url": f"{api}/installation/repositories",
        "events": [],
        "account": None,
        "permissions": {"contents": "read", "pull_requests": "read", "actions": "write", "metadata": "read"},
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "suspended_by": None,
        "suspended_at": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
    }


async def create_installation_token(request: Request, sim: Simulator) -> ApiAnswer:
    problem = _app_guard(request, sim)
    if problem:
        return problem
    app = sim.config.app
    assert app is not None
    if str(request.path_params["installation_id"]) != str(app.installation_id):
        return error(404, "Not Found")
    token, expires = sim.mint_installation_token()
    from datetime import UTC, datetime

    return ApiAnswer(
        201,
        {
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {
                "contents": "read",
                "pull_requests": "read",
                "actions": "write",
                "metadata": "read",
            },
            "repository_selection": "all",
        },
    )


async def get_repo_installation(request: Request, sim: Simulator) -> ApiAnswer:
    problem = _app_guard(request, sim)
    if problem:
        return problem
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    return ApiAnswer(200, _installation(sim, request))


def _app_owner(request: Request) -> dict[str, Any] | None:
    # GitHub always names an App's owner; its description does not allow null.
    from ghcapture.simulator.model import User, legacy_node_id

    owner = User(id=1, login="octocat", node_id=legacy_node_id("User", 1), name="The Octocat")
    return rest_shapes.user(owner, api_base(request))


async def list_hook_deliveries(request: Request, sim: Simulator) -> ApiAnswer:
    """GET /app/hook/deliveries: the App's delivery attempts, newest first, paged by `cursor`
    (https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook)."""
    problem = _app_guard(request, sim)
    if problem:
        return problem
    deliverer = getattr(sim, "webhooks", None)
    app = sim.config.app
    assert app is not None
    try:
        per_page = max(1, min(100, int(request.query_params.get("per_page", "30"))))
        cursor = request.query_params.get("cursor")
        below = int(cursor.removeprefix("v1_")) if cursor else None
    except ValueError:
        return error(422, "Invalid request.")
    attempts = sorted(deliverer.attempts if deliverer else [], key=lambda a: -a.id)
    if below is not None:
        attempts = [a for a in attempts if a.id < below]
    page = attempts[:per_page]
    headers = {}
    if len(attempts) > per_page:
        url = request.url.include_query_params(per_page=per_page, cursor=f"v1_{page[-1].id}")
        headers["Link"] = f'<{url}>; rel="next"'
    return ApiAnswer(200, [a.shape(app.installation_id) for a in page], headers)


async def redeliver_hook_delivery(request: Request, sim: Simulator) -> ApiAnswer:
    """POST /app/hook/deliveries/{delivery_id}/attempts: 202 and one more attempt
    (https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook)."""
    problem = _app_guard(request, sim)
    if problem:
        return problem
    deliverer = getattr(sim, "webhooks", None)
    try:
        attempt_id = int(request.path_params["delivery_id"])
    except ValueError:
        return error(404, "Not Found")
    if deliverer is None or not deliverer.redeliver(attempt_id):
        return error(404, "Not Found")
    return ApiAnswer(202, {})


async def get_app(request: Request, sim: Simulator) -> ApiAnswer:
    problem = _app_guard(request, sim)
    if problem:
        return problem
    app = sim.config.app
    assert app is not None
    return ApiAnswer(
        200,
        {
            "id": app.app_id,
            "slug": app.slug,
            "client_id": app.client_id,
            "name": "ghcapture simulator",
            "node_id": "A_kwSim",
            "owner": _app_owner(request),
            "description": "",
            "external_url": "https://example.invalid",
            "html_url": f"https://github.com/apps/{app.slug}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": {},
            "events": [],
        },
    )


# -- the route table -------------------------------------------------------------------------------------

R = "/repos/{owner}/{repo}"
# (path, handler, api, charged, GitHub's documentation of the route, which its errors name)
TABLE: list[tuple[str, Handler, str, bool, str]] = [
    ("/rate_limit", rate_limit, "rest", False, "https://docs.github.com/rest/rate-limit/rate-limit"),
    (R, get_repository, "rest", True, "https://docs.github.com/rest/repos/repos#get-a-repository"),
    (f"{R}/pulls", list_pulls, "rest", True, "https://docs.github.com/rest/pulls/pulls#list-pull-requests"),
    (
        f"{R}/pulls/comments",
        list_repo_review_comments,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/comments#list-review-comments-in-a-repository",
    ),
    (
        f"{R}/pulls/comments/{{comment_id}}",
        get_review_comment,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/comments#get-a-review-comment-for-a-pull-request",
    ),
    (
        f"{R}/issues/comments/{{comment_id}}",
        get_issue_comment,
        "rest",
        True,
        "https://docs.github.com/rest/issues/comments#get-an-issue-comment",
    ),
    (
        f"{R}/pulls/{{number}}/reviews/{{review_id}}",
        get_review,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/reviews#get-a-review-for-a-pull-request",
    ),
    (
        f"{R}/pulls/{{number}}",
        get_pull,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/pulls#get-a-pull-request",
    ),
    (
        f"{R}/pulls/{{number}}/reviews",
        list_reviews,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request",
    ),
    (
        f"{R}/pulls/{{number}}/comments",
        list_pull_comments,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/comments#list-review-comments-on-a-pull-request",
    ),
    (
        f"{R}/pulls/{{number}}/files",
        list_files,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files",
    ),
    (
        f"{R}/pulls/{{number}}/commits",
        list_commits,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/pulls#list-commits-on-a-pull-request",
    ),
    (
        f"{R}/pulls/{{number}}/requested_reviewers",
        list_requested_reviewers,
        "rest",
        True,
        "https://docs.github.com/rest/pulls/review-requests#get-all-requested-reviewers-for-a-pull-request",
    ),
    (
        f"{R}/issues/comments",
        list_repo_issue_comments,
        "rest",
        True,
        "https://docs.github.com/rest/issues/comments#list-issue-comments-for-a-repository",
    ),
    (
        f"{R}/issues",
        list_issues,
        "rest",
        True,
        "https://docs.github.com/rest/issues/issues#list-repository-issues",
    ),
    (
        f"{R}/issues/{{number}}",
        get_issue,
        "rest",
        True,
        "https://docs.github.com/rest/issues/issues#get-an-issue",
    ),
    (
        f"{R}/issues/{{number}}/comments",
        list_issue_comments,
        "rest",
        True,
        "https://docs.github.com/rest/issues/comments#list-issue-comments",
    ),
    (
        f"{R}/commits",
        list_repo_commits,
        "rest",
        True,
        "https://docs.github.com/rest/commits/commits#list-commits",
    ),
    (
        "/search/issues",
        search_issues,
        "search",
        True,
        "https://docs.github.com/rest/search/search#search-issues-and-pull-requests",
    ),
    ("/users/{login}", get_user, "rest", True, "https://docs.github.com/rest/users/users#get-a-user"),
    (
        "/user",
        get_authenticated_user,
        "rest",
        True,
        "https://docs.github.com/rest/users/users#get-the-authenticated-user",
    ),
    (f"{R}/installation", get_repo_installation, "app", False, DOCS),
    ("/app", get_app, "app", False, DOCS),
]
DOCS_OF: dict[Handler, str] = {handler: docs for _path, handler, _api, _charge, docs in TABLE}


def rest_routes(sim: Simulator) -> list[BaseRoute]:
    routes: list[BaseRoute] = [MovedRepositoryRoute(sim), RepositoryByIdRoute(sim)]
    routes += [
        Route(path, rest_api(sim, documented(handler, docs), api, charge), methods=["GET"])
        for path, handler, api, charge, docs in TABLE
    ]
    routes.append(
        Route(
            "/app/installations/{installation_id}/access_tokens",
            rest_api(sim, create_installation_token, "app", False),
            methods=["POST"],
        )
    )
    routes.append(Route("/app/hook/deliveries", rest_api(sim, list_hook_deliveries, "app", False)))
    routes.append(
        Route(
            "/app/hook/deliveries/{delivery_id}/attempts",
            rest_api(sim, redeliver_hook_delivery, "app", False),
            methods=["POST"],
        )
    )
    return routes


async def not_found(_request: Request, _sim: Simulator) -> ApiAnswer:
    return error(404, "Not Found")


def not_found_routes(sim: Simulator) -> list[BaseRoute]:
    """Last of all routes: any other path answers GitHub's JSON 404, not a plain-text one."""
    return [Route("/{path:path}", rest_api(sim, not_found))]


class MovedRepositoryRoute(Route):
    """`/repos/{owner}/{repo}...` where that name is an old one of a renamed or transferred repository:
    301 to the same route and query under `/repositories/{id}` (307 for other methods than GET and HEAD),
    as https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects says."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        super().__init__("/repos/{owner}/{repo}{rest:path}", rest_api(sim, self.redirect))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        params = child["path_params"]
        rest = params["rest"]
        if rest and not rest.startswith("/"):
            return Match.NONE, {}
        if self.sim.world.moved(params["owner"], params["repo"]) is None:
            return Match.NONE, {}
        return Match.FULL, child

    async def redirect(self, request: Request, sim: Simulator) -> ApiAnswer:
        params = request.path_params
        repo = sim.world.moved(params["owner"], params["repo"])
        if repo is None:  # renamed back in the meantime
            return error(404, "Not Found")
        url = f"{api_base(request)}/repositories/{repo.id}{params['rest']}"
        if request.url.query:
            url += f"?{request.url.query}"
        status = 301 if request.method in ("GET", "HEAD") else 307
        body = {"message": "Moved Permanently", "url": url, "documentation_url": MOVED_DOCS}
        return ApiAnswer(status, body, {"location": url})


class RepositoryByIdRoute(Route):
    """`/repositories/{id}/...`: every repository route, its repository found by id. The request goes on
    to the route of `/repos/{owner}/{name}/...` under the repository's current name."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        super().__init__("/repositories/{repository_id:int}{rest:path}", not_found_endpoint)
        self.app = self.dispatch  # an ASGI app: the request is passed on, not answered here

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        rest = child.get("path_params", {}).get("rest", "")
        if match is Match.NONE or (rest and not rest.startswith("/")):
            return Match.NONE, {}
        return match, child

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        repo = self.sim.world.repository_by_id(params["repository_id"])
        if repo is None:
            response = await run_api(Request(scope, receive), self.sim, "rest", not_found)
            await response(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path = f"{root}/repos/{quote(repo.owner.login)}/{quote(repo.name)}{params['rest']}"
        onward = {
            **scope,
            "path": path,
            "raw_path": path.encode(),
            "root_path": scope.get("app_root_path", ""),
            "path_params": {},
        }
        await scope["app"](onward, receive, send)


async def not_found_endpoint(_request: Request) -> Response:
    raise AssertionError("RepositoryByIdRoute answers through its own app")


# -- /_simulator/ ---------------------------------------------------------------------------------------


def control_routes(sim: Simulator) -> list[Route]:
    async def stats(_request: Request) -> Response:
        return JSONResponse(sim.stats.as_dict())

    async def reset_stats(_request: Request) -> Response:
        sim.stats.reset()
        return JSONResponse(sim.stats.as_dict())

    async def truth_endpoint(request: Request) -> Response:
        repo = sim.world.repository(request.path_params["owner"], request.path_params["repo"])
        if repo is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        # Streamed a pull request at a time: the truth of a large repository is never whole in memory.
        chunks = stream_truth(repo, api_base(request))

        async def pieces() -> AsyncIterator[bytes]:
            # In the event loop, between requests: nothing else changes a pull request while it is dumped.
            for chunk in chunks:
                yield chunk.encode()

        return StreamingResponse(pieces(), media_type="application/json; charset=utf-8")

    async def queue_faults(request: Request) -> Response:
        payload = await request.json()
        try:
            for item in payload.get("next", []):
                sim.config.faults.queue(item["kind"], item.get("api"), int(item.get("count", 1)))
            if "rate" in payload:
                sim.config.faults.rate = float(payload["rate"])
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        return JSONResponse({"queued": len(sim.config.faults.queued), "rate": sim.config.faults.rate})

    async def create_repo(request: Request) -> Response:
        payload = await request.json()
        try:
            repo = generate_repository(
                payload["owner"],
                payload["name"],
                int(payload.get("prs", 0)),
                seed=int(payload.get("seed", 1)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"message": f"bad repository request: {exc}"}, status_code=422)
        sim.world.add_repository(repo)
        return JSONResponse(
            {"full_name": repo.full_name, "pull_requests": len(repo.pull_requests)}, status_code=201
        )

    async def evolve(request: Request) -> Response:
        repo = sim.world.repository(request.path_params["owner"], request.path_params["repo"])
        if repo is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        try:
            changes = Changes.from_request(await request.json())
            answer = apply_changes(sim.world, repo, changes)
        except ValueError as exc:  # a body that is not JSON is a ValueError too
            return JSONResponse({"message": f"bad evolve request: {exc}"}, status_code=422)
        return JSONResponse(answer)

    async def rename(request: Request) -> Response:
        repo = sim.world.repository(request.path_params["owner"], request.path_params["repo"])
        if repo is None or sim.world.moved(request.path_params["owner"], request.path_params["repo"]):
            return JSONResponse({"message": "Not Found"}, status_code=404)
        try:
            payload = await request.json()
            name, owner = payload["name"], payload.get("owner")
            if not isinstance(name, str) or not name or not (owner is None or isinstance(owner, str)):
                raise TypeError("name must be a string, owner a string or absent")
            sim.world.rename_repository(repo, name, owner)
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"message": f"bad rename request: {exc}"}, status_code=422)
        return JSONResponse({"id": repo.id, "full_name": repo.full_name})

    return [
        Route("/_simulator/rename/{owner}/{repo}", rename, methods=["POST"]),
        Route("/_simulator/stats", stats, methods=["GET"]),
        Route("/_simulator/stats/reset", reset_stats, methods=["POST"]),
        Route("/_simulator/truth/{owner}/{repo}", truth_endpoint, methods=["GET"]),
        Route("/_simulator/faults", queue_faults, methods=["POST"]),
        Route("/_simulator/repos", create_repo, methods=["POST"]),
        Route("/_simulator/evolve/{owner}/{repo}", evolve, methods=["POST"]),
    ]
