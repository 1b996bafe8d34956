"""GitHub objects (GraphQL nodes and REST payloads) as rows of the store's tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GHOST = {
    "github_id": None,
    "node_id": None,
    "login": "ghost",
    "type": "User",
    "name": None,
    "avatar_url": None,
}
GHOST_REST_ID = 10137


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Rows:
    """The rows of one page, written together with its checkpoint."""

    contributors: dict[Any, dict[str, Any]] = field(default_factory=dict)
    pull_requests: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    # Pull requests whose whole file list, or commit list, is in these rows: what is stored is replaced.
    whole_files: set[int] = field(default_factory=set)
    whole_commits: set[int] = field(default_factory=set)
    # (pull request, comment kind) whose every live comment is in these rows: the others were deleted.
    whole_comments: set[tuple[int, str]] = field(default_factory=set)

    def person(self, row: dict[str, Any] | None) -> int | None:
        """Remembers a contributor; returns the id to store in author columns (None for the ghost)."""
        if row is None:
            self.contributors.setdefault("ghost", GHOST)
            return None
        key = row["github_id"]
        known = self.contributors.get(key)
        if known is None or (row.get("name") and not known.get("name")):
            self.contributors[key] = row
        return int(key)

    def __len__(self) -> int:
        return (
            len(self.pull_requests)
            + len(self.reviews)
            + len(self.comments)
            + len(self.files)
            + len(self.commits)
        )


def actor(node: dict[str, Any] | None) -> dict[str, Any] | None:
    """A GraphQL Actor as a contributor row; None is GitHub's deleted user (ghost)."""
    if node is None or node.get("databaseId") is None:
        return None
    kind = node.get("__typename") or "User"
    login = node["login"]
    if kind == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"  # REST names bots with the suffix; one login per account
    return {
        "github_id": node["databaseId"],
        "node_id": node.get("id"),
        "login": login,
        "type": kind,
        "name": node.get("name"),
        "avatar_url": node.get("avatarUrl"),
    }


def rest_user(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if not obj or obj.get("id") is None or (obj.get("login") == "ghost" and obj.get("id") == GHOST_REST_ID):
        return None
    return {
        "github_id": obj["id"],
        "node_id": obj.get("node_id"),
        "login": obj["login"],
        "type": obj.get("type") or "User",
        "name": obj.get("name"),
        "avatar_url": obj.get("avatar_url"),
    }


def repository_row(repo: dict[str, Any], total: int | None) -> dict[str, Any]:
    return {
        "github_id": repo["databaseId"],
        "node_id": repo["id"],
        "owner": repo["owner"]["login"],
        "name": repo["name"],
        "full_name": repo["nameWithOwner"],
        "default_branch": (repo.get("defaultBranchRef") or {}).get("name"),
        "github_pr_total": total,
    }


def add_pull_request(rows: Rows, repository_id: int, pr: dict[str, Any]) -> int:
    pr_id = int(pr["fullDatabaseId"])
    rows.pull_requests.append(
        {
            "github_id": pr_id,
            "node_id": pr["id"],
            "repository_id": repository_id,
            "number": pr["number"],
            "title": pr["title"],
            "body": pr["body"],
            "state": "open" if pr["state"] == "OPEN" else "closed",
            "draft": pr["isDraft"],
            "merged": pr["merged"],
            "merged_at": when(pr["mergedAt"]),
            "merged_by_id": rows.person(actor(pr["mergedBy"])) if pr["mergedBy"] or pr["merged"] else None,
            "author_id": rows.person(actor(pr["author"])),
            "base_ref": pr["baseRefName"],
            "head_ref": pr["headRefName"],
            "created_at": when(pr["createdAt"]),
            "updated_at": when(pr["updatedAt"]),
            "closed_at": when(pr["closedAt"]),
            "additions": pr["additions"],
            "deletions": pr["deletions"],
            "changed_files": pr["changedFiles"],
            "commits_count": (pr.get("commits") or pr.get("commitCount") or {}).get("totalCount"),
            "html_url": pr["url"],
            "head_sha": pr.get("headRefOid"),
        }
    )
    return pr_id


def add_reviews(rows: Rows, pr_id: int, nodes: list[dict[str, Any]]) -> None:
    for r in nodes:
        rows.reviews.append(
            {
                "github_id": int(r["fullDatabaseId"]),
                "node_id": r["id"],
                "pull_request_id": pr_id,
                "author_id": rows.person(actor(r["author"])),
                "state": r["state"],
                "body": r["body"],
                "submitted_at": when(r["submittedAt"]),
                "commit_id": (r.get("commit") or {}).get("oid"),
            }
        )


def add_issue_comments(rows: Rows, pr_id: int, nodes: list[dict[str, Any]]) -> None:
    for c in nodes:
        rows.comments.append(
            {
                "github_id": int(c["fullDatabaseId"]),
                "node_id": c["id"],
                "pull_request_id": pr_id,
                "author_id": rows.person(actor(c["author"])),
                "kind": "issue_comment",
                "body": c["body"],
                "path": None,
                "line": None,
                "diff_hunk": None,
                "in_reply_to_id": None,
                "review_id": None,
                "created_at": when(c["createdAt"]),
                "updated_at": when(c["updatedAt"]),
                "deleted_at": None,
            }
        )


CHANGE_TYPES = {
    "ADDED": "added",
    "DELETED": "removed",
    "MODIFIED": "modified",
    "RENAMED": "renamed",
    "COPIED": "copied",
    "CHANGED": "changed",
}


def add_files(rows: Rows, pr_id: int, nodes: list[dict[str, Any]]) -> None:
    for f in nodes:
        rows.files.append(
            {
                "pull_request_id": pr_id,
                "path": f["path"],
                "previous_path": None,
                "change_type": CHANGE_TYPES.get(f["changeType"], f["changeType"].lower()),
                "additions": f["additions"],
                "deletions": f["deletions"],
            }
        )


def add_rest_files(rows: Rows, pr_id: int, items: list[dict[str, Any]]) -> None:
    for f in items:
        rows.files.append(
            {
                "pull_request_id": pr_id,
                "path": f["filename"],
                "previous_path": f.get("previous_filename"),
                "change_type": f["status"],
                "additions": f["additions"],
                "deletions": f["deletions"],
            }
        )


def add_review_comment(rows: Rows, pr_id: int, c: dict[str, Any]) -> None:
    rows.comments.append(
        {
            "github_id": c["id"],
            "node_id": c.get("node_id"),
            "pull_request_id": pr_id,
            "author_id": rows.person(rest_user(c.get("user"))),
            "kind": "review_comment",
            "body": c.get("body"),
            "path": c.get("path"),
            "line": c.get("line", c.get("position")),
            "diff_hunk": c.get("diff_hunk"),
            "in_reply_to_id": c.get("in_reply_to_id"),
            "review_id": c.get("pull_request_review_id"),
            "created_at": when(c.get("created_at")),
            "updated_at": when(c.get("updated_at") or c.get("created_at")),
            "deleted_at": None,
        }
    )


def add_rest_issue_comment(rows: Rows, pr_id: int, c: dict[str, Any]) -> None:
    """An issue comment as REST's listings show it (the repository-wide listing of the deletion sweep)."""
    rows.comments.append(
        {
            "github_id": c["id"],
            "node_id": c.get("node_id"),
            "pull_request_id": pr_id,
            "author_id": rows.person(rest_user(c.get("user"))),
            "kind": "issue_comment",
            "body": c.get("body"),
            "path": None,
            "line": None,
            "diff_hunk": None,
            "in_reply_to_id": None,
            "review_id": None,
            "created_at": when(c.get("created_at")),
            "updated_at": when(c.get("updated_at") or c.get("created_at")),
            "deleted_at": None,
        }
    )


def _git_actor(actor: dict[str, Any] | None) -> tuple[str | None, str | None, str | None, int | None, Any]:
    if not actor:
        return None, None, None, None, None
    user = actor.get("user") or {}
    return actor.get("name"), actor.get("email"), user.get("login"), user.get("databaseId"), actor.get("date")


def add_commits(rows: Rows, pr_id: int, nodes: list[dict[str, Any]], start: int) -> None:
    """Commits of a pull request's list, numbered from `start` in GitHub's order (oldest first)."""
    for offset, node in enumerate(nodes):
        commit = node["commit"]
        a_name, a_email, a_login, a_id, a_date = _git_actor(commit.get("author"))
        c_name, c_email, c_login, c_id, c_date = _git_actor(commit.get("committer"))
        rows.commits.append(
            {
                "pull_request_id": pr_id,
                "sha": commit["oid"],
                "position": start + offset,
                "author_name": a_name,
                "author_email": a_email,
                "author_login": a_login,
                "author_id": a_id,
                "authored_at": when(a_date),
                "committer_name": c_name,
                "committer_email": c_email,
                "committer_login": c_login,
                "committer_id": c_id,
                "committed_at": when(c_date),
            }
        )


def add_thread_comments(rows: Rows, pr_id: int, threads: list[dict[str, Any]]) -> None:
    """Review comments as GraphQL's review threads list them."""
    for thread in threads:
        for c in thread["comments"]["nodes"]:
            rows.comments.append(
                {
                    "github_id": int(c["fullDatabaseId"]),
                    "node_id": c["id"],
                    "pull_request_id": pr_id,
                    "author_id": rows.person(actor(c["author"])),
                    "kind": "review_comment",
                    "body": c["body"],
                    "path": c["path"],
                    "line": c["line"],
                    "diff_hunk": c["diffHunk"],
                    "in_reply_to_id": int((c.get("replyTo") or {}).get("fullDatabaseId") or 0) or None,
                    "review_id": int((c.get("pullRequestReview") or {}).get("fullDatabaseId") or 0) or None,
                    "created_at": when(c["createdAt"]),
                    "updated_at": when(c["updatedAt"]),
                    "deleted_at": None,
                }
            )


# -- REST forms (REST answers and webhook payloads carry the same objects) ---------------------------------


def rest_repository_row(repo: dict[str, Any]) -> dict[str, Any]:
    """A REST repository object as a row; GitHub's PR total is not in it, so it is left as stored."""
    return {
        "github_id": repo["id"],
        "node_id": repo.get("node_id"),
        "owner": repo["owner"]["login"],
        "name": repo["name"],
        "full_name": repo["full_name"],
        "default_branch": repo.get("default_branch"),
    }


def add_rest_pull_request(rows: Rows, repository_id: int, pr: dict[str, Any]) -> int:
    """A REST pull request (its full form: counts and `merged` are only in the single-PR answer and in
    `pull_request` webhook payloads) as the same row `add_pull_request` makes of the GraphQL node."""
    pr_id = int(pr["id"])
    merged = bool(pr.get("merged") or pr.get("merged_at"))
    rows.pull_requests.append(
        {
            "github_id": pr_id,
            "node_id": pr.get("node_id"),
            "repository_id": repository_id,
            "number": pr["number"],
            "title": pr["title"],
            "body": pr.get("body"),
            "state": pr["state"],
            "draft": bool(pr.get("draft")),
            "merged": merged,
            "merged_at": when(pr.get("merged_at")),
            "merged_by_id": rows.person(rest_user(pr.get("merged_by"))) if merged else None,
            "author_id": rows.person(rest_user(pr.get("user"))),
            "base_ref": pr["base"]["ref"],
            "head_ref": pr["head"]["ref"],
            "created_at": when(pr["created_at"]),
            "updated_at": when(pr["updated_at"]),
            "closed_at": when(pr.get("closed_at")),
            "additions": pr.get("additions"),
            "deletions": pr.get("deletions"),
            "changed_files": pr.get("changed_files"),
            "commits_count": pr.get("commits"),
            "html_url": pr.get("html_url"),
            "head_sha": pr["head"].get("sha"),
        }
    )
    return pr_id


def add_rest_review(rows: Rows, pr_id: int, r: dict[str, Any]) -> None:
    """A REST review; GitHub's REST states are the GraphQL enum's names (APPROVED, DISMISSED, ...)."""
    rows.reviews.append(
        {
            "github_id": int(r["id"]),
            "node_id": r.get("node_id"),
            "pull_request_id": pr_id,
            "author_id": rows.person(rest_user(r.get("user"))),
            "state": str(r["state"]).upper(),
            "body": r.get("body"),
            "submitted_at": when(r.get("submitted_at")),
            "commit_id": r.get("commit_id"),
        }
    )
