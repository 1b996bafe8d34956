"""The REST endpoints of the simulator and its own /_simulator/ controls."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ghcapture.simulator import rest_shapes
from ghcapture.simulator.app import (
    ApiAnswer,
    Simulator,
    api_base,
    error,
    find_pr,
    find_repo,
    paginate,
    rate_headers,
    render_pr,
    rest_api,
    since_filter,
    truth,
)
from ghcapture.simulator.evolve import evolve_repository
from ghcapture.simulator.generator import FILE_CAP, generate_repository
from ghcapture.simulator.graphql_api import REST_COMMIT_CAP
from ghcapture.simulator.model import PullRequest, Repository


async def get_repository(request: Request, sim: Simulator) -> ApiAnswer:
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    return ApiAnswer(200, rest_shapes.repository(repo, api_base(request), full=True))


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
    direction = q.get("direction", "desc" if sort in ("created", "updated") else "desc")
    if direction not in ("asc", "desc"):
        return error(422, f"Validation Failed: direction must be asc or desc, not {direction!r}")
    prs = [p for p in repo.pull_requests if state == "all" or p.state == state]
    if q.get("base"):
        prs = [p for p in prs if p.base_ref == q["base"]]
    if q.get("head"):
        branch = q["head"].split(":", 1)[-1]
        prs = [p for p in prs if p.head_ref == branch]
    key = {
        "created": lambda p: (p.created_at, p.number),
        "updated": lambda p: (p.updated_at, p.number),
        "popularity": lambda p: (len(p.issue_comments), p.number),
        "long-running": lambda p: (p.updated_at - p.created_at, p.number),
    }[sort]
    return sorted(prs, key=key, reverse=direction == "desc")


async def list_pulls(request: Request, sim: Simulator) -> ApiAnswer:
    repo = find_repo(sim, request)
    if isinstance(repo, ApiAnswer):
        return repo
    prs = _sorted_pulls(repo, request)
    if isinstance(prs, ApiAnswer):
        return prs
    return paginate(request, prs, render_pr(request, repo, full=False))


async def get_pull(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    return ApiAnswer(200, render_pr(request, repo, full=True)(pr))


async def list_reviews(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    api = api_base(request)
    return paginate(request, pr.reviews, lambda r: rest_shapes.review(r, pr, repo, api))


def _order(request: Request, items: list[Any], key: Any) -> list[Any] | ApiAnswer:
    q = request.query_params
    sort = q.get("sort", "created")
    if sort not in ("created", "updated"):
        return error(422, f"Validation Failed: sort must be created or updated, not {sort!r}")
    direction = q.get("direction", "asc")
    if direction not in ("asc", "desc"):
        return error(422, f"Validation Failed: direction must be asc or desc, not {direction!r}")
    if sort == "created":
        items = sorted(items, key=lambda x: (key(x).created_at, key(x).id))
    return items[::-1] if direction == "desc" else items


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
    return paginate(request, ordered, lambda c: rest_shapes.review_comment(c, pr, repo, api))


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
    return paginate(request, ordered, lambda pair: render(pair[0], pair[1], repo, api))


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
            return ApiAnswer(200, render(comment, pr, repo, api_base(request)))
    return error(404, "Not Found")


async def get_review_comment(request: Request, sim: Simulator) -> ApiAnswer:
    return _one_comment(request, sim, "review_comments", rest_shapes.review_comment)


async def get_issue_comment(request: Request, sim: Simulator) -> ApiAnswer:
    return _one_comment(request, sim, "issue_comments", rest_shapes.issue_comment)


async def get_review(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    for review in pr.reviews:
        if str(review.id) == request.path_params["review_id"]:
            return ApiAnswer(200, rest_shapes.review(review, pr, repo, api_base(request)))
    return error(404, "Not Found")


async def list_issue_comments(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    items = sorted(pr.issue_comments, key=lambda c: (c.updated_at, c.id))
    filtered = since_filter(request, items, [c.updated_at for c in items])
    if isinstance(filtered, ApiAnswer):
        return filtered
    filtered = sorted(filtered, key=lambda c: (c.created_at, c.id))
    api = api_base(request)
    return paginate(request, filtered, lambda c: rest_shapes.issue_comment(c, pr, repo, api))


async def list_files(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    api = api_base(request)
    return paginate(request, pr.files, lambda f: rest_shapes.changed_file(f, pr, repo, api), cap=FILE_CAP)


async def list_commits(request: Request, sim: Simulator) -> ApiAnswer:
    found = find_pr(sim, request)
    if isinstance(found, ApiAnswer):
        return found
    repo, pr = found
    api = api_base(request)
    return paginate(request, pr.commits, lambda c: rest_shapes.commit(c, repo, api), cap=REST_COMMIT_CAP)


async def get_user(request: Request, sim: Simulator) -> ApiAnswer:
    user = sim.world.user(request.path_params["login"])
    if user is None or user.is_ghost and request.path_params["login"] != "ghost":
        return error(404, "Not Found")
    return ApiAnswer(200, rest_shapes.user_detail(user, api_base(request)))


async def get_authenticated_user(request: Request, sim: Simulator) -> ApiAnswer:
    token = sim.token_of(request)
    if token is None:
        return error(401, "Requires authentication")
    if token in sim.installation_tokens:
        return error(403, "Resource not accessible by integration")
    from ghcapture.simulator.model import User, legacy_node_id

    me = User(id=1, login="octocat", node_id=legacy_node_id("User", 1), name="The Octocat")
    return ApiAnswer(200, rest_shapes.user_detail(me, api_base(request)))


async def rate_limit(request: Request, sim: Simulator) -> ApiAnswer:
    token = sim.token_of(request) or "anonymous"
    core = sim.limits.budget(token, "core")
    graphql = sim.limits.budget(token, "graphql")

    def shape(b: Any) -> dict[str, int]:
        return {"limit": b.limit, "used": b.used, "remaining": b.remaining, "reset": int(b.reset_at)}

    resources = {
        "core": shape(core),
        "graphql": shape(graphql),
        "search": {"limit": 30, "used": 0, "remaining": 30, "reset": int(core.reset_at)},
    }
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


def rest_routes(sim: Simulator) -> list[Route]:
    r = "/repos/{owner}/{repo}"
    table: list[tuple[str, Any, str, bool]] = [
        ("/rate_limit", rate_limit, "rest", False),
        (r, get_repository, "rest", True),
        (f"{r}/pulls", list_pulls, "rest", True),
        (f"{r}/pulls/comments", list_repo_review_comments, "rest", True),
        (f"{r}/pulls/comments/{{comment_id}}", get_review_comment, "rest", True),
        (f"{r}/issues/comments/{{comment_id}}", get_issue_comment, "rest", True),
        (f"{r}/pulls/{{number}}/reviews/{{review_id}}", get_review, "rest", True),
        (f"{r}/pulls/{{number}}", get_pull, "rest", True),
        (f"{r}/pulls/{{number}}/reviews", list_reviews, "rest", True),
        (f"{r}/pulls/{{number}}/comments", list_pull_comments, "rest", True),
        (f"{r}/pulls/{{number}}/files", list_files, "rest", True),
        (f"{r}/pulls/{{number}}/commits", list_commits, "rest", True),
        (f"{r}/issues/comments", list_repo_issue_comments, "rest", True),
        (f"{r}/issues/{{number}}/comments", list_issue_comments, "rest", True),
        ("/users/{login}", get_user, "rest", True),
        ("/user", get_authenticated_user, "rest", True),
        (f"{r}/installation", get_repo_installation, "app", False),
        ("/app", get_app, "app", False),
    ]
    routes = [
        Route(path, rest_api(sim, handler, api, charge), methods=["GET"])
        for path, handler, api, charge in table
    ]
    routes.append(
        Route(
            "/app/installations/{installation_id}/access_tokens",
            rest_api(sim, create_installation_token, "app", False),
            methods=["POST"],
        )
    )
    return routes


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
        body = json.dumps({"repositories": [truth(sim, repo, request)]}, ensure_ascii=False)
        return Response(body, media_type="application/json; charset=utf-8")

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
        payload = await request.json()
        changed = evolve_repository(
            sim.world,
            repo,
            changed=int(payload.get("changed", 0)),
            new=int(payload.get("new", 0)),
            seed=int(payload.get("seed", 7)),
        )
        return JSONResponse(changed)

    return [
        Route("/_simulator/stats", stats, methods=["GET"]),
        Route("/_simulator/stats/reset", reset_stats, methods=["POST"]),
        Route("/_simulator/truth/{owner}/{repo}", truth_endpoint, methods=["GET"]),
        Route("/_simulator/faults", queue_faults, methods=["POST"]),
        Route("/_simulator/repos", create_repo, methods=["POST"]),
        Route("/_simulator/evolve/{owner}/{repo}", evolve, methods=["POST"]),
    ]
