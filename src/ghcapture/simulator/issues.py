"""Issues opened through the API (`POST /repos/{owner}/{repo}/issues`) and closed again (`PATCH
.../issues/{number}`), with GitHub's shapes (https://docs.github.com/rest/issues/issues#create-an-issue,
#update-an-issue), read back one at a time (#get-an-issue). They share the repository's numbers with its pull
requests, as on GitHub; the repository's issue listing and search still show its pull requests only."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from ghcapture.simulator import rest_shapes
from ghcapture.simulator.app import ApiAnswer, api_base, error, find_repo, rest_api
from ghcapture.simulator.model import Repository, User, format_time, legacy_node_id, modern_node_id

if TYPE_CHECKING:
    from ghcapture.simulator.app import Simulator

# Ids of issues opened here start far above those of the generated pull requests' issues.
FIRST_ID = 9_000_000_000
STATE_REASONS = {"closed": ("completed", "not_planned", "duplicate"), "open": ("reopened",)}


@dataclass
class OpenedIssue:
    id: int
    number: int
    title: str
    body: str | None
    labels: list[str]
    user: User
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None


class IssueTracker:
    """The issues opened in each repository of the world, by repository id."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.opened: dict[int, list[OpenedIssue]] = {}
        self._ids = itertools.count(FIRST_ID)
        self._author = User(id=1, login="octocat", node_id=legacy_node_id("User", 1))

    def in_repository(self, owner: str, name: str) -> list[OpenedIssue]:
        repo = self.sim.world.repository(owner, name)
        return list(self.opened.get(repo.id, [])) if repo is not None else []

    def _next_number(self, repo: Repository) -> int:
        numbers = [pr.number for pr in repo.pull_requests] + [i.number for i in self.opened.get(repo.id, [])]
        return max(numbers, default=0) + 1

    def shape(self, issue: OpenedIssue, repo: Repository, api: str) -> dict[str, Any]:
        url = f"{api}/repos/{repo.full_name}/issues/{issue.number}"
        return {
            "id": issue.id,
            "node_id": modern_node_id("I", repo.id, issue.id),
            "url": url,
            "repository_url": f"{api}/repos/{repo.full_name}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"https://github.com/{repo.full_name}/issues/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": rest_shapes.user(issue.user, api),
            "labels": [
                {
                    "id": abs(hash((repo.id, name))) % 10**9,
                    "node_id": modern_node_id("LA", repo.id, abs(hash(name)) % 10**9),
                    "url": f"{api}/repos/{repo.full_name}/labels/{name}",
                    "name": name,
                    "description": None,
                    "color": "ededed",
                    "default": False,
                }
                for name in issue.labels
            ],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": format_time(issue.closed_at),
            "created_at": format_time(issue.created_at),
            "updated_at": format_time(issue.updated_at),
            "closed_by": rest_shapes.user(issue.user, api) if issue.state == "closed" else None,
            "author_association": "OWNER",
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "reactions": rest_shapes.no_reactions(url),
        }

    def get(self, request: Request) -> ApiAnswer | None:
        """GET .../issues/{number} of an issue opened here; None when the number is not one of them."""
        repo = self.sim.world.repository(request.path_params["owner"], request.path_params["repo"])
        try:
            number = int(request.path_params["number"])
        except ValueError:
            return None
        issue = next((i for i in self.opened.get(repo.id, []) if i.number == number), None) if repo else None
        return (
            None
            if issue is None or repo is None
            else ApiAnswer(200, self.shape(issue, repo, api_base(request)))
        )

    def routes(self) -> list[Route]:
        r = "/repos/{owner}/{repo}"
        return [
            Route(f"{r}/issues", rest_api(self.sim, self._create), methods=["POST"]),
            Route(f"{r}/issues/{{number:int}}", rest_api(self.sim, self._update), methods=["PATCH"]),
        ]

    async def _create(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        try:
            body = await request.json()
            title = body["title"]
            labels = [str(label) for label in body.get("labels") or []]
        except (ValueError, KeyError, TypeError):
            return _missing_title()
        if not isinstance(title, str | int) or isinstance(title, bool) or str(title) == "":
            return _missing_title()
        now = datetime.now(UTC)
        issue = OpenedIssue(
            id=next(self._ids),
            number=self._next_number(repo),
            title=str(title),
            body=body.get("body"),
            labels=labels,
            user=self._author,
            created_at=now,
            updated_at=now,
        )
        self.opened.setdefault(repo.id, []).append(issue)
        shape = self.shape(issue, repo, api_base(request))
        return ApiAnswer(201, shape, {"location": shape["url"]})

    async def _update(self, request: Request, sim: Simulator) -> ApiAnswer:
        repo = find_repo(sim, request)
        if isinstance(repo, ApiAnswer):
            return repo
        number = request.path_params["number"]
        issue = next((i for i in self.opened.get(repo.id, []) if i.number == number), None)
        if issue is None:
            return error(404, "Not Found")
        try:
            body = await request.json()
            state = body.get("state", issue.state)
            reason = body.get("state_reason")
        except (ValueError, AttributeError):
            return error(400, "Problems parsing JSON")
        if state not in STATE_REASONS or (reason is not None and reason not in STATE_REASONS[state]):
            return error(422, "Validation Failed")
        now = datetime.now(UTC)
        if state != issue.state:
            issue.state = state
            issue.closed_at = now if state == "closed" else None
            issue.state_reason = reason or ("completed" if state == "closed" else "reopened")
        for field in ("title", "body"):
            if field in body:
                setattr(issue, field, body[field])
        issue.updated_at = now
        return ApiAnswer(200, self.shape(issue, repo, api_base(request)))


def _missing_title() -> ApiAnswer:
    return ApiAnswer(
        422,
        {
            "message": 'Invalid request.\n\n"title" wasn\'t supplied.',
            "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
            "status": "422",
        },
    )
