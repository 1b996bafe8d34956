"""Change after the first capture, as real repositories change: new activity and new pull requests, and also
edits, deletions, dismissals, state changes, force-pushes, renamed and deleted accounts, a renamed repository.

Each change is stamped as GitHub stamps it. What moves a pull request's `updated_at`, and what does not:

- moves it: a new comment or review; an edit of the pull request's own title or body; closing, reopening,
  merging, converting to draft and marking ready for review (fields of the pull request itself: in the
  recorded real payloads 29 of 42 closed pull requests have `updated_at` equal to `closed_at`); a push to its
  head branch (it changes the pull request's own `head.sha`, commit count and diff counts).
- does not move it (no public evidence either way, so the less convenient behaviour for a capture is chosen):
  an edit of a comment (the comment's own `updated_at` moves: the REST comment listings' `since` "only show
  results that were last updated after the given time"), a deleted comment, a dismissed review, a renamed or
  deleted account, a review comment a push made outdated (its own `updated_at` does not move either).

A deleted account's pull requests, reviews and comments are the ghost's: REST shows the user `ghost` (id
10137), GraphQL a null author ("In the REST API, we return the Ghost User [...]. In GraphQL we handle this
by returning `null`", GitHub's integration team in atlassian/github-for-jira#164; also
sourcecred/sourcecred#228).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ghcapture.simulator.generator import FILE_CAP, WORDS, generate_repository
from ghcapture.simulator.model import (
    GHOST,
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
    modern_node_id,
    retime,
)
from ghcapture.simulator.world import World

COUNTED_KINDS = (
    "changed",
    "new",
    "force_pushes",
    "edited_comments",
    "edited_bodies",
    "deleted_issue_comments",
    "deleted_review_comments",
    "dismissed_reviews",
    "closed",
    "reopened",
    "merged",
    "to_draft",
    "ready_for_review",
    "renamed_users",
    "deleted_users",
)
KINDS = (*COUNTED_KINDS, "rename_repository", "seed")
# GitHub dismisses only reviews that approve or request changes
# (https://docs.github.com/rest/pulls/reviews#dismiss-a-review-for-a-pull-request).
DISMISSABLE = ("APPROVED", "CHANGES_REQUESTED")


@dataclass
class Changes:
    """What one evolve asks for: a count of each kind of change, and a new name for the repository."""

    counts: dict[str, int] = field(default_factory=dict)
    rename_repository: str | None = None
    seed: int = 7

    @classmethod
    def from_request(cls, payload: Any) -> Changes:
        """The changes a request body asks for; ValueError names the first thing wrong with it."""
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object of counts")
        unknown = sorted(set(payload) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
        counts = {}
        for kind in COUNTED_KINDS:
            value = payload.get(kind, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{kind} must be a non-negative integer, not {value!r}")
            if kind in payload:
                counts[kind] = value
        name = payload.get("rename_repository")
        named = isinstance(name, str) and bool(name) and "/" not in name and name == name.strip()
        if name is not None and not named:
            raise ValueError(f"rename_repository must be a repository name, not {name!r}")
        seed = payload.get("seed", 7)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, not {seed!r}")
        return cls(counts, name, seed)


def evolve_repository(
    world: World,
    repo: Repository,
    *,
    changed: int = 0,
    new: int = 0,
    seed: int = 7,
    now: datetime | None = None,
    **counts: int,
) -> dict[str, Any]:
    """Adds activity to `changed` existing PRs and appends `new` PRs, all stamped `now`; each other count
    (see COUNTED_KINDS) changes that many randomly chosen existing objects. Answers what was changed under
    each kind asked, and always under `changed` and `new`."""
    unknown = set(counts) - set(COUNTED_KINDS)
    if unknown:
        raise ValueError(f"unknown kind {sorted(unknown)[0]!r}")
    return apply_changes(world, repo, Changes({"changed": changed, "new": new, **counts}, None, seed), now)


def apply_changes(
    world: World, repo: Repository, changes: Changes, now: datetime | None = None
) -> dict[str, Any]:
    """Applies `changes` to `repo` in a fixed order (activity, edits, deletions, state changes, pushes,
    accounts, the repository's name) and answers what each kind changed."""
    rng = random.Random(f"evolve:{changes.seed}:{repo.full_name}:{repo.version}")
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if changes.rename_repository is not None:
        taken = world.repository(repo.owner.login, changes.rename_repository)
        if taken is not None and taken is not repo:
            raise ValueError(f"{repo.owner.login}/{changes.rename_repository} already exists")
    step = _Step(world, repo, rng, now)
    count = changes.counts.get
    answer: dict[str, Any] = {
        "changed": step.activity(count("changed", 0)),
        "new": step.new_pull_requests(count("new", 0), changes.seed),
    }
    actions: list[tuple[str, Callable[[int], list[Any]]]] = [
        ("edited_comments", step.edit_comments),
        ("edited_bodies", step.edit_bodies),
        ("deleted_issue_comments", step.delete_issue_comments),
        ("deleted_review_comments", step.delete_review_comments),
        ("dismissed_reviews", step.dismiss_reviews),
        ("closed", step.close),
        ("reopened", step.reopen),
        ("merged", step.merge),
        ("to_draft", step.to_draft),
        ("ready_for_review", step.ready_for_review),
        ("force_pushes", step.force_push),
        ("renamed_users", step.rename_users),
        ("deleted_users", step.delete_users),
    ]
    for kind, action in actions:
        if kind in changes.counts:
            answer[kind] = action(changes.counts[kind])
    for pr in step.touched.values():
        world.pull_request_changed(repo, pr)
    repo.version += 1
    repo.updated_at = max(repo.updated_at, now)
    if changes.rename_repository is not None:
        old = repo.full_name
        world.rename_repository(repo, changes.rename_repository)
        answer["rename_repository"] = {"id": repo.id, "from": old, "to": repo.full_name}
    return answer


class _Step:
    """The changes of one evolve, sharing its random choices, its clock and the PRs it touched."""

    def __init__(self, world: World, repo: Repository, rng: random.Random, now: datetime) -> None:
        self.world, self.repo, self.rng, self.now = world, repo, rng, now
        self.touched: dict[int, PullRequest] = {}  # id -> PR, in the order first touched
        self.state_changed: set[int] = set()  # PRs whose state one change set: no second change undoes it

    def _touch(self, pr: PullRequest, *, moves_updated_at: bool = True) -> None:
        self.touched.setdefault(pr.id, pr)
        if moves_updated_at:
            pr.updated_at = max(pr.updated_at, self.now)
            _forget(pr, "updated_at")

    def _people(self) -> list[User]:
        return [u for u in self.world.users_by_id.values() if u.type == "User" and not u.is_ghost] or [
            self.repo.owner
        ]

    def _pick(self, items: list[Any], count: int) -> list[Any]:
        return self.rng.sample(items, min(count, len(items)))

    # -- activity (new comments and reviews) and new pull requests ----------------------------------------

    def activity(self, count: int) -> list[int]:
        touched = self._pick(self.repo.pull_requests, count)
        people = self._people()
        for k, pr in enumerate(touched):
            at = self.now - timedelta(seconds=len(touched) - k)
            who = self.rng.choice(people)
            if k % 3 == 0:
                cid = self.world.next_id()
                pr.issue_comments.append(
                    IssueComment(
                        id=cid,
                        node_id=modern_node_id("IC", self.repo.id, cid),
                        user=who,
                        body=f"follow-up {cid} ✓",
                        created_at=at,
                        updated_at=at,
                    )
                )
            elif k % 3 == 1:
                # A submitted review answers the request for it.
                pr.requested_reviewers = [u for u in pr.requested_reviewers if u.id != who.id]
                rid, cid = self.world.next_id(), self.world.next_id()
                pr.reviews.append(
                    Review(
                        id=rid,
                        node_id=modern_node_id("PRR", self.repo.id, rid),
                        user=who,
                        state="COMMENTED",
                        body="late review",
                        submitted_at=at,
                        commit_id=pr.head_sha,
                    )
                )
                pr.review_comments.append(
                    ReviewComment(
                        id=cid,
                        node_id=modern_node_id("PRRC", self.repo.id, cid),
                        user=who,
                        body="one more thing",
                        path=pr.files[0].filename if pr.files else "README.md",
                        line=1,
                        original_line=1,
                        diff_hunk="@@ -1 +1 @@",
                        in_reply_to_id=None,
                        review_id=rid,
                        commit_id=pr.head_sha,
                        created_at=at,
                        updated_at=at,
                    )
                )
            else:
                pr.title = pr.title + " (edited)"
                _forget(pr, "title")
                if pr.issue_comments:  # an edited comment moves its updated_at, as on GitHub
                    comment = pr.issue_comments[0]
                    comment.body += " (edited)"
                    comment.updated_at = comment.edited_at = at
                    _forget(comment, "body", "updated_at")
            pr.updated_at = at
            _forget(pr, "updated_at")
            self.touched.setdefault(pr.id, pr)
        return sorted(p.number for p in touched)

    def new_pull_requests(self, count: int, seed: int) -> list[int]:
        if not count:
            return []
        repo, now = self.repo, self.now
        template = generate_repository(
            repo.owner.login, f"{repo.name}-evolve-{repo.version}", count, seed=seed, anchor=now
        )
        next_number = max((p.number for p in repo.pull_requests), default=0) + 1
        labels = {x.name: x for p in repo.pull_requests for x in p.labels}
        milestones = {p.milestone.number: p.milestone for p in repo.pull_requests if p.milestone}
        added = []
        for offset, pr in enumerate(template.pull_requests):
            _squeeze(
                pr,
                now - timedelta(seconds=60 + len(template.pull_requests)),
                now - timedelta(seconds=len(template.pull_requests) - offset),
            )
            pr.number = next_number + offset
            pr.id = self.world.next_id()
            pr.node_id = modern_node_id("PR", repo.id, pr.id)
            self._current_people(pr)
            self._adopt(pr, labels, milestones)
            repo.add_pull_request(pr)
            self.touched.setdefault(pr.id, pr)
            added.append(pr.number)
        return added

    def _adopt(self, pr: PullRequest, labels: dict[str, Label], milestones: dict[int, Milestone]) -> None:
        """A PR generated in a scratch repository takes this repository's labels, milestones and name."""
        pr.labels = [labels.get(x.name, x) for x in pr.labels]
        if pr.milestone is not None:
            pr.milestone = milestones.get(pr.milestone.number)
        if pr.head_fork is not None:
            pr.head_fork.name = self.repo.name

    def _current_people(self, pr: PullRequest) -> None:
        """A generated PR names people as they were generated; the world may have renamed or deleted some."""

        def current(user: User) -> User:
            if user.id in self.world.deleted_user_ids:
                return GHOST
            return self.world.users_by_id.get(user.id, user)

        pr.user = current(pr.user)
        pr.merged_by = None if pr.merged_by is None else current(pr.merged_by)
        for obj in _authored(pr):
            obj.user = current(obj.user)
        for commit in pr.commits:
            if commit.author is not None:
                found = current(commit.author)
                commit.author = None if found.is_ghost else found
        for comment in pr.review_comments:
            if comment.resolved_by is not None:
                comment.resolved_by = current(comment.resolved_by)
        pr.assignees = [u for u in map(current, pr.assignees) if not u.is_ghost]
        pr.requested_reviewers = [u for u in map(current, pr.requested_reviewers) if not u.is_ghost]
        if pr.head_fork is not None:
            owner = current(pr.head_fork.owner)
            if owner.is_ghost:  # a deleted account's forks are deleted with it
                pr.head_fork, pr.head_repo_deleted = None, True
            else:
                pr.head_fork.owner = owner

    # -- edits and deletions --------------------------------------------------------------------------------

    def _comments(self, kinds: tuple[str, ...]) -> list[tuple[PullRequest, str, Any]]:
        return [(pr, kind, c) for pr in self.repo.pull_requests for kind in kinds for c in getattr(pr, kind)]

    def edit_comments(self, count: int) -> list[dict[str, Any]]:
        """Issue comments and review comments get a new body; their `updated_at` moves, the PR's does not."""
        done = []
        for pr, kind, comment in self._pick(self._comments(("issue_comments", "review_comments")), count):
            comment.body = f"{comment.body}\n\n(edited {format_time(self.now)})"
            comment.updated_at = comment.edited_at = self.now
            _forget(comment, "body", "updated_at")
            self._touch(pr, moves_updated_at=False)
            done.append({"number": pr.number, "id": comment.id, "kind": kind[:-1]})
        return done

    def edit_bodies(self, count: int) -> list[int]:
        done = []
        for pr in self._pick(self.repo.pull_requests, count):
            pr.body = f"{pr.body or ''}\n\nEdited: {self.rng.choice(WORDS)} {self.rng.choice(WORDS)}".lstrip()
            pr.edited_at = self.now
            _forget(pr, "body")
            self._touch(pr)
            done.append(pr.number)
        return sorted(done)

    def _delete(self, kind: str, count: int) -> list[dict[str, int]]:
        done = []
        for pr, _kind, comment in self._pick(self._comments((kind,)), count):
            setattr(pr, kind, [c for c in getattr(pr, kind) if c is not comment])
            self._touch(pr, moves_updated_at=False)
            done.append({"number": pr.number, "id": comment.id})
        return done

    def delete_issue_comments(self, count: int) -> list[dict[str, int]]:
        return self._delete("issue_comments", count)

    def delete_review_comments(self, count: int) -> list[dict[str, int]]:
        """Replies to a deleted review comment stay, as on GitHub; their `in_reply_to_id` names it still."""
        return self._delete("review_comments", count)

    def dismiss_reviews(self, count: int) -> list[dict[str, int]]:
        candidates = [(pr, r) for pr in self.repo.pull_requests for r in pr.reviews if r.state in DISMISSABLE]
        done = []
        for pr, review in self._pick(candidates, count):
            review.state = "DISMISSED"
            _forget(review, "state")
            self._touch(pr, moves_updated_at=False)
            done.append({"number": pr.number, "id": review.id})
        return done

    # -- state changes -------------------------------------------------------------------------------------

    def _state_change(self, count: int, eligible: Callable[[PullRequest], bool]) -> list[PullRequest]:
        prs = [p for p in self.repo.pull_requests if p.id not in self.state_changed and eligible(p)]
        chosen = self._pick(prs, count)
        for pr in chosen:
            self.state_changed.add(pr.id)
            self._touch(pr)
            _forget(pr, "state", "draft", "closed_at", "merged_at", "merged_by", "merged", "merge_commit_sha")
        return chosen

    def close(self, count: int) -> list[int]:
        chosen = self._state_change(count, lambda p: p.state == "open")
        for pr in chosen:
            pr.state, pr.closed_at = "closed", self.now
        return sorted(p.number for p in chosen)

    def reopen(self, count: int) -> list[int]:
        # A merged pull request cannot be reopened.
        chosen = self._state_change(count, lambda p: p.state == "closed" and not p.merged)
        for pr in chosen:
            pr.state, pr.closed_at = "open", None
        return sorted(p.number for p in chosen)

    def merge(self, count: int) -> list[int]:
        # A draft cannot be merged: https://docs.github.com/rest/pulls/pulls#merge-a-pull-request answers 405.
        chosen = self._state_change(count, lambda p: p.state == "open" and not p.draft)
        people = self._people()
        for pr in chosen:
            pr.state, pr.closed_at, pr.merged_at = "closed", self.now, self.now
            pr.merged_by = self.rng.choice(people)
            pr.merge_commit_sha = _sha(self.rng)
        return sorted(p.number for p in chosen)

    def to_draft(self, count: int) -> list[int]:
        chosen = self._state_change(count, lambda p: p.state == "open" and not p.draft)
        for pr in chosen:
            pr.draft = True
        return sorted(p.number for p in chosen)

    def ready_for_review(self, count: int) -> list[int]:
        chosen = self._state_change(count, lambda p: p.state == "open" and p.draft)
        for pr in chosen:
            pr.draft = False
        return sorted(p.number for p in chosen)

    # -- force-pushes ----------------------------------------------------------------------------------------

    def force_push(self, count: int) -> list[int]:
        chosen = self._pick([p for p in self.repo.pull_requests if p.state == "open"], count)
        for pr in chosen:
            _rewrite_branch(pr, self.repo, self.rng, self.now)
            self._touch(pr)
        return sorted(p.number for p in chosen)

    # -- accounts --------------------------------------------------------------------------------------------

    def _authors(self) -> list[User]:
        """People (not bots, organizations or the ghost) who made something in this repository."""
        found: dict[int, User] = {}
        for pr in self.repo.pull_requests:
            for who in [pr.user, *(o.user for o in _authored(pr))]:
                if who.type == "User" and not who.is_ghost and who.id != self.repo.owner.id:
                    found.setdefault(who.id, who)
        return sorted(found.values(), key=lambda u: u.id)

    def rename_users(self, count: int) -> list[dict[str, Any]]:
        done = []
        for user in self._pick(self._authors(), count):
            login = user.login
            for n in _numbers():
                if self.world.user(f"{login}-{n}") is None:
                    renamed = self.world.rename_user(user, f"{login}-{n}")
                    break
            self._touch_by(renamed.id)
            done.append({"id": user.id, "from": login, "to": renamed.login})
        return done

    def delete_users(self, count: int) -> list[dict[str, Any]]:
        done = []
        for user in self._pick(self._authors(), count):
            self.world.delete_user(user)
            self._touch_by(GHOST.id)
            done.append({"id": user.id, "login": user.login})
        return done

    def _touch_by(self, user_id: int) -> None:
        for pr in self.repo.pull_requests:
            people = [pr.user, *(o.user for o in _authored(pr))]
            if any(p.id == user_id for p in people):
                self._touch(pr, moves_updated_at=False)


def _authored(pr: PullRequest) -> list[Review | ReviewComment | IssueComment]:
    return [*pr.reviews, *pr.review_comments, *pr.issue_comments]


def _numbers() -> Iterator[int]:
    n = 1
    while True:
        yield n
        n += 1


def _forget(obj: Any, *keys: str) -> None:
    """Drops recorded values the change made stale, so that the model's (current) values are served."""
    raw = getattr(obj, "raw", None)
    if raw is not None and any(k in raw for k in keys):
        obj.raw = {k: v for k, v in raw.items() if k not in keys}


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _rewrite_branch(pr: PullRequest, repo: Repository, rng: random.Random, now: datetime) -> None:
    """A force-push: the branch keeps a prefix of its commits and gets new ones on top, the diff changes
    (a file modified, one no longer changed, one renamed, one added), and review comments move to the new
    head; those on a file the push changed become outdated (`line` and `position` null, GraphQL
    `outdated: true`), keeping their `original_commit_id`."""
    keep = rng.randint(0, max(0, len(pr.commits) - 1))
    pr.former_commits.extend(pr.commits[keep:])
    pr.commits = pr.commits[:keep]
    who = pr.user
    for k in range(rng.randint(1, 3)):
        sha = _sha(rng)
        pr.commits.append(
            Commit(
                sha=sha,
                node_id=modern_node_id("C", repo.id, int(sha[:12], 16)),
                message=f"{rng.choice(WORDS)} {rng.choice(WORDS)} (rewritten)",
                author_name=who.name or who.login,
                author_email=f"{who.login}@users.noreply.github.com",
                # A rebase keeps when a change was written and records when it was committed again.
                authored_at=(pr.created_at + (now - pr.created_at) * (k + 1) / 4).replace(microsecond=0),
                committed_at=now,
                author=None if who.is_ghost else who,
            )
        )
    pr.head_sha = pr.commits[-1].sha
    pr.commits_count = len(pr.commits)
    truncated = pr.changed_files > len(pr.files)
    before = (len(pr.files), sum(f.additions for f in pr.files), sum(f.deletions for f in pr.files))
    touched = _rewrite_files(pr, rng)
    after = (len(pr.files), sum(f.additions for f in pr.files), sum(f.deletions for f in pr.files))
    if truncated:  # what lies past the listed 3,000 files is unchanged
        pr.changed_files += after[0] - before[0]
        pr.additions += after[1] - before[1]
        pr.deletions += after[2] - before[2]
    else:
        pr.changed_files, pr.additions, pr.deletions = after
    del pr.files[FILE_CAP:]  # a file added past the cap is counted, not listed
    for comment in pr.review_comments:
        comment.original_commit_id = comment.first_commit_id
        comment.commit_id = pr.head_sha
        if comment.path in touched:
            comment.line = None
        _forget(comment, "commit_id", "position", "line")
    head = (pr.raw or {}).get("head")
    _forget(pr, "commits", "additions", "deletions", "changed_files", "statuses_url", "_links")
    if isinstance(head, dict) and pr.raw is not None:
        pr.raw = {**pr.raw, "head": {**head, "sha": pr.head_sha}}


def _rewrite_files(pr: PullRequest, rng: random.Random) -> set[str]:
    """Changes a PR's file list as a rewritten branch does; answers the paths whose diff changed."""
    files = list(pr.files[:FILE_CAP])
    commented = {c.path for c in pr.review_comments}
    touched: set[str] = set()
    if files:
        # The push reworks a file someone commented on, where there is one: that is what outdates comments.
        on_commented = [f for f in files if f.filename in commented] or files
        modified = rng.choice(on_commented)
        index = files.index(modified)
        files[index] = ChangedFile(
            sha=_sha(rng),
            filename=modified.filename,
            status="added" if modified.status == "added" else "modified",
            additions=modified.additions + rng.randint(1, 40),
            deletions=modified.deletions + rng.randint(0, 10),
            previous_filename=modified.previous_filename,
        )
        touched.add(modified.filename)
    others = [f for f in files if f.filename not in touched]
    if len(others) > 1:
        dropped = rng.choice(others)  # the rewritten branch no longer changes this file
        files.remove(dropped)
        others.remove(dropped)
        touched.add(dropped.filename)
    renamable = [f for f in others if f.status in ("modified", "renamed")]
    if renamable:
        moved = rng.choice(renamable)
        directory, _, name = moved.filename.rpartition("/")
        new_path = f"{directory}/moved_{name}" if directory else f"moved_{name}"
        files[files.index(moved)] = ChangedFile(
            sha=_sha(rng),
            filename=new_path,
            status="renamed",
            additions=moved.additions,
            deletions=moved.deletions,
            previous_filename=moved.previous_filename or moved.filename,
        )
        touched.add(moved.filename)
    taken = {f.filename for f in files}
    path = f"src/{rng.choice(WORDS)}_{len(files)}_rewritten.py"
    if path not in taken:
        files.append(
            ChangedFile(
                sha=_sha(rng), filename=path, status="added", additions=rng.randint(1, 80), deletions=0
            )
        )
    pr.files = files + pr.files[FILE_CAP:]
    return touched


def _squeeze(pr: PullRequest, start: datetime, end: datetime) -> None:
    """Moves a generated PR's whole life into [start, end], so that all of it is new activity."""
    origin, span = pr.created_at, max(1.0, (pr.updated_at - pr.created_at).total_seconds())
    scale = (end - start).total_seconds() / span
    retime(
        pr, lambda t: (start + timedelta(seconds=(t - origin).total_seconds() * scale)).replace(microsecond=0)
    )
