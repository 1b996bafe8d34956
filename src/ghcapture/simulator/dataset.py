"""The dataset format: `{"repositories": [{"owner", "name", "pull_requests": [PR]}]}`, each PR a GitHub REST
pull-request object with extra lists `reviews`, `review_comments`, `issue_comments`, `files`, `commits`.

Loading keeps each recorded object as `raw` and derives what it lacks (node ids, counts, types). Two entries
that are the same repository under an old and a new name (same id) become one repository, reachable by both.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

from ghcapture.errors import InputError
from ghcapture.simulator import rest_shapes
from ghcapture.simulator.model import (
    ChangedFile,
    Commit,
    IssueComment,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    User,
    legacy_node_id,
    parse_time,
    required_time,
)
from ghcapture.simulator.world import World


def read_dataset(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"dataset {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"dataset {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("repositories"), list):
        raise InputError(f"dataset {path}: expected an object with a 'repositories' list")
    return data


class _Loader:
    def __init__(self, world: World) -> None:
        self.world = world

    def person(self, obj: dict[str, Any] | None) -> User | None:
        if not obj or obj.get("id") is None:
            return None
        known = self.world.users_by_id.get(obj["id"])
        if known is not None:
            return known
        kind = obj.get("type") or ("Bot" if obj["login"].endswith("[bot]") else "User")
        node_id = obj.get("node_id") or legacy_node_id(kind, obj["id"])
        raw = dict(obj)
        raw.pop("avatar_url", None)  # old gravatar addresses: derive today's
        return self.world.add_user(
            User(
                id=obj["id"],
                login=obj["login"],
                node_id=node_id,
                type=kind,
                name=obj.get("name"),
                site_admin=bool(obj.get("site_admin")),
                raw=raw,
            )
        )

    def pull_request(self, p: dict[str, Any]) -> PullRequest:
        head = p.get("head") or {}
        base = p.get("base") or {}
        author = self.person(p.get("user")) or self.world.users_by_id[10137]
        raw = {
            k: v
            for k, v in p.items()
            if k not in ("reviews", "review_comments", "issue_comments", "files", "commits")
        }
        pr = PullRequest(
            id=p["id"],
            node_id=p.get("node_id") or legacy_node_id("PullRequest", p["id"]),
            number=p["number"],
            title=p.get("title") or "",
            body=p.get("body"),
            state=p.get("state", "open"),
            draft=bool(p.get("draft")),
            user=author,
            base_ref=base.get("ref", "main"),
            head_ref=head.get("ref", ""),
            head_sha=head.get("sha", ""),
            base_sha=base.get("sha", ""),
            created_at=required_time(p["created_at"]),
            updated_at=required_time(p.get("updated_at") or p["created_at"]),
            closed_at=parse_time(p.get("closed_at")),
            merged_at=parse_time(p.get("merged_at")),
            merged_by=self.person(p.get("merged_by")),
            merge_commit_sha=p.get("merge_commit_sha"),
            head_repo_deleted="repo" in head and head["repo"] is None,
            raw=raw,
        )
        for r in p.get("reviews", []):
            pr.reviews.append(
                Review(
                    id=r["id"],
                    node_id=r.get("node_id") or legacy_node_id("PullRequestReview", r["id"]),
                    user=self.person(r.get("user")) or self.world.users_by_id[10137],
                    state=r.get("state", "COMMENTED"),
                    body=r.get("body") or "",
                    submitted_at=parse_time(r.get("submitted_at")) or pr.created_at,
                    commit_id=r.get("commit_id") or pr.head_sha,
                    raw=r,
                )
            )
        for c in p.get("review_comments", []):
            pr.review_comments.append(
                ReviewComment(
                    id=c["id"],
                    node_id=c.get("node_id") or legacy_node_id("PullRequestReviewComment", c["id"]),
                    user=self.person(c.get("user")) or self.world.users_by_id[10137],
                    body=c.get("body") or "",
                    path=c.get("path", ""),
                    line=c.get("line", c.get("position")),
                    original_line=c.get("original_line", c.get("original_position")),
                    diff_hunk=c.get("diff_hunk", ""),
                    in_reply_to_id=c.get("in_reply_to_id"),
                    review_id=c.get("pull_request_review_id"),
                    commit_id=c.get("commit_id", ""),
                    created_at=required_time(c["created_at"]),
                    updated_at=required_time(c.get("updated_at") or c["created_at"]),
                    raw=c,
                )
            )
        for c in p.get("issue_comments", []):
            pr.issue_comments.append(
                IssueComment(
                    id=c["id"],
                    node_id=c.get("node_id") or legacy_node_id("IssueComment", c["id"]),
                    user=self.person(c.get("user")) or self.world.users_by_id[10137],
                    body=c.get("body") or "",
                    created_at=required_time(c["created_at"]),
                    updated_at=required_time(c.get("updated_at") or c["created_at"]),
                    raw=c,
                )
            )
        for f in p.get("files", []):
            pr.files.append(
                ChangedFile(
                    sha=f.get("sha") or "",
                    filename=f["filename"],
                    status=f.get("status", "modified"),
                    additions=f.get("additions", 0),
                    deletions=f.get("deletions", 0),
                    previous_filename=f.get("previous_filename"),
                    raw=f,
                )
            )
        for c in p.get("commits", []):
            detail = c.get("commit") or {}
            who = detail.get("author") or {}
            pr.commits.append(
                Commit(
                    sha=c["sha"],
                    node_id=c.get("node_id") or _legacy_commit_id(base.get("repo"), c["sha"]),
                    message=detail.get("message", ""),
                    author_name=who.get("name", ""),
                    author_email=who.get("email", ""),
                    authored_at=parse_time(who.get("date")) or pr.created_at,
                    committed_at=parse_time((detail.get("committer") or {}).get("date")) or pr.created_at,
                    author=self.person(c.get("author")),
                    raw=c,
                )
            )
        # Counts the list payloads lack are derived from what is held.
        pr.additions = p.get("additions", sum(f.additions for f in pr.files))
        pr.deletions = p.get("deletions", sum(f.deletions for f in pr.files))
        pr.changed_files = p.get("changed_files", len(pr.files))
        pr.commits_count = (
            p.get("commits", len(pr.commits)) if isinstance(p.get("commits"), int) else len(pr.commits)
        )
        return pr


def _stable_id(text: str) -> int:
    # crc32, not hash(): ids must not change between processes (hash() is salted per process).
    return zlib.crc32(text.lower().encode()) % 10**8


def _legacy_commit_id(repo: dict[str, Any] | None, sha: str) -> str:
    """GitHub's legacy Commit id, base64 of '06:Commit<repository id>:<sha>'."""
    return base64.b64encode(f"06:Commit{(repo or {}).get('id', 0)}:{sha}".encode()).decode()


def _merge(old: PullRequest, new: PullRequest) -> PullRequest:
    """One PR recorded twice: the newer record's fields, the union of both records' lists."""
    keep, other = (
        (new, old)
        if (new.updated_at, new.raw is not None and "node_id" in new.raw)
        >= (old.updated_at, old.raw is not None and "node_id" in old.raw)
        else (old, new)
    )
    for attr, key in (
        ("reviews", "id"),
        ("review_comments", "id"),
        ("issue_comments", "id"),
        ("files", "filename"),
        ("commits", "sha"),
    ):
        mine = getattr(keep, attr)
        seen = {getattr(x, key) for x in mine}
        mine.extend(x for x in getattr(other, attr) if getattr(x, key) not in seen)
    keep.changed_files = max(keep.changed_files, len(keep.files))
    keep.commits_count = max(keep.commits_count, len(keep.commits))
    return keep


def load_dataset(data: dict[str, Any], world: World) -> list[Repository]:
    """Adds the dataset's repositories to `world`; returns them (merged where two names are one)."""
    loader = _Loader(world)
    by_id: dict[int, tuple[Repository, str]] = {}  # repo id -> (repository, newest activity)
    aliases: dict[str, int] = {}
    for entry in data["repositories"]:
        try:
            owner, name = entry["owner"], entry["name"]
            prs = [loader.pull_request(p) for p in entry.get("pull_requests", [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"dataset: malformed repository entry {entry.get('owner')}/{entry.get('name')} ({exc})"
            ) from None
        base_repo = next(
            (
                (p.raw or {}).get("base", {}).get("repo")
                for p in prs
                if (p.raw or {}).get("base", {}).get("repo")
            ),
            None,
        )
        repo_id = (base_repo or {}).get("id") or _stable_id(f"{owner}/{name}")
        newest = max((p.raw.get("updated_at") or "" for p in prs if p.raw), default="")
        owner_obj = (base_repo or {}).get("owner") or {
            "login": owner,
            "id": _stable_id(owner),
            "type": "User",
        }
        if repo_id in by_id:
            repo, seen_newest = by_id[repo_id]
            if newest > seen_newest:  # the newer recording carries the current name
                aliases[repo.full_name.lower()] = repo_id
                repo.owner = loader.person(owner_obj) or repo.owner
                repo.name = name
                by_id[repo_id] = (repo, newest)
            else:
                aliases[f"{owner}/{name}".lower()] = repo_id
        else:
            repo = Repository(
                id=repo_id,
                node_id=(base_repo or {}).get("node_id") or legacy_node_id("Repository", repo_id),
                owner=loader.person(owner_obj) or loader.person({"login": owner, "id": 1}),  # type: ignore[arg-type]
                name=name,
                default_branch=(base_repo or {}).get("default_branch", "main"),
                raw=base_repo,
            )
            by_id[repo_id] = (repo, newest)
        for pr in prs:
            existing = repo.pull_request(pr.number)
            if existing is None:
                repo.add_pull_request(pr)
            else:
                merged = _merge(existing, pr)
                repo.pull_requests[repo.pull_requests.index(existing)] = merged
                repo.reindex()
    repos = []
    for repo, _newest in by_id.values():
        repo.reindex()
        if repo.pull_requests:
            repo.updated_at = max(p.updated_at for p in repo.pull_requests)
            repo.created_at = min(p.created_at for p in repo.pull_requests)
        world.add_repository(repo)
        repos.append(repo)
    for alias, repo_id in aliases.items():
        world.repositories.setdefault(alias, by_id[repo_id][0])
    return repos


def dump_repository(repo: Repository, api: str) -> dict[str, Any]:
    """Everything held for one repository, in the dataset format (the simulator's ground truth)."""
    return {
        "owner": repo.owner.login,
        "name": repo.name,
        "id": repo.id,
        "pull_requests": [rest_shapes.pull_request_with_lists(pr, repo, api) for pr in repo.pull_requests],
    }
