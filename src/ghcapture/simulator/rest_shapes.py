"""GitHub's REST response shapes, rendered from the simulator's model.

`api` is the REST base the client used (https://api.github.com, http://127.0.0.1:PORT or .../api/v3), so the
URLs in an answer lead back to the simulator. Objects loaded from recorded payloads are served as recorded
(with recorded api.github.com URLs pointed at the simulator); fields the recording lacks are derived.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ghcapture.simulator.model import (
    ChangedFile,
    Commit,
    IssueComment,
    Label,
    Milestone,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    User,
    format_time,
    in_state,
    legacy_node_id,
    modern_node_id,
    review_threads,
    thread_node_id,
    visible_reviews,
)

WEB = "https://github.com"
RECORDED_API = "https://api.github.com"


def overlay(derived: dict[str, Any], raw: dict[str, Any] | None, api: str) -> dict[str, Any]:
    """The recorded payload over the derived one: what was recorded wins, what it lacks is derived."""
    if not raw:
        return derived
    out = dict(derived)
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value, api)
        else:
            out[key] = adopt(value, api)
    return out


def adopt(value: Any, api: str) -> Any:
    """A recorded value nothing was derived for (a list of users, say): its links lead here, its users have
    the node_id older recordings lack."""
    if isinstance(value, str) and value.startswith(RECORDED_API) and api != RECORDED_API:
        return api + value[len(RECORDED_API) :]
    if isinstance(value, list):
        return [adopt(item, api) for item in value]
    if isinstance(value, dict):
        out = {key: adopt(item, api) for key, item in value.items()}
        if "login" in out and isinstance(out.get("id"), int) and "node_id" not in out:
            out["node_id"] = legacy_node_id(out.get("type") or "User", out["id"])
        return out
    return value


def user(u: User | None, api: str) -> dict[str, Any] | None:
    if u is None:
        return None
    login = quote(u.login)
    base = f"{api}/users/{login}"
    html = f"{WEB}/apps/{quote(u.graphql_login)}" if u.type == "Bot" else f"{WEB}/{login}"
    derived = {
        "login": u.login,
        "id": u.id,
        "node_id": u.node_id,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": html,
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": u.type,
        "user_view_type": "public",
        "site_admin": u.site_admin,
    }
    return overlay(derived, u.raw, api)


def user_detail(u: User, api: str) -> dict[str, Any]:
    out = user(u, api) or {}
    out.update(
        {
            "name": u.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 1,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2015-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }
    )
    return out


def repository(repo: Repository, api: str, *, full: bool = False) -> dict[str, Any]:
    name = repo.full_name
    base = f"{api}/repos/{name}"
    open_count = len(repo.ordered("created", where=in_state("open")))  # counted once per change
    derived: dict[str, Any] = {
        "id": repo.id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": name,
        "private": repo.private,
        "owner": user(repo.owner, api),
        "html_url": f"{WEB}/{name}",
        "description": None,
        "fork": repo.fork,
        "url": base,
        "forks_url": f"{base}/forks",
        "keys_url": f"{base}/keys{{/key_id}}",
        "collaborators_url": f"{base}/collaborators{{/collaborator}}",
        "teams_url": f"{base}/teams",
        "hooks_url": f"{base}/hooks",
        "issue_events_url": f"{base}/issues/events{{/number}}",
        "events_url": f"{base}/events",
        "assignees_url": f"{base}/assignees{{/user}}",
        "branches_url": f"{base}/branches{{/branch}}",
        "tags_url": f"{base}/tags",
        "blobs_url": f"{base}/git/blobs{{/sha}}",
        "git_tags_url": f"{base}/git/tags{{/sha}}",
        "git_refs_url": f"{base}/git/refs{{/sha}}",
        "trees_url": f"{base}/git/trees{{/sha}}",
        "statuses_url": f"{base}/statuses/{{sha}}",
        "languages_url": f"{base}/languages",
        "stargazers_url": f"{base}/stargazers",
        "contributors_url": f"{base}/contributors",
        "subscribers_url": f"{base}/subscribers",
        "subscription_url": f"{base}/subscription",
        "commits_url": f"{base}/commits{{/sha}}",
        "git_commits_url": f"{base}/git/commits{{/sha}}",
        "comments_url": f"{base}/comments{{/number}}",
        "issue_comment_url": f"{base}/issues/comments{{/number}}",
        "contents_url": f"{base}/contents/{{+path}}",
        "compare_url": f"{base}/compare/{{base}}...{{head}}",
        "merges_url": f"{base}/merges",
        "archive_url": f"{base}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{base}/downloads",
        "issues_url": f"{base}/issues{{/number}}",
        "pulls_url": f"{base}/pulls{{/number}}",
        "milestones_url": f"{base}/milestones{{/number}}",
        "notifications_url": f"{base}/notifications{{?since,all,participating}}",
        "labels_url": f"{base}/labels{{/name}}",
        "releases_url": f"{base}/releases{{/id}}",
        "deployments_url": f"{base}/deployments",
        "created_at": format_time(repo.created_at),
        "updated_at": format_time(repo.updated_at),
        "pushed_at": format_time(repo.updated_at),
        "git_url": f"git://github.com/{name}.git",
        "ssh_url": f"git@github.com:{name}.git",
        "clone_url": f"{WEB}/{name}.git",
        "svn_url": f"{WEB}/{name}",
        "homepage": None,
        "size": 1024,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": open_count,
        "license": _license((repo.raw or {}).get("license"), api),
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if repo.private else "public",
        "forks": 0,
        "open_issues": open_count,
        "watchers": 0,
        "default_branch": repo.default_branch,
    }
    if full:
        derived.update(
            {
                "network_count": 0,
                "subscribers_count": 0,
                "temp_clone_token": None,
                "permissions": {
                    "admin": False,
                    "maintain": False,
                    "push": False,
                    "triage": False,
                    "pull": True,
                },
            }
        )
    return overlay(derived, repo.raw if full else None, api)


# GitHub's database ids of common licenses; their legacy node ids are base64 of "07:License<id>".
LICENSE_IDS = {"apache-2.0": 2, "bsd-2-clause": 4, "gpl-3.0": 9, "lgpl-3.0": 12, "mit": 13}


def _license(raw: dict[str, Any] | None, api: str) -> dict[str, Any] | None:
    """A recorded license with the node_id older recordings lack (GitHub's today's answers carry one)."""
    if not isinstance(raw, dict) or not raw.get("key"):
        return None
    derived = {
        "key": raw["key"],
        "name": raw.get("name", raw["key"]),
        "spdx_id": raw.get("spdx_id"),
        "url": f"{api}/licenses/{raw['key']}",
        "node_id": legacy_node_id("License", LICENSE_IDS.get(raw["key"], 0)),
    }
    return overlay(derived, raw, api)


def pull_request(pr: PullRequest, repo: Repository, api: str, *, full: bool) -> dict[str, Any]:
    name = repo.full_name
    url = f"{api}/repos/{name}/pulls/{pr.number}"
    html = f"{WEB}/{name}/pull/{pr.number}"
    issue = f"{api}/repos/{name}/issues/{pr.number}"
    repo_obj = repository(repo, api)
    derived: dict[str, Any] = {
        "url": url,
        "id": pr.id,
        "node_id": pr.node_id,
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "number": pr.number,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": user(pr.user, api),
        "body": pr.body,
        "created_at": format_time(pr.created_at),
        "updated_at": format_time(pr.updated_at),
        "closed_at": format_time(pr.closed_at),
        "merged_at": format_time(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": user(pr.assignees[0], api) if pr.assignees else None,
        "assignees": [user(u, api) for u in pr.assignees],
        "requested_reviewers": [user(u, api) for u in pr.requested_reviewers],
        "requested_teams": [],
        "labels": [label(x, repo, api) for x in pr.labels],
        "milestone": milestone(pr.milestone, repo, api),
        "draft": pr.draft,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/repos/{name}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": f"{api}/repos/{name}/statuses/{pr.head_sha}",
        "head": _head(pr, repo, api, repo_obj),
        "base": {
            "label": f"{repo.owner.login}:{pr.base_ref}",
            "ref": pr.base_ref,
            "sha": pr.base_sha,
            "user": user(repo.owner, api),
            "repo": repo_obj,
        },
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": issue},
            "comments": {"href": f"{issue}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{api}/repos/{name}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": f"{api}/repos/{name}/statuses/{pr.head_sha}"},
        },
        "author_association": pr.author_association,
        "auto_merge": None,
        "active_lock_reason": None,
    }
    if full:
        derived.update(
            {
                "merged": pr.merged,
                "mergeable": None if pr.state == "closed" else True,
                "rebaseable": None,
                "mergeable_state": "unknown",
                "merged_by": user(pr.merged_by, api),
                "comments": len(pr.issue_comments),
                "review_comments": len(pr.review_comments),
                "maintainer_can_modify": False,
                "commits": pr.commits_count,
                "additions": pr.additions,
                "deletions": pr.deletions,
                "changed_files": pr.changed_files,
            }
        )
    raw = pr.raw
    if raw is not None and not full:
        raw = {k: v for k, v in raw.items() if k not in _FULL_ONLY}
    return overlay(derived, raw, api)


def _head(pr: PullRequest, repo: Repository, api: str, repo_obj: dict[str, Any]) -> dict[str, Any]:
    """The head branch: in the base repository, in a fork, or in a fork since deleted (GitHub then sends
    null `repo`, `user` and `label`, as the recorded real payloads show)."""
    if pr.head_repo_deleted:
        return {"label": None, "ref": pr.head_ref, "sha": pr.head_sha, "user": None, "repo": None}
    where = pr.head_fork or repo
    return {
        "label": f"{where.owner.login}:{pr.head_ref}",
        "ref": pr.head_ref,
        "sha": pr.head_sha,
        "user": user(where.owner, api),
        "repo": repository(pr.head_fork, api) if pr.head_fork is not None else repo_obj,
    }


def label(x: Label, repo: Repository, api: str) -> dict[str, Any]:
    return {
        "id": x.id,
        "node_id": x.node_id,
        "url": f"{api}/repos/{repo.full_name}/labels/{quote(x.name)}",
        "name": x.name,
        "color": x.color,
        "default": x.default,
        "description": x.description,
        # Required by GitHub's description of API version 2026-03-10 (as githubkit's generated models have
        # it): "The user who archived the label, or `null` if it has not been archived."
        "archived_by": None,
    }


def milestone(m: Milestone | None, repo: Repository, api: str) -> dict[str, Any] | None:
    if m is None:
        return None
    url = f"{api}/repos/{repo.full_name}/milestones/{m.number}"
    held = [p for p in repo.pull_requests if p.milestone is m]
    return {
        "url": url,
        "html_url": f"{WEB}/{repo.full_name}/milestone/{m.number}",
        "labels_url": f"{url}/labels",
        "id": m.id,
        "node_id": m.node_id,
        "number": m.number,
        "state": m.state,
        "title": m.title,
        "description": m.description,
        "creator": user(m.creator, api),
        "open_issues": sum(1 for p in held if p.state == "open"),
        "closed_issues": sum(1 for p in held if p.state == "closed"),
        "created_at": format_time(m.created_at),
        "updated_at": format_time(max([m.created_at, *(p.updated_at for p in held)])),
        "closed_at": format_time(m.closed_at),
        "due_on": format_time(m.due_on),
    }


_FULL_ONLY = {
    "merged",
    "mergeable",
    "rebaseable",
    "mergeable_state",
    "merged_by",
    "comments",
    "review_comments",
    "maintainer_can_modify",
    "commits",
    "additions",
    "deletions",
    "changed_files",
}


def review(r: Review, pr: PullRequest, repo: Repository, api: str) -> dict[str, Any]:
    html = f"{WEB}/{repo.full_name}/pull/{pr.number}#pullrequestreview-{r.id}"
    pr_url = f"{api}/repos/{repo.full_name}/pulls/{pr.number}"
    derived = {
        "id": r.id,
        "node_id": r.node_id,
        "user": user(r.user, api),
        "body": r.body,
        "state": r.state,
        "html_url": html,
        "pull_request_url": pr_url,
        "author_association": r.author_association,
        "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
        "submitted_at": format_time(r.submitted_at),
        "commit_id": r.commit_id,
    }
    if r.state == "PENDING":  # not submitted: no submitted_at (see model.visible_reviews)
        del derived["submitted_at"]
    return overlay(derived, r.raw, api)


def review_comment(c: ReviewComment, pr: PullRequest, repo: Repository, api: str) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/pulls/comments/{c.id}"
    html = f"{WEB}/{repo.full_name}/pull/{pr.number}#discussion_r{c.id}"
    pr_url = f"{api}/repos/{repo.full_name}/pulls/{pr.number}"
    derived: dict[str, Any] = {
        "url": url,
        "pull_request_review_id": c.review_id,
        "id": c.id,
        "node_id": c.node_id,
        "diff_hunk": c.diff_hunk,
        "path": c.path,
        "position": c.line,
        "original_position": c.original_line,
        "commit_id": c.commit_id,
        "original_commit_id": c.first_commit_id,
        "user": user(c.user, api),
        "body": c.body,
        "created_at": format_time(c.created_at),
        "updated_at": format_time(c.updated_at),
        "html_url": html,
        "pull_request_url": pr_url,
        "author_association": c.author_association,
        "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pr_url}},
        "reactions": no_reactions(url),
        "start_line": c.start_line,
        "original_start_line": c.original_start_line,
        "start_side": c.side if c.original_start_line is not None else None,
        "line": c.line,
        "original_line": c.original_line,
        "side": c.side,
        "subject_type": c.subject_type,
    }
    if c.in_reply_to_id is not None:
        derived["in_reply_to_id"] = c.in_reply_to_id
    return overlay(derived, c.raw, api)


def no_reactions(url: str) -> dict[str, Any]:
    """The reactions summary of an object nobody reacted to."""
    return {
        "url": f"{url}/reactions",
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


def issue_comment(c: IssueComment, pr: PullRequest, repo: Repository, api: str) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/issues/comments/{c.id}"
    derived = {
        "url": url,
        "html_url": f"{WEB}/{repo.full_name}/pull/{pr.number}#issuecomment-{c.id}",
        "issue_url": f"{api}/repos/{repo.full_name}/issues/{pr.number}",
        "id": c.id,
        "node_id": c.node_id,
        "user": user(c.user, api),
        "created_at": format_time(c.created_at),
        "updated_at": format_time(c.updated_at),
        "author_association": c.author_association,
        "body": c.body,
        "reactions": no_reactions(url),
        "performed_via_github_app": None,
    }
    return overlay(derived, c.raw, api)


def changed_file(f: ChangedFile, pr: PullRequest, repo: Repository, api: str) -> dict[str, Any]:
    path = quote(f.filename)
    derived: dict[str, Any] = {
        "sha": f.sha,
        "filename": f.filename,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": f"{WEB}/{repo.full_name}/blob/{pr.head_sha}/{path}",
        "raw_url": f"{WEB}/{repo.full_name}/raw/{pr.head_sha}/{path}",
        "contents_url": f"{api}/repos/{repo.full_name}/contents/{path}?ref={pr.head_sha}",
    }
    if f.has_patch:
        derived["patch"] = f"@@ -1,{f.deletions} +1,{f.additions} @@"
    if f.previous_filename is not None:
        derived["previous_filename"] = f.previous_filename
    return overlay(derived, f.raw, api)


def commit(c: Commit, repo: Repository, api: str, parents: list[str] | None = None) -> dict[str, Any]:
    base = f"{api}/repos/{repo.full_name}"
    signature = {"name": c.author_name, "email": c.author_email, "date": format_time(c.authored_at)}
    derived: dict[str, Any] = {
        "sha": c.sha,
        "node_id": c.node_id,
        "url": f"{base}/commits/{c.sha}",
        "html_url": f"{WEB}/{repo.full_name}/commit/{c.sha}",
        "comments_url": f"{base}/commits/{c.sha}/comments",
        "commit": {
            "author": signature,
            "committer": {**signature, "date": format_time(c.committed_at)},
            "message": c.message,
            "tree": {"sha": c.sha[::-1], "url": f"{base}/git/trees/{c.sha[::-1]}"},
            "url": f"{base}/git/commits/{c.sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "author": user(c.author, api),
        "committer": user(c.author, api),
        "parents": [
            {"sha": sha, "url": f"{base}/commits/{sha}", "html_url": f"{WEB}/{repo.full_name}/commit/{sha}"}
            for sha in parents or []
        ],
    }
    return overlay(derived, c.raw, api)


# Issue ids are their own sequence on GitHub, apart from pull request ids ("the id of a pull request returned
# from Issues endpoints will be an issue id", https://docs.github.com/rest/issues/issues#list-repository-issues);
# the simulator derives one per pull request, the same every time.
ISSUE_ID_OFFSET = 1_000_000_000


def issue_id(pr: PullRequest) -> int:
    return pr.id + ISSUE_ID_OFFSET


def issue(pr: PullRequest, repo: Repository, api: str, *, score: float | None = None) -> dict[str, Any]:
    """A pull request as the Issues API and issue search show it: an issue with a `pull_request` object."""
    name = repo.full_name
    url = f"{api}/repos/{name}/issues/{pr.number}"
    html = f"{WEB}/{name}/pull/{pr.number}"
    number_id = issue_id(pr)
    derived: dict[str, Any] = {
        "url": url,
        "repository_url": f"{api}/repos/{name}",
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": html,
        "id": number_id,
        "node_id": modern_node_id("I", repo.id, number_id),
        "number": pr.number,
        "title": pr.title,
        "user": user(pr.user, api),
        "labels": [label(x, repo, api) for x in pr.labels],
        "state": pr.state,
        "locked": False,
        "assignee": user(pr.assignees[0], api) if pr.assignees else None,
        "assignees": [user(u, api) for u in pr.assignees],
        "milestone": milestone(pr.milestone, repo, api),
        "comments": len(pr.issue_comments),
        "created_at": format_time(pr.created_at),
        "updated_at": format_time(pr.updated_at),
        "closed_at": format_time(pr.closed_at),
        "author_association": pr.author_association,
        "active_lock_reason": None,
        "draft": pr.draft,
        "pull_request": {
            "url": f"{api}/repos/{name}/pulls/{pr.number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": format_time(pr.merged_at),
        },
        "body": pr.body,
        "reactions": no_reactions(url),
        "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
        "state_reason": None,
    }
    if score is not None:
        derived["score"] = score
    return derived


def requested_reviewers(pr: PullRequest, api: str) -> dict[str, Any]:
    """The review requests still outstanding; recorded ones as recorded."""
    raw = pr.raw or {}
    if "requested_reviewers" in raw:
        return {
            "users": adopt(raw.get("requested_reviewers") or [], api),
            "teams": adopt(raw.get("requested_teams") or [], api),
        }
    return {"users": [user(u, api) for u in pr.requested_reviewers], "teams": []}


def commit_parents(pr: PullRequest) -> dict[str, list[str]]:
    """Each commit's parent in a PR's chain of commits, the first one's being the base."""
    parents: dict[str, list[str]] = {}
    previous: str | None = pr.base_sha
    for c in pr.commits:
        parents[c.sha] = [previous] if previous else []
        previous = c.sha
    return parents


def review_thread(pr: PullRequest, thread: list[ReviewComment], api: str) -> dict[str, Any]:
    """A thread as GitHub's GraphQL API shows it (REST has no threads); in the dataset format only."""
    root = thread[0]
    return {
        "node_id": thread_node_id(pr, thread),
        "comments": [c.id for c in thread],
        "is_resolved": root.resolved_by is not None,
        "resolved_by": user(root.resolved_by, api),
        "is_outdated": root.line is None and root.subject_type == "line",
        "path": root.path,
        "subject_type": root.subject_type,
    }


def pull_request_with_lists(pr: PullRequest, repo: Repository, api: str) -> dict[str, Any]:
    """A PR in the dataset format: the REST object with its reviews, comments, files and commits."""
    out = pull_request(pr, repo, api, full=True)
    # The truth is what a capture's user sees: nobody's pending review but their own, and they review none.
    out["reviews"] = [review(r, pr, repo, api) for r in visible_reviews(pr, None)]
    out["review_comments"] = [review_comment(c, pr, repo, api) for c in pr.review_comments]
    out["issue_comments"] = [issue_comment(c, pr, repo, api) for c in pr.issue_comments]
    out["files"] = [changed_file(f, pr, repo, api) for f in pr.files]
    out["review_threads"] = [review_thread(pr, thread, api) for thread in review_threads(pr)]
    parents = commit_parents(pr)
    out["commits"] = [commit(c, repo, api, parents.get(c.sha)) for c in pr.commits]
    return out
