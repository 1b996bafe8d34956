"""The simulator's whole state of GitHub data: repositories, users, and a global node index."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from ghcapture.simulator.model import (
    GHOST,
    Commit,
    IssueComment,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    User,
)


class World:
    """Every repository and user the simulator serves, indexed the ways the APIs look them up."""

    def __init__(self) -> None:
        self.repositories: dict[str, Repository] = {}  # lower-case full name -> repository
        self.users_by_login: dict[str, User] = {GHOST.login.lower(): GHOST}
        self.users_by_id: dict[int, User] = {GHOST.id: GHOST}
        self._nodes: dict[str, Any] | None = None
        self._parents: dict[int, tuple[Repository, PullRequest]] = {}
        self._pr_repos: dict[int, Repository] = {}
        self._ids = itertools.count(9_000_000_000)  # fresh ids for objects created at run time

    def next_id(self) -> int:
        return next(self._ids)

    def add_user(self, user: User) -> User:
        existing = self.users_by_id.get(user.id)
        if existing is not None:
            return existing
        self.users_by_login[user.login.lower()] = user
        self.users_by_id[user.id] = user
        self._nodes = None
        return user

    def add_repository(self, repo: Repository) -> Repository:
        self.add_user(repo.owner)
        repo.reindex()
        self.repositories[repo.full_name.lower()] = repo
        for pr in repo.pull_requests:
            self._add_people(pr)
        self._nodes = None
        return repo

    def _add_people(self, pr: PullRequest) -> None:
        people = [pr.user, pr.merged_by]
        people += [r.user for r in pr.reviews] + [c.user for c in pr.review_comments]
        people += [c.user for c in pr.issue_comments] + [c.author for c in pr.commits]
        for person in people:
            if person is not None:
                self.add_user(person)

    def repository(self, owner: str, name: str) -> Repository | None:
        return self.repositories.get(f"{owner}/{name}".lower())

    def user(self, login: str) -> User | None:
        return self.users_by_login.get(login.lower())

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
