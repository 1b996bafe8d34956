"""The shapes of the deliveries ghcapture reads, checked at the door: a payload that does not fit (a
`repository` that is a string, an id of 10^30, a missing field) is refused with one line naming what is
wrong, before anything reads it.

Only the fields the store reads are checked; GitHub adds fields freely, and those are let through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

# GitHub's ids fit PostgreSQL's BIGINT; anything larger is not an id GitHub gave.
GitHubId = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
Count = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]


def _github_time(value: str) -> str:
    """GitHub's timestamps are ISO 8601 text (2024-05-01T12:00:00Z); the mapping reads them as such."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a timestamp without its UTC offset")
    return value


Timestamp = Annotated[StrictStr, AfterValidator(_github_time)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Account(_Shape):
    id: GitHubId
    login: StrictStr
    node_id: StrictStr | None = None
    type: StrictStr | None = None
    name: StrictStr | None = None
    avatar_url: StrictStr | None = None


class Owner(_Shape):
    login: StrictStr


class Repository(_Shape):
    id: GitHubId
    name: StrictStr
    full_name: StrictStr
    owner: Owner
    node_id: StrictStr | None = None
    default_branch: StrictStr | None = None


class Installation(_Shape):
    id: GitHubId


class Ref(_Shape):
    ref: StrictStr


class Head(Ref):
    sha: StrictStr


class SimplePullRequest(_Shape):
    id: GitHubId
    number: Count
    updated_at: Timestamp
    node_id: StrictStr | None = None
    title: StrictStr | None = None
    body: StrictStr | None = None
    state: StrictStr | None = None
    draft: StrictBool | None = None
    closed_at: Timestamp | None = None
    merged_at: Timestamp | None = None
    html_url: StrictStr | None = None


class PullRequest(SimplePullRequest):
    title: StrictStr
    state: StrictStr
    merged: StrictBool | None = None
    merged_by: Account | None = None
    user: Account | None = None
    base: Ref
    head: Head
    created_at: Timestamp
    additions: Count | None = None
    deletions: Count | None = None
    changed_files: Count | None = None
    commits: Count | None = None


class Review(_Shape):
    id: GitHubId
    node_id: StrictStr | None = None
    state: StrictStr
    user: Account | None = None
    body: StrictStr | None = None
    submitted_at: Timestamp | None = None
    commit_id: StrictStr | None = None


class ReviewComment(_Shape):
    id: GitHubId
    node_id: StrictStr | None = None
    diff_hunk: StrictStr | None = None
    position: Count | None = None
    user: Account | None = None
    body: StrictStr | None = None
    path: StrictStr | None = None
    line: Count | None = None
    in_reply_to_id: GitHubId | None = None
    pull_request_review_id: GitHubId | None = None
    created_at: Timestamp
    updated_at: Timestamp


class IssueComment(_Shape):
    id: GitHubId
    node_id: StrictStr | None = None
    user: Account | None = None
    body: StrictStr | None = None
    created_at: Timestamp
    updated_at: Timestamp


class Issue(_Shape):
    number: Count
    updated_at: Timestamp | None = None
    pull_request: dict[str, Any] | None = None


class Thread(_Shape):
    node_id: StrictStr
    comments: list[ReviewComment]


class WorkflowRun(_Shape):
    id: GitHubId
    status: StrictStr
    run_attempt: Count = 1


class ListedRepository(_Shape):
    id: GitHubId
    full_name: StrictStr


class _Event(_Shape):
    action: StrictStr | None = None
    installation: Installation | None = None


class PullRequestEvent(_Event):
    action: StrictStr
    pull_request: PullRequest
    repository: Repository


class PullRequestReviewEvent(_Event):
    action: StrictStr
    review: Review
    pull_request: SimplePullRequest
    repository: Repository


class PullRequestReviewCommentEvent(_Event):
    action: StrictStr
    comment: ReviewComment
    pull_request: SimplePullRequest
    repository: Repository


class PullRequestReviewThreadEvent(_Event):
    action: StrictStr
    thread: Thread
    pull_request: SimplePullRequest
    repository: Repository


class IssueCommentEvent(_Event):
    action: StrictStr
    issue: Issue
    comment: IssueComment
    repository: Repository


class RepositoryEvent(_Event):
    action: StrictStr
    repository: Repository
    changes: dict[str, Any] | None = None


class InstallationEvent(_Event):
    action: StrictStr
    installation: Installation
    repositories: list[ListedRepository] | None = None


class InstallationRepositoriesEvent(_Event):
    action: StrictStr
    installation: Installation
    repositories_added: list[ListedRepository] = []
    repositories_removed: list[ListedRepository] = []


class WorkflowRunEvent(_Event):
    action: StrictStr
    workflow_run: WorkflowRun
    repository: Repository


class PingEvent(_Shape):
    zen: StrictStr | None = None
    hook_id: GitHubId | None = None


SHAPES: dict[str, type[_Shape]] = {
    "pull_request": PullRequestEvent,
    "pull_request_review": PullRequestReviewEvent,
    "pull_request_review_comment": PullRequestReviewCommentEvent,
    "pull_request_review_thread": PullRequestReviewThreadEvent,
    "issue_comment": IssueCommentEvent,
    "repository": RepositoryEvent,
    "installation": InstallationEvent,
    "installation_repositories": InstallationRepositoriesEvent,
    "workflow_run": WorkflowRunEvent,
    "ping": PingEvent,
}


class MalformedPayload(ValueError):
    """A delivery whose payload does not have the shape its event promises."""


def checked(event: str, payload: Any) -> _Shape:
    """The payload, checked against the shape of `event`; MalformedPayload names the first problem."""
    shape = SHAPES[event]
    if not isinstance(payload, dict):
        raise MalformedPayload(f"the payload is a JSON {type(payload).__name__}, not an object")
    try:
        return shape.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise MalformedPayload(f"{where}: {first['msg'].lower()}") from None
