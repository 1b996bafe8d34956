"""Compare what the database holds for a repository with a ground truth in the dataset format
(`{"repositories": [{"owner", "name", "pull_requests": [PR + lists]}]}`, as the simulator serves it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from ghcapture.capture.mapping import GHOST_REST_ID, when
from ghcapture.store.tables import (
    comments,
    contributors,
    pr_commits,
    pr_files,
    pull_requests,
    repositories,
    reviews,
)


@dataclass
class Comparison:
    expected: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    mismatched: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def note(self, kind: str, entity: str, what: str) -> None:
        getattr(self, kind)[entity] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{kind} {entity}: {what}")

    def summary(self) -> str:
        if self.equal:
            return "equal: " + ", ".join(f"{k} {v}" for k, v in sorted(self.expected.items()))
        return (
            "; ".join(
                f"{k}: {dict(getattr(self, k))}"
                for k in ("missing", "unexpected", "mismatched")
                if getattr(self, k)
            )
            + " e.g. "
            + " | ".join(self.examples[:5])
        )


def _author(obj: dict[str, Any] | None) -> int | None:
    if not obj or obj.get("id") is None or (obj.get("login") == "ghost" and obj["id"] == GHOST_REST_ID):
        return None
    return int(obj["id"])


def _commit_count(pr: dict[str, Any], default: int) -> int:
    # In the dataset format `commits` is the list of commits; in a bare REST PR it is the count.
    value = pr.get("commits", default)
    return len(value) if isinstance(value, list) else int(value)


def _text(value: str | None) -> str:
    return value or ""


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    return a == b if (a is None or b is None) else abs((a - b).total_seconds()) < 1


def compare_repository(engine: Engine, truth_repo: dict[str, Any]) -> Comparison:
    """Every PR, review, review comment, issue comment, file, commit and person of the truth, exactly once.

    A comment GitHub no longer lists must be held as deleted (`deleted_at`), never as live; a review keeps
    its current state (DISMISSED); a PR whose file list GitHub cut is marked `files_truncated`; each PR's
    commits are exactly its current list."""
    cmp = Comparison()
    prs = truth_repo["pull_requests"]
    with engine.connect() as conn:
        repo_ids = [r[0] for r in conn.execute(select(repositories.c.github_id))]
        base_repo = next((p.get("base", {}).get("repo") for p in prs if p.get("base", {}).get("repo")), None)
        repo_id = (base_repo or {}).get("id") or truth_repo.get("id")
        if repo_id not in repo_ids and prs:
            cmp.note("missing", "repository", str(repo_id))
            return cmp
        db_prs = {
            r.github_id: r
            for r in conn.execute(select(pull_requests).where(pull_requests.c.repository_id == repo_id))
        }
        pr_ids = list(db_prs)
        db_reviews = {
            r.github_id: r for r in conn.execute(select(reviews).where(reviews.c.pull_request_id.in_(pr_ids)))
        }
        db_comments = {
            r.github_id: r
            for r in conn.execute(select(comments).where(comments.c.pull_request_id.in_(pr_ids)))
        }
        db_files = {
            (r.pull_request_id, r.path): r
            for r in conn.execute(select(pr_files).where(pr_files.c.pull_request_id.in_(pr_ids)))
        }
        db_commits = {
            (r.pull_request_id, r.sha): r
            for r in conn.execute(select(pr_commits).where(pr_commits.c.pull_request_id.in_(pr_ids)))
        }
        people = {r.github_id: r for r in conn.execute(select(contributors))}
    expected_people: set[int | None] = set()
    seen: dict[str, set[Any]] = {
        "pull_request": set(),
        "review": set(),
        "comment": set(),
        "file": set(),
        "commit": set(),
    }
    for p in prs:
        cmp.expected["pull_requests"] += 1
        seen["pull_request"].add(p["id"])
        row = db_prs.get(p["id"])
        authors = [_author(p.get("user")), _author(p.get("merged_by"))]
        if row is None:
            cmp.note("missing", "pull_requests", f"#{p['number']}")
        else:
            checks = {
                "number": row.number == p["number"],
                "title": row.title == p["title"],
                "body": _text(row.body) == _text(p.get("body")),
                "state": row.state == p["state"],
                "draft": bool(row.draft) == bool(p.get("draft")),
                "merged_at": _same_time(row.merged_at, when(p.get("merged_at"))),
                "author": row.author_id == authors[0],
                "updated_at": _same_time(row.updated_at, when(p["updated_at"])),
                "closed_at": _same_time(row.closed_at, when(p.get("closed_at"))),
                "changed_files": row.changed_files == p.get("changed_files", row.changed_files),
                "commits": row.commits_count == _commit_count(p, row.commits_count),
                "head_sha": row.head_sha == ((p.get("head") or {}).get("sha") or row.head_sha),
                "files_truncated": bool(row.files_truncated) == _truncated(p),
            }
            if p.get("merged_at"):
                checks["merged_by"] = row.merged_by_id == authors[1]
            for name, ok in checks.items():
                if not ok:
                    cmp.note("mismatched", "pull_requests", f"#{p['number']} {name}")
        expected_people.update(authors if p.get("merged_at") else authors[:1])
        for r in p.get("reviews", []):
            cmp.expected["reviews"] += 1
            seen["review"].add(r["id"])
            expected_people.add(_author(r.get("user")))
            got = db_reviews.get(r["id"])
            if got is None:
                cmp.note("missing", "reviews", str(r["id"]))
            elif (
                got.state != r["state"]
                or _text(got.body) != _text(r.get("body"))
                or got.author_id != _author(r.get("user"))
            ):
                cmp.note("mismatched", "reviews", str(r["id"]))
        for kind, key in (("review_comments", "review_comment"), ("issue_comments", "issue_comment")):
            for c in p.get(kind, []):
                cmp.expected[kind] += 1
                seen["comment"].add(c["id"])
                expected_people.add(_author(c.get("user")))
                got = db_comments.get(c["id"])
                if got is None:
                    cmp.note("missing", kind, str(c["id"]))
                elif got.deleted_at is not None:
                    cmp.note("mismatched", kind, f"{c['id']} held as deleted")
                elif (
                    got.kind != key
                    or _text(got.body) != _text(c.get("body"))
                    or got.author_id != _author(c.get("user"))
                    or not _same_time(got.updated_at, when(c.get("updated_at") or c.get("created_at")))
                ):
                    cmp.note("mismatched", kind, str(c["id"]))
        for f in p.get("files", []):
            key2 = (p["id"], f["filename"])
            if key2 in seen["file"]:
                continue  # GitHub has listed one path twice in a PR; it is one changed file
            cmp.expected["files"] += 1
            seen["file"].add(key2)
            got = db_files.get(key2)
            if got is None:
                cmp.note("missing", "files", f"#{p['number']} {f['filename']}")
            elif (
                got.change_type != f["status"]
                or got.additions != f["additions"]
                or got.deletions != f["deletions"]
                or got.previous_path != f.get("previous_filename")
            ):
                cmp.note("mismatched", "files", f"#{p['number']} {f['filename']}")
        for position, c in enumerate(p["commits"] if isinstance(p.get("commits"), list) else []):
            key3 = (p["id"], c["sha"])
            cmp.expected["commits"] += 1
            seen["commit"].add(key3)
            held = db_commits.get(key3)
            if held is None:
                cmp.note("missing", "commits", f"#{p['number']} {c['sha'][:10]}")
            elif not _same_commit(held, c, position):
                cmp.note("mismatched", "commits", f"#{p['number']} {c['sha'][:10]}")
    for extra in set(db_prs) - seen["pull_request"]:
        cmp.note("unexpected", "pull_requests", str(extra))
    for extra in set(db_reviews) - seen["review"]:
        cmp.note("unexpected", "reviews", str(extra))
    for extra in set(db_comments) - seen["comment"]:
        if db_comments[extra].deleted_at is None:  # a deleted comment's row stays, marked
            cmp.note("unexpected", "comments", str(extra))
    for extra in set(db_commits) - seen["commit"]:
        cmp.note("unexpected", "commits", str(extra))
    for extra in set(db_files) - seen["file"]:
        cmp.note("unexpected", "files", str(extra))
    ghost = None in expected_people
    expected_people.discard(None)
    cmp.expected["people"] = len(expected_people) + ghost
    for person in expected_people:
        if person not in people:
            cmp.note("missing", "people", str(person))
    if ghost and None not in people:
        cmp.note("missing", "people", "ghost")
    cmp.found.update(
        {
            "pull_requests": len(db_prs),
            "reviews": len(db_reviews),
            "comments": len(db_comments),
            "files": len(db_files),
            "commits": len(db_commits),
            "deleted_comments": sum(1 for r in db_comments.values() if r.deleted_at is not None),
        }
    )
    return cmp


def _truncated(pr: dict[str, Any]) -> bool:
    """GitHub cut the file list: `changed_files` counts more files than the list holds."""
    files = pr.get("files")
    if not isinstance(files, list) or "changed_files" not in pr:
        return False
    return int(pr["changed_files"]) > len({f["filename"] for f in files})


def _same_commit(held: Any, commit: dict[str, Any], position: int) -> bool:
    git = commit.get("commit") or {}
    author, committer = git.get("author") or {}, git.get("committer") or {}
    return (
        held.author_name == author.get("name")
        and held.author_email == author.get("email")
        and _same_time(held.authored_at, when(author.get("date")))
        and held.committer_name == committer.get("name")
        and held.committer_email == committer.get("email")
        and _same_time(held.committed_at, when(committer.get("date")))
        # GraphQL's GitActor.user is a User: a bot's or mannequin's commits name no account there.
        and (held.author_id == _author(commit.get("author")) or not _is_user(commit.get("author")))
        and (held.position is None or held.position == position)
    )


def _is_user(account: dict[str, Any] | None) -> bool:
    return bool(account) and (account or {}).get("type", "User") == "User"
