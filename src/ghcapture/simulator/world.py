"""The simulator's whole state of GitHub data: repositories, users, and a global node index.

Requests are served from one thread while a test or a fault injector changes the world from another, so the
lookup dictionaries are never changed in place: a change builds a new dictionary and swaps it in whole, and a
reader iterating the old one is never disturbed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from ghcapture.simulator.model import (
    GHOST,
    ChangedFile,
    Commit,
    IssueComment,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    User,
    legacy_node_id,
)


class World:
    """Every repository and user the simulator serves, indexed the ways the APIs look them up."""

    def __init__(self) -> None:
        # lower-case full name -> repository; a renamed repository stays here under each old name too
        self.repositories: dict[str, Repository] = {}
        self.repositories_by_id: dict[int, Repository] = {}
        self.users_by_login: dict[str, User] = {GHOST.login.lower(): GHOST}
        self.users_by_id: dict[int, User] = {GHOST.id: GHOST}
        self._nodes: dict[str, Any] | None = None
        self._parents: dict[int, tuple[Repository, PullRequest]] = {}
        self._pr_repos: dict[int, Repository] = {}
        # Fresh ids for objects created at run time. GitHub's ids grow with creation, so a new comment lists
        # after every older one in the id-ordered listings: each new id is above every id held.
        self._last_id = 9_000_000_000
        # Accounts deleted at run time: what they made is the ghost's, and nothing may bring them back.
        self.deleted_user_ids: set[int] = set()
        # Told after each change to a repository (webhook deliveries listen here); the rules know no listener.
        self.listeners: list[Callable[[Repository], None]] = []

    def changed(self, repo: Repository) -> None:
        """Tells every listener that `repo` changed (after an evolve, a rename, a mutation)."""
        for listener in list(self.listeners):
            listener(repo)

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def add_user(self, user: User) -> User:
        if user.id in self.deleted_user_ids:
            return GHOST
        existing = self.users_by_id.get(user.id)
        if existing is not None:
            return existing
        self.users_by_login = {**self.users_by_login, user.login.lower(): user}
        self.users_by_id = {**self.users_by_id, user.id: user}
        self._nodes = None
        return user

    def add_repository(self, repo: Repository) -> Repository:
        self.add_user(repo.owner)
        repo.reindex()
        self.repositories = {**self.repositories, repo.full_name.lower(): repo}
        self.repositories_by_id = {**self.repositories_by_id, repo.id: repo}
        for pr in repo.pull_requests:
            self._add_people(pr)
            held = [pr.id, *(r.id for r in pr.reviews)]
            held += [c.id for c in pr.review_comments] + [c.id for c in pr.issue_comments]
            self._last_id = max(self._last_id, *held)
        self._nodes = None
        return repo

    def _add_people(self, pr: PullRequest) -> None:
        people = [pr.user, pr.merged_by]
        people += [r.user for r in pr.reviews] + [c.user for c in pr.review_comments]
        people += [c.user for c in pr.issue_comments] + [c.author for c in pr.commits]
        people += [*pr.assignees, *pr.requested_reviewers, pr.milestone.creator if pr.milestone else None]
        for person in people:
            if person is not None:
                self.add_user(person)

    def repository(self, owner: str, name: str) -> Repository | None:
        """The repository by its name or any name it had (git and GraphQL follow a rename; REST answers 301
        on an old name, see `moved`)."""
        return self.repositories.get(f"{owner}/{name}".lower())

    def moved(self, owner: str, name: str) -> Repository | None:
        """The repository `owner/name` was the name of before a rename or transfer; None for a current name
        or a name never held."""
        key = f"{owner}/{name}".lower()
        repo = self.repositories.get(key)
        return repo if repo is not None and repo.full_name.lower() != key else None

    def repository_by_id(self, repository_id: int) -> Repository | None:
        return self.repositories_by_id.get(repository_id)

    def rename_repository(self, repo: Repository, new_name: str, new_owner: str | None = None) -> None:
        """Renames `repo`, or transfers it to `new_owner`; every old full name keeps leading to it, as GitHub
        redirects an old name until another repository takes it.

        https://docs.github.com/repositories/creating-and-managing-repositories/renaming-a-repository
        """
        owner = repo.owner
        if new_owner is not None and new_owner.lower() != owner.login.lower():
            found = self.user(new_owner)
            if found is None:
                uid = self.next_id()
                found = User(
                    id=uid, login=new_owner, node_id=legacy_node_id("Organization", uid), type="Organization"
                )
                self.add_user(found)
            owner = found
        old_full, new_full = repo.full_name, f"{owner.login}/{new_name}"
        taken = self.repositories.get(new_full.lower())
        if taken is not None and taken is not repo and taken.full_name.lower() == new_full.lower():
            raise ValueError(f"{new_full} already exists")  # an old name of another repository may be taken
        # Both names lead to the repository before its name changes, so no request in between finds none.
        self.repositories = {**self.repositories, old_full.lower(): repo, new_full.lower(): repo}
        rename = _Renamer(old_full, new_full)
        raw = rename(repo.raw)
        if raw is not None and owner is not repo.owner:
            raw.pop("owner", None)  # the recorded owner is the old one; the new one is derived
        repo.owner, repo.name, repo.raw = owner, new_name, raw
        for pr in repo.pull_requests:
            pr.raw = rename(pr.raw)
            owned: list[Review | ReviewComment | IssueComment | Commit | ChangedFile] = [
                *pr.reviews,
                *pr.review_comments,
                *pr.issue_comments,
                *pr.commits,
                *pr.files,
            ]
            for obj in owned:
                obj.raw = rename(obj.raw)
        repo.version += 1
        self._nodes = None

    def user(self, login: str) -> User | None:
        return self.users_by_login.get(login.lower())

    def rename_user(self, user: User, new_login: str) -> User:
        """The account under a new login, same id and node id; everything it made shows the new login
        (https://docs.github.com/account-and-profile/setting-up-and-managing-your-personal-account-on-github/managing-personal-account-settings/changing-your-github-username)."""
        if self.user(new_login) is not None:
            raise ValueError(f"login {new_login} is taken")
        renamed = User(
            id=user.id,
            login=new_login,
            node_id=user.node_id,
            type=user.type,
            name=user.name,
            site_admin=user.site_admin,
        )
        self._replace_person(user, renamed)
        logins = {k: v for k, v in self.users_by_login.items() if v.id != user.id}
        self.users_by_login = {**logins, new_login.lower(): renamed}
        self.users_by_id = {**self.users_by_id, user.id: renamed}
        return renamed

    def delete_user(self, user: User) -> None:
        """Deletes the account: its pull requests, reviews and comments become the ghost's, and its commits
        keep their git name and email without a linked account
        (https://docs.github.com/account-and-profile/setting-up-and-managing-your-personal-account-on-github/managing-personal-account-settings/deleting-your-personal-account)."""
        self.deleted_user_ids.add(user.id)
        self._replace_person(user, GHOST)
        self.users_by_login = {k: v for k, v in self.users_by_login.items() if v.id != user.id}
        self.users_by_id = {k: v for k, v in self.users_by_id.items() if k != user.id}

    def _replace_person(self, old: User, new: User) -> None:
        """Every reference to the account `old` (by id: two generated repositories may hold two copies of
        one person) now names `new`, in the model and in recorded payloads."""
        rewrite = _PersonRewriter(old, new)
        for repo in self.unique_repositories:
            touched = False
            for pr in repo.pull_requests:
                if pr.user.id == old.id:
                    pr.user, touched = new, True
                if pr.merged_by is not None and pr.merged_by.id == old.id:
                    pr.merged_by, touched = new, True
                authored: list[Review | ReviewComment | IssueComment] = [
                    *pr.reviews,
                    *pr.review_comments,
                    *pr.issue_comments,
                ]
                for obj in authored:
                    if obj.user.id == old.id:
                        obj.user, touched = new, True
                for comment in pr.review_comments:
                    if comment.resolved_by is not None and comment.resolved_by.id == old.id:
                        comment.resolved_by, touched = new, True
                if any(u.id == old.id for u in [*pr.assignees, *pr.requested_reviewers]):
                    # A deleted account is no longer assigned or asked for a review.
                    keep = [] if new.is_ghost else [new]
                    pr.assignees = [x for u in pr.assignees for x in ([u] if u.id != old.id else keep)]
                    pr.requested_reviewers = [
                        x for u in pr.requested_reviewers for x in ([u] if u.id != old.id else keep)
                    ]
                    touched = True
                if pr.head_fork is not None and pr.head_fork.owner.id == old.id:
                    if new.is_ghost:  # a deleted account's forks are deleted with it
                        pr.head_fork, pr.head_repo_deleted = None, True
                    else:
                        pr.head_fork.owner = new
                    touched = True
                if pr.milestone is not None and pr.milestone.creator.id == old.id:
                    pr.milestone.creator, touched = new, True
                for commit in [*pr.commits, *pr.former_commits]:
                    if commit.author is not None and commit.author.id == old.id:
                        commit.author, touched = (None if new.is_ghost else new), True
                owned: list[Any] = [pr, *authored, *pr.commits, *pr.former_commits]
                for obj in owned:
                    if obj.raw is not None:
                        obj.raw = rewrite(obj.raw)
            if touched:
                repo.version += 1
        self._nodes = None

    def pull_request_changed(self, repo: Repository, pr: PullRequest) -> None:
        """Re-index after a pull request gained objects at run time."""
        self._add_people(pr)
        self._nodes = None

    def node(self, node_id: str) -> Any | None:
        if self._nodes is None:
            self._reindex()
        assert self._nodes is not None
        return self._nodes.get(node_id)

    def parent(self, obj: Any) -> tuple[Repository, PullRequest]:
        """The repository and pull request a review, comment or commit belongs to."""
        if self._nodes is None:
            self._reindex()
        return self._parents[id(obj)]

    def repository_of(self, pr: PullRequest) -> Repository:
        if self._nodes is None:
            self._reindex()
        return self._pr_repos[id(pr)]

    @property
    def unique_repositories(self) -> list[Repository]:
        return list({id(r): r for r in self.repositories.values()}.values())

    def _reindex(self) -> None:
        self._parents = {}
        self._pr_repos = {}
        for repo in self.unique_repositories:
            for pr in repo.pull_requests:
                self._pr_repos[id(pr)] = repo
                for obj in [*pr.reviews, *pr.review_comments, *pr.issue_comments, *pr.commits]:
                    self._parents[id(obj)] = (repo, pr)
        self._nodes = dict(self._index())

    def _index(self) -> Iterator[tuple[str, Any]]:
        for user in self.users_by_id.values():
            yield user.node_id, user
        for repo in self.unique_repositories:
            yield repo.node_id, repo
            for pr in repo.pull_requests:
                yield pr.node_id, pr
                owned: list[Review | ReviewComment | IssueComment | Commit] = [
                    *pr.reviews,
                    *pr.review_comments,
                    *pr.issue_comments,
                    *pr.commits,
                ]
                for obj in owned:
                    yield obj.node_id, obj


class _PersonRewriter:
    """Rewrites a recorded payload's objects naming one account (by id) to name another: the login, ids and
    the links that carry the login, keeping the recorded object's shape."""

    def __init__(self, old: User, new: User) -> None:
        self.old, self.new = old, new
        self._login = re.compile(r"(?<=/)" + re.escape(old.login) + r"(?=$|[/?#{])")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        out = {key: self(item) for key, item in value.items()}
        if out.get("id") == self.old.id and "login" in out:
            for key, item in out.items():
                if isinstance(item, str) and key.endswith("url") and key != "avatar_url":
                    out[key] = self._login.sub(self.new.login, item)
            out.update(login=self.new.login, id=self.new.id, node_id=self.new.node_id, type=self.new.type)
            if "avatar_url" in out:
                out["avatar_url"] = f"https://avatars.githubusercontent.com/u/{self.new.id}?v=4"
        return out


class _Renamer:
    """Rewrites a recorded payload's links and names from a repository's old full name to its new one, as
    GitHub's answers show the current name."""

    def __init__(self, old_full: str, new_full: str) -> None:
        self.old_full, self.new_full = old_full, new_full
        self.new_name = new_full.split("/", 1)[1]
        self._in_links = re.compile(r"(?<=[/:])" + re.escape(old_full) + r"(?=$|[/#?]|\.git)", re.IGNORECASE)

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            if value.lower() == self.old_full.lower():
                return self.new_full
            return self._in_links.sub(self.new_full, value)
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, dict):
            out = {key: self(item) for key, item in value.items()}
            if (
                isinstance(value.get("full_name"), str)
                and value["full_name"].lower() == self.old_full.lower()
            ):
                out["name"] = self.new_name
            return out
        return value
