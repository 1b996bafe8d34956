"""What the simulator holds: users, repositories, pull requests and everything that hangs off them.

Objects keep the `raw` REST payload they were loaded from, if any, so recorded data is served back as
recorded, with only the fields it lacks derived.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

GHOST_ID = 10137
GHOST_NODE_ID = "MDQ6VXNlcjEwMTM3"


def legacy_node_id(type_name: str, database_id: int) -> str:
    """GitHub's legacy global id: base64 of '0<len>:<Type><id>' (MDQ6VXNlcjEwMTM3 is User 10137, and
    MDExOlB1bGxSZXF1ZXN0 opens every PullRequest's)."""
    raw = f"0{len(type_name)}:{type_name}{database_id}".encode()
    return base64.b64encode(raw).decode()


def modern_node_id(prefix: str, *parts: int) -> str:
    """A next-format global id such as PR_kwDOAB...: a type prefix and an opaque base64url body."""
    body = b"".join(p.to_bytes(8, "big") for p in parts)
    return f"{prefix}_kw" + base64.urlsafe_b64encode(body).decode().rstrip("=")


def parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def required_time(value: str) -> datetime:
    parsed = parse_time(value)
    assert parsed is not None
    return parsed


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RepeatedText:
    """A long text kept as the paragraph it repeats, `(paragraph * repeats)[:length]`, and built each time
    it is read: a generated release note of 70,000 characters takes a paragraph's memory, not its own."""

    __slots__ = ("paragraph", "repeats", "length")

    def __init__(self, paragraph: str, repeats: int, length: int) -> None:
        self.paragraph, self.repeats, self.length = paragraph, repeats, length

    def __str__(self) -> str:
        return (self.paragraph * self.repeats)[: self.length]


def repeated_text(paragraph: str, repeats: int, length: int) -> str:
    """`(paragraph * repeats)[:length]` as a text field of the model holds it: read back as that string."""
    return cast(str, RepeatedText(paragraph, repeats, length))


def held_text(obj: Any, name: str) -> Any:
    """What a text field holds: a RepeatedText is shown as itself, not as the string it makes."""
    return getattr(type(obj), name).fget.__defaults__[0].__get__(obj, type(obj))


def _texts_built_when_read(cls: type, *names: str) -> None:
    """Makes the slot fields `names` of `cls` read a RepeatedText stored in them as the string it makes."""
    for name in names:
        slot = cls.__dict__[name]

        def read(obj: Any, slot: Any = slot) -> Any:
            value = slot.__get__(obj, cls)
            return str(value) if type(value) is RepeatedText else value

        def write(obj: Any, value: Any, slot: Any = slot) -> None:
            slot.__set__(obj, value)

        setattr(cls, name, property(read, write))


@dataclass(slots=True, eq=False)
class User:
    id: int
    login: str
    node_id: str
    type: str = "User"  # User, Bot, Organization, Mannequin
    name: str | None = None
    site_admin: bool = False
    raw: dict[str, Any] | None = None

    @property
    def is_ghost(self) -> bool:
        return self.login == "ghost" and self.id == GHOST_ID

    @property
    def graphql_login(self) -> str:
        # GraphQL names a bot without the "[bot]" suffix REST shows.
        return (
            self.login[: -len("[bot]")] if self.type == "Bot" and self.login.endswith("[bot]") else self.login
        )


GHOST = User(id=GHOST_ID, login="ghost", node_id=GHOST_NODE_ID, type="User", name=None)


@dataclass(slots=True, eq=False)
class Label:
    id: int
    node_id: str
    name: str
    color: str
    description: str | None = None
    default: bool = False


@dataclass(slots=True, eq=False)
class Milestone:
    id: int
    node_id: str
    number: int
    title: str
    creator: User
    created_at: datetime
    state: str = "open"  # open, closed
    description: str | None = None
    due_on: datetime | None = None
    closed_at: datetime | None = None


@dataclass(slots=True, eq=False)
class Review:
    id: int
    node_id: str
    user: User
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    body: str
    submitted_at: datetime
    commit_id: str
    raw: dict[str, Any] | None = None
    author_association: str = "CONTRIBUTOR"


@dataclass(slots=True, eq=False)
class ReviewComment:
    id: int
    node_id: str
    user: User
    body: str
    path: str
    line: int | None
    original_line: int | None
    diff_hunk: str
    in_reply_to_id: int | None
    review_id: int | None
    commit_id: str
    created_at: datetime
    updated_at: datetime
    raw: dict[str, Any] | None = None
    original_commit_id: str | None = None  # None: the commit it was made on is still `commit_id`
    author_association: str = "CONTRIBUTOR"
    start_line: int | None = None  # the first line of a multi-line comment
    original_start_line: int | None = None
    side: str = "RIGHT"  # LEFT: a line the pull request removes
    subject_type: str = "line"  # file: a comment on the whole file, without a line
    # On a thread's first comment: who resolved the thread. REST does not know threads, so recorded data
    # never says; its threads are unresolved.
    resolved_by: User | None = None
    edited_at: datetime | None = None  # when its body was last edited (GraphQL lastEditedAt)

    @property
    def first_commit_id(self) -> str:
        return self.original_commit_id or self.commit_id


@dataclass(slots=True, eq=False)
class IssueComment:
    id: int
    node_id: str
    user: User
    body: str
    created_at: datetime
    updated_at: datetime
    raw: dict[str, Any] | None = None
    author_association: str = "CONTRIBUTOR"
    edited_at: datetime | None = None  # when its body was last edited (GraphQL lastEditedAt)


@dataclass(slots=True, eq=False)
class ChangedFile:
    sha: str
    filename: str
    status: str  # added, removed, modified, renamed, copied, changed, unchanged
    additions: int
    deletions: int
    previous_filename: str | None = None
    raw: dict[str, Any] | None = None
    has_patch: bool = True  # GitHub sends no `patch` for a binary file or a diff over its size limits


@dataclass(slots=True, eq=False)
class Commit:
    sha: str
    node_id: str
    message: str
    author_name: str
    author_email: str
    authored_at: datetime
    committed_at: datetime
    author: User | None
    raw: dict[str, Any] | None = None


@dataclass(slots=True, eq=False)
class PullRequest:
    id: int
    node_id: str
    number: int
    title: str
    body: str | None
    state: str  # open, closed
    draft: bool
    user: User
    base_ref: str
    head_ref: str
    head_sha: str
    base_sha: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    additions: int = 0
    deletions: int = 0
    changed_files: int = 0
    commits_count: int = 0
    head_repo_deleted: bool = False
    reviews: list[Review] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)
    issue_comments: list[IssueComment] = field(default_factory=list)
    files: list[ChangedFile] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    raw: dict[str, Any] | None = None
    # Commits a force-push took off the branch: no longer listed, still what older review comments name.
    former_commits: list[Commit] = field(default_factory=list)
    author_association: str = "CONTRIBUTOR"
    labels: list[Label] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    requested_reviewers: list[User] = field(default_factory=list)
    milestone: Milestone | None = None
    head_fork: Repository | None = None  # the fork the head branch is in; None: the base repository
    edited_at: datetime | None = None  # when its body was last edited (GraphQL lastEditedAt)

    @property
    def cross_repository(self) -> bool:
        return self.head_fork is not None or self.head_repo_deleted

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


@dataclass(slots=True, eq=False)
class Repository:
    id: int
    node_id: str
    owner: User
    name: str
    default_branch: str = "main"
    created_at: datetime = field(default_factory=lambda: datetime(2015, 1, 1, tzinfo=UTC))
    updated_at: datetime = field(default_factory=lambda: datetime(2015, 1, 1, tzinfo=UTC))
    private: bool = False
    pull_requests: list[PullRequest] = field(default_factory=list)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # ref -> path -> content
    raw: dict[str, Any] | None = None
    fork: bool = False
    version: int = 0  # bumped on every change, so cached listings know when to rebuild
    _by_number: dict[int, PullRequest] = field(default_factory=dict, repr=False)
    # Listings in the orders pages ask for, each built once per change of the repository (its `version`,
    # and the count of its pull requests) so that serving a page is a slice, not a sort.
    _orders: dict[tuple[str, bool, str], tuple[tuple[int, int], list[PullRequest]]] = field(
        default_factory=dict, repr=False
    )

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def add_pull_request(self, pr: PullRequest) -> None:
        self.pull_requests.append(pr)
        self._by_number[pr.number] = pr
        self.version += 1

    def pull_request(self, number: int) -> PullRequest | None:
        return self._by_number.get(number)

    def reindex(self) -> None:
        self.pull_requests.sort(key=lambda p: p.number)
        self._by_number = {p.number: p for p in self.pull_requests}
        self._orders.clear()

    def ordered(
        self,
        by: str,
        *,
        descending: bool = False,
        where: tuple[str, Callable[[PullRequest], bool]] | None = None,
    ) -> list[PullRequest]:
        """The pull requests (those `where` keeps, named by its first item) ordered by `by` (created,
        updated or comments), ties broken by number. Kept until the repository changes; not to be
        modified by the caller."""
        stamp = (self.version, len(self.pull_requests))
        name = where[0] if where is not None else ""
        cached = self._orders.get((by, descending, name))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if descending:
            # Keys are unique (the number breaks ties), so descending order is ascending order reversed.
            found = self.ordered(by, where=where)[::-1]
        else:
            if where is not None:
                found = [p for p in self.ordered(by) if where[1](p)]
            else:
                found = sorted(self.pull_requests, key=ORDER_KEYS[by])
        self._orders[(by, descending, name)] = (stamp, found)
        return found


def in_state(state: str) -> tuple[str, Callable[[PullRequest], bool]]:
    """A `where` of Repository.ordered keeping the pull requests in `state` (open or closed)."""
    return f"state:{state}", lambda p: p.state == state


ORDER_KEYS: dict[str, Callable[[PullRequest], Any]] = {
    "created": lambda p: (p.created_at, p.number),
    "updated": lambda p: (p.updated_at, p.number),
    "comments": lambda p: (len(p.issue_comments), p.number),
}


for _cls in (PullRequest, Review, ReviewComment, IssueComment):
    _texts_built_when_read(_cls, "body")


def visible_reviews(pr: PullRequest, viewer: str | None) -> list[Review]:
    """A pending review is seen by its author only (https://docs.github.com/rest/pulls/reviews: "Pull
    request reviews created in the PENDING state are not submitted and therefore do not include the
    submitted_at property in the response")."""
    return [
        r
        for r in pr.reviews
        if r.state != "PENDING" or (viewer is not None and r.user.login.lower() == viewer.lower())
    ]


def review_threads(pr: PullRequest) -> list[list[ReviewComment]]:
    """Review comments gathered into the threads they open or reply to, each oldest first, in the order the
    threads began. A reply whose comment was deleted begins a thread of its own."""
    by_id = {c.id: c for c in pr.review_comments}
    threads: dict[int, list[ReviewComment]] = {}
    for c in sorted(pr.review_comments, key=lambda c: (c.created_at, c.id)):
        root, hops = c, 0
        while root.in_reply_to_id is not None and root.in_reply_to_id in by_id and hops < 1000:
            root, hops = by_id[root.in_reply_to_id], hops + 1
        threads.setdefault(root.id, []).append(c)
    for comments in threads.values():
        comments.sort(key=lambda c: (c.created_at, c.id))
    return list(threads.values())


def thread_node_id(pr: PullRequest, thread: list[ReviewComment]) -> str:
    return modern_node_id("PRRT", pr.id, thread[0].id)


TIMESTAMPS = (
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
    "submitted_at",
    "authored_at",
    "committed_at",
    "edited_at",
)


def retime(pr: PullRequest, change: Callable[[datetime], datetime]) -> None:
    """Applies `change` to every timestamp of a pull request and of everything on it."""
    for obj in [pr, *pr.reviews, *pr.review_comments, *pr.issue_comments, *pr.commits]:
        for attr in TIMESTAMPS:
            value = getattr(obj, attr, None)
            if value is not None:
                setattr(obj, attr, change(value))
