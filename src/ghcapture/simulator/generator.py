"""A deterministic generator of repositories whose pull requests look like real ones: heavy-tailed counts,
bots, the deleted "ghost" user, drafts, renamed files, very long bodies and non-ASCII text; and what real
pull requests carry besides (`_Extras`): file lists over GitHub's 3,000-file cap, binary and oversized files
without a patch, resolved and unresolved threads, multi-line, file-level and LEFT-side review comments,
pending reviews, labels, assignees, requested reviewers, milestones, author associations and forks.

The same seed and repository name give the same repository, with timestamps laid out backwards from an
anchor (by default today, midnight UTC), so that "the last N days" means something.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import random
import sys
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    legacy_node_id,
    modern_node_id,
    repeated_text,
    retime,
)

FILE_CAP = 3000  # GitHub lists at most 3,000 files of a pull request

BOTS = [
    User(id=49699333, login="dependabot[bot]", node_id="MDM6Qm90NDk2OTkzMzM=", type="Bot"),
    User(id=41898282, login="github-actions[bot]", node_id="MDM6Qm90NDE4OTgyODI=", type="Bot"),
    User(id=29139614, login="renovate[bot]", node_id="MDM6Qm90MjkxMzk2MTQ=", type="Bot"),
]

FIRST = [
    "ada",
    "linus",
    "grace",
    "ken",
    "margaret",
    "dennis",
    "barbara",
    "guido",
    "yukihiro",
    "radia",
    "edsger",
    "frances",
    "tim",
    "sophie",
    "jean",
    "hedy",
    "alan",
    "katherine",
    "bjarne",
    "anita",
]
LAST = [
    "lovelace",
    "torvalds",
    "hopper",
    "thompson",
    "hamilton",
    "ritchie",
    "liskov",
    "rossum",
    "matsumoto",
    "perlman",
    "dijkstra",
    "allen",
    "berners",
    "wilson",
    "sammet",
    "lamarr",
    "turing",
    "johnson",
]
NAMES = [
    "José Álvarez",
    "李小龙",
    "Zoë Ødegård",
    "Ελένη Παπαδοπούλου",
    "Сергей Иванов",
    "Nguyễn Văn An",
    "Ada Lovelace",
    "Grace Hopper",
    None,
    None,
    "Øystein Ærø",
    "محمد علي",
    "山田太郎",
    None,
]
WORDS = (
    "fix add remove update refactor parser cache queue retry budget token review comment file commit "
    "handle edge case when the page is empty and the cursor moves test docs bump dependency improve "
    "performance memory leak in worker scheduler migrate schema index"
).split()
NON_ASCII = [
    "Ünïcödé ✓",
    "日本語のテキスト",
    "émoji 🎉🚀",
    "Ελληνικά",
    "кириллица",
    "中文说明",
    "עברית",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
STATES = ["APPROVED"] * 5 + ["COMMENTED"] * 6 + ["CHANGES_REQUESTED"] * 2 + ["DISMISSED"]
EXTS = [".py", ".ts", ".go", ".md", ".rs", ".yml", ".json", ".c", ".h", ".txt"]
DIRS = ["src", "lib", "docs", "tests", "cmd", "internal", "pkg", "scripts", "app/models", "web/static"]


@dataclass(frozen=True)
class Shape:
    """Means and tails of the per-PR counts. `tail_rate` scales how often a PR is one of the giants."""

    reviews: float = 1.5
    review_comments: float = 2.0
    issue_comments: float = 3.0
    files: float = 6.0
    commits: float = 3.0
    tail_rate: float = 1.0


def default_anchor() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def _slot(seed: int, full_name: str) -> int:
    return zlib.crc32(f"{seed}:{full_name.lower()}".encode()) % 99_991


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _count(
    rng: random.Random, mean: float, tail_p: float, lo: int, hi: int, floor: int = 0, rate: float = 1.0
) -> int:
    """A heavy-tailed count: mostly geometric around `mean`, now and then a giant in [lo, hi]."""
    if tail_p > 0 and rng.random() < tail_p:
        return rng.randint(lo, hi)
    # A raised tail rate adds giants on top of ordinary PRs instead of hollowing the ordinary ones out.
    body_p = tail_p / rate if rate > 1 else tail_p
    body_mean = max(0.05, (mean - body_p * (lo + hi) / 2 - floor) / max(1e-9, 1 - body_p))
    return floor + int(round(rng.expovariate(1 / body_mean)))


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _body(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.10:  # very long bodies, as release notes and logs pasted into PRs are
        paragraph = _sentence(rng, 60) + " " + rng.choice(NON_ASCII) + "\n\n"
        repeats = rng.randint(20_000, 70_000) // len(paragraph) + 1
        return repeated_text(paragraph, repeats, rng.randint(20_000, 70_000))
    text = _sentence(rng, rng.randint(3, 40))
    if rng.random() < 0.25:
        text += " " + rng.choice(NON_ASCII)
    return text


def user_pool(seed: int, size: int) -> list[User]:
    """The same people for every repository generated with this seed."""
    rng = random.Random(f"users:{seed}")
    people = []
    for i in range(size):
        generation = i // (len(FIRST) * len(LAST)) or ""
        login = f"{FIRST[i % len(FIRST)]}-{LAST[(i // len(FIRST)) % len(LAST)]}{generation}"
        uid = 5_000_000 + i
        people.append(
            User(
                id=uid, login=login, node_id=legacy_node_id("User", uid), type="User", name=rng.choice(NAMES)
            )
        )
    return people


def generate_repository(
    owner: str,
    name: str,
    prs: int,
    *,
    seed: int = 1,
    anchor: datetime | None = None,
    shape: Shape | None = None,
) -> Repository:
    """A repository with `prs` pull requests, the same for the same arguments."""
    shape = shape or Shape()
    anchor = anchor or default_anchor()
    full = f"{owner}/{name}"
    rng = random.Random(f"repo:{seed}:{full.lower()}")
    slot = _slot(seed, full)
    owner_id = 70_000_000 + slot
    owner_user = User(
        id=owner_id,
        login=owner,
        node_id=legacy_node_id("Organization", owner_id),
        type="Organization",
        name=owner.title(),
    )
    repo_id = 300_000_000 + slot
    repo = Repository(
        id=repo_id, node_id=modern_node_id("R", repo_id), owner=owner_user, name=name, default_branch="main"
    )
    people = user_pool(seed, max(30, min(2000, prs // 12)))
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(people))]  # a few people do most of the work
    mannequin_id = 90_000_000 + slot
    mannequin = User(
        id=mannequin_id,
        login=f"imported-{name.lower()}",
        node_id=legacy_node_id("Mannequin", mannequin_id),
        type="Mannequin",
    )
    span = timedelta(days=max(30, min(3 * 365, prs // 4 + 30)))
    start = anchor - span
    repo.created_at = start - timedelta(days=30)
    tail = 0.001 * shape.tail_rate
    ids = _Ids(slot)
    extras = _Extras(seed, repo, people, mannequin, start, span, anchor, slot)

    def person(exclude: User | None = None) -> User:
        roll = rng.random()
        if roll < 0.06:
            return rng.choice(BOTS)
        if roll < 0.08:
            return GHOST
        if roll < 0.085:
            return mannequin
        while True:
            who = rng.choices(people, weights)[0]
            if who is not exclude:
                return who

    def after(t: datetime, hours: float) -> datetime:
        return min(anchor - timedelta(seconds=1), t + timedelta(hours=rng.expovariate(1 / hours)))

    for i in range(prs):
        number = i + 1
        created = start + span * (i / max(1, prs)) + timedelta(minutes=rng.randint(0, 600))
        created = min(created, anchor - timedelta(hours=1))
        author = person()
        recent = anchor - created < timedelta(days=30)
        state = "open" if rng.random() < (0.5 if recent else 0.04) else "closed"
        pr_id = ids.take("pr")
        pr = PullRequest(
            id=pr_id,
            node_id=modern_node_id("PR", repo_id, pr_id),
            number=number,
            title=_sentence(rng, rng.randint(2, 9)).capitalize()
            + (" " + rng.choice(NON_ASCII) if rng.random() < 0.1 else ""),
            body=_body(rng),
            state=state,
            draft=state == "open" and rng.random() < 0.2,
            user=author,
            base_ref="main",
            head_ref=f"{author.login.replace('[bot]', '')}/{rng.choice(WORDS)}-{number}",
            head_sha=_sha(rng),
            base_sha=_sha(rng),
            created_at=created,
            updated_at=created,
            head_repo_deleted=rng.random() < 0.01,
        )
        if state == "closed":
            pr.closed_at = after(created, 72)
            if rng.random() < 0.75:
                pr.merged_at = pr.closed_at
                pr.merged_by = person()
                pr.merge_commit_sha = _sha(rng)
        end = pr.closed_at or anchor - timedelta(seconds=1)

        def moment(end: datetime = end, created: datetime = created) -> datetime:
            seconds = max(1, int((end - created).total_seconds()))
            return created + timedelta(seconds=rng.randint(1, seconds))

        at_cap = _add_files(pr, rng, ids, shape, tail)
        _add_commits(pr, rng, ids, shape, tail, repo_id, moment, person)
        for _ in range(_count(rng, shape.reviews, tail, 100, 150, rate=shape.tail_rate)):
            _add_review(pr, rng, ids, repo_id, person(exclude=author), moment())
        _add_review_comments(pr, rng, ids, shape, tail, repo_id, person, moment)
        for _ in range(_count(rng, shape.issue_comments, tail, 500, 600, rate=shape.tail_rate)):
            at = moment()
            cid = ids.take("issue_comment")
            edited = at + timedelta(minutes=rng.randint(1, 300)) if rng.random() < 0.1 else at
            pr.issue_comments.append(
                IssueComment(
                    id=cid,
                    node_id=modern_node_id("IC", repo_id, cid),
                    user=person(),
                    body=_body(rng) or "+1",
                    created_at=at,
                    updated_at=min(edited, end),
                    edited_at=min(edited, end) if min(edited, end) > at else None,
                )
            )
        pr.issue_comments.sort(key=lambda c: (c.created_at, c.id))
        pr.reviews.sort(key=lambda r: (r.submitted_at, r.id))
        pr.review_comments.sort(key=lambda c: (c.created_at, c.id))
        activity = [pr.created_at, pr.closed_at or pr.created_at]
        activity += [r.submitted_at for r in pr.reviews] + [c.updated_at for c in pr.review_comments]
        activity += [c.updated_at for c in pr.issue_comments]
        pr.updated_at = max(activity)
        extras.dress(pr, ids, at_cap)
        repo.add_pull_request(pr)
    _whole_seconds(repo)
    repo.updated_at = max((p.updated_at for p in repo.pull_requests), default=repo.created_at)
    return repo


def _whole_seconds(repo: Repository) -> None:
    """GitHub's timestamps have whole seconds; so must the data behind them, or ranges disagree."""
    for pr in repo.pull_requests:
        # Equal times of one pull request (a commit's authored and committed, a PR's closed and merged)
        # share one object, as they did before rounding: a large repository holds millions of them.
        retime(pr, functools.partial(_whole_second, {}))


def _whole_second(rounded: dict[datetime, datetime], t: datetime) -> datetime:
    return rounded.setdefault(t, t.replace(microsecond=0))


# GitHub's default labels (https://docs.github.com/issues/using-labels-and-milestones-to-track-work/managing-
# labels#about-default-labels), and Dependabot's, which it puts on every pull request it opens
# (https://docs.github.com/code-security/dependabot/working-with-dependabot/dependabot-options-reference#labels--).
DEFAULT_LABELS = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)
DEPENDENCIES = ("dependencies", "0366d6", "Pull requests that update a dependency file")


@dataclass(frozen=True)
class Rates:
    """How often the generator gives a pull request each of the things below. GitHub publishes no such
    figures, so they are modest guesses, checked against the recorded real payloads where those say anything
    (51 PRs: 37 from forks, 2 from deleted forks; 1 labelled, 1 assigned, 1 with a review request)."""

    over_file_cap: float = 0.5  # of the PRs whose listing reaches 3,000 files: more files than listed
    binary_file: float = 0.02  # of files: binary (no line counts, no patch)
    oversized_file: float = 0.002  # of files: past GitHub's 20,000-line diff limit (no patch)
    labelled: float = 0.35  # of human PRs (every Dependabot PR carries `dependencies`)
    assigned: float = 0.2
    requested_open: float = 0.4  # of open PRs: review requests still outstanding
    requested_closed: float = 0.03
    milestone: float = 0.12
    pending_review: float = 0.1  # of open PRs: someone's review begun and not submitted
    file_comment: float = 0.02  # of threads: on the whole file
    multi_line: float = 0.1  # of threads: on a range of lines
    left_side: float = 0.08  # of line threads: on a removed line
    resolved_merged: float = 0.6  # of threads, by the PR's state
    resolved_closed: float = 0.2
    resolved_open: float = 0.3
    first_timer: float = 0.1  # of first-time contributors: new to GitHub as a whole


RATES = Rates()


class _Extras:
    """What a generated pull request carries beyond its lists, drawn from a random stream of its own so
    that the lists (and every figure measured on them) are the same with or without it."""

    def __init__(
        self,
        seed: int,
        repo: Repository,
        people: list[User],
        mannequin: User,
        start: datetime,
        span: timedelta,
        anchor: datetime,
        slot: int,
    ) -> None:
        self.rng = random.Random(f"extras:{seed}:{repo.full_name.lower()}")
        self.repo, self.mannequin, self.slot = repo, mannequin, slot
        # The most active people belong to the organization, the next few were granted access; everyone
        # else is an outside contributor (https://docs.github.com/graphql/reference/enums#commentauthorassociation).
        core = max(2, len(people) // 25)
        self.members = {u.id for u in people[:core]}
        self.collaborators = {u.id for u in people[core : 2 * core]}
        self.maintainers = people[: 2 * core]
        self.contributed: set[int] = set()  # whose pull requests were merged: they have committed
        self.forks: dict[int, Repository] = {}
        self.labels = [self._label(k, *spec) for k, spec in enumerate((*DEFAULT_LABELS, DEPENDENCIES))]
        self.milestones = [
            self._milestone(k, start + span * k / max(1, span.days // 90), anchor, people[0])
            for k in range(max(1, span.days // 90))
        ]
        self.milestone_starts = [m.created_at for m in self.milestones]

    def _label(self, k: int, name: str, color: str, description: str) -> Label:
        label_id = 6_000_000_000 + self.slot * 100 + k
        node_id = legacy_node_id("Label", label_id)
        return Label(label_id, node_id, name, color, description, default=name != "dependencies")

    def _milestone(self, k: int, created: datetime, anchor: datetime, creator: User) -> Milestone:
        milestone_id = 7_000_000 + self.slot * 100 + k
        due = created + timedelta(days=90)
        closed = due < anchor
        return Milestone(
            id=milestone_id,
            node_id=legacy_node_id("Milestone", milestone_id),
            number=k + 1,
            title=f"v{1 + k // 4}.{k % 4}",
            creator=creator,
            created_at=created.replace(microsecond=0),
            state="closed" if closed else "open",
            description=None,
            due_on=due.replace(hour=7, minute=0, second=0, microsecond=0),
            closed_at=due.replace(microsecond=0) if closed else None,
        )

    def association(self, who: User, authoring: bool = False) -> str:
        if who.id in self.members:
            return "MEMBER"
        if who.id in self.collaborators:
            return "COLLABORATOR"
        if who.id in self.contributed:
            return "CONTRIBUTOR"
        if authoring and who.type in ("User", "Bot") and not who.is_ghost:
            return "FIRST_TIMER" if self.rng.random() < RATES.first_timer else "FIRST_TIME_CONTRIBUTOR"
        return "NONE"

    def dress(self, pr: PullRequest, ids: _Ids, at_cap: bool) -> None:
        rng, author = self.rng, pr.user
        pr.author_association = self.association(author, authoring=True)
        authored: list[Review | ReviewComment | IssueComment] = [
            *pr.reviews,
            *pr.review_comments,
            *pr.issue_comments,
        ]
        for obj in authored:
            obj.author_association = self.association(obj.user)
        if author.is_ghost:
            pr.head_repo_deleted = True  # a deleted account's forks are deleted with it
        elif (
            not pr.head_repo_deleted
            and author.type == "User"
            and pr.author_association
            not in (
                "MEMBER",
                "COLLABORATOR",
            )
        ):
            pr.head_fork = self._fork(author, pr.created_at)
        self._files(pr, at_cap)
        if author.id == BOTS[0].id:
            pr.labels = [self.labels[-1]]
        elif rng.random() < RATES.labelled:
            pr.labels = sorted(rng.sample(self.labels[:-1], rng.choice((1, 1, 2))), key=lambda x: x.name)
        if rng.random() < RATES.assigned:
            pr.assignees = rng.sample(self.maintainers, 2 if rng.random() < 0.1 else 1)
        reviewed = {r.user.id for r in pr.reviews} | {author.id}
        if rng.random() < (RATES.requested_open if pr.state == "open" else RATES.requested_closed):
            free = [u for u in self.maintainers if u.id not in reviewed]
            pr.requested_reviewers = rng.sample(free, min(len(free), rng.choice((1, 1, 2))))
        if rng.random() < RATES.milestone:
            begun = bisect.bisect_right(self.milestone_starts, pr.created_at)
            pr.milestone = self.milestones[begun - 1] if begun else None
        self._threads(pr)
        if pr.state == "open" and rng.random() < RATES.pending_review:
            self._pending_review(pr, ids, reviewed)
        if pr.merged:
            self.contributed.add(author.id)

    def _fork(self, author: User, created: datetime) -> Repository:
        fork = self.forks.get(author.id)
        if fork is None:
            fork_id = 500_000_000 + zlib.crc32(f"{author.login}/{self.repo.name}".lower().encode()) % 10**8
            fork = Repository(
                id=fork_id,
                node_id=modern_node_id("R", fork_id),
                owner=author,
                name=self.repo.name,
                default_branch=self.repo.default_branch,
                created_at=(created - timedelta(days=1)).replace(microsecond=0),
                updated_at=created.replace(microsecond=0),
                fork=True,
            )
            self.forks[author.id] = fork
        return fork

    def _files(self, pr: PullRequest, at_cap: bool) -> None:
        """Binary and oversized files lose their line counts or patch; a PR at the listing cap may change
        more files than GitHub lists (REST and GraphQL stop at 3,000; `changed_files` counts them all)."""
        rng, binary, oversized = self.rng, RATES.binary_file, RATES.binary_file + RATES.oversized_file
        changed = False
        for f in pr.files:
            roll = rng.random()
            if roll < binary:
                f.additions, f.deletions, f.has_patch, changed = 0, 0, False, True
            elif roll < oversized:
                f.additions, f.has_patch, changed = f.additions + rng.randint(20_000, 60_000), False, True
        if changed:
            pr.additions = sum(f.additions for f in pr.files)
            pr.deletions = sum(f.deletions for f in pr.files)
        if at_cap and rng.random() < RATES.over_file_cap:
            k = len(pr.files)
            while len(pr.files) < FILE_CAP:  # paths drawn twice were dropped: the listing is full
                pr.files.append(ChangedFile(_sha(rng), f"generated/part_{k}.txt", "added", 1, 0))
                k += 1
            unlisted = rng.randint(1, 2_000)
            pr.changed_files = FILE_CAP + unlisted
            pr.additions = sum(f.additions for f in pr.files) + unlisted * rng.randint(5, 30)
            pr.deletions = sum(f.deletions for f in pr.files) + unlisted * rng.randint(0, 10)

    def _threads(self, pr: PullRequest) -> None:
        rng = self.rng
        roots = [c for c in pr.review_comments if c.in_reply_to_id is None]
        shape: dict[int, ReviewComment] = {}
        resolve = {"open": RATES.resolved_open, "closed": RATES.resolved_closed}
        chance = RATES.resolved_merged if pr.merged else resolve[pr.state]
        for root in roots:
            roll = rng.random()
            if roll < RATES.file_comment:
                # A file-level comment has no line; GitHub reports its original line as 1
                # (Asana/comment-on-task-github-action#39).
                root.subject_type, root.line, root.original_line = "file", None, 1
            elif roll < RATES.file_comment + RATES.multi_line and (root.original_line or 0) > 1:
                start = max(1, (root.original_line or 1) - rng.randint(1, 5))
                root.original_start_line = start
                root.start_line = start if root.line is not None else None
            if root.subject_type == "line" and rng.random() < RATES.left_side:
                root.side = "LEFT"
            if rng.random() < chance:
                root.resolved_by = rng.choice([pr.user, *self.maintainers[:3]])
                if root.resolved_by.is_ghost or root.resolved_by.type != "User":
                    root.resolved_by = self.maintainers[0]
            shape[root.id] = root
        for reply in pr.review_comments:
            thread = shape.get(reply.in_reply_to_id or 0)
            if thread is not None:  # a reply sits where its thread does
                reply.subject_type, reply.side = thread.subject_type, thread.side
                reply.line, reply.original_line = thread.line, thread.original_line
                reply.start_line, reply.original_start_line = thread.start_line, thread.original_start_line

    def _pending_review(self, pr: PullRequest, ids: _Ids, reviewed: set[int]) -> None:
        free = [u for u in self.maintainers if u.id not in reviewed] or self.maintainers
        who = self.rng.choice(free)
        rid = ids.take("pending_review")
        at = pr.created_at + (pr.updated_at - pr.created_at) / 2
        pr.reviews.append(
            Review(
                id=rid,
                node_id=modern_node_id("PRR", self.repo.id, rid),
                user=who,
                state="PENDING",
                body="",
                submitted_at=at.replace(microsecond=0),
                commit_id=pr.head_sha,
                author_association=self.association(who),
            )
        )


class _Ids:
    """Database ids per object kind, in GitHub's present-day ranges (PR and comment ids above 2^31)."""

    BASES = {
        "pr": 2_000_000_000,
        "review": 1_500_000_000,
        "pending_review": 1_400_000_000,
        "review_comment": 1_800_000_000,
        "issue_comment": 2_600_000_000,
    }

    def __init__(self, slot: int) -> None:
        self._next = {k: v * 1 + slot * 10_000_000 for k, v in self.BASES.items()}

    def take(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind]


def _add_files(pr: PullRequest, rng: random.Random, ids: _Ids, shape: Shape, tail: float) -> bool:
    """Adds the PR's changed files; answers whether it reached GitHub's 3,000-file listing cap."""
    count = min(
        FILE_CAP, _count(rng, shape.files, tail * 0.3, FILE_CAP, FILE_CAP, floor=1, rate=shape.tail_rate)
    )
    renames = rng.randint(1, 3) if rng.random() < 0.03 else 0
    seen: set[str] = set()
    for k in range(count):
        path = f"{rng.choice(DIRS)}/{rng.choice(WORDS)}_{k}{rng.choice(EXTS)}"
        if k == 0 and rng.random() < 0.05:
            path = f"docs/ドキュメント_{k}.md"
        if path in seen:
            continue
        seen.add(path)
        status = rng.choices(["modified", "added", "removed"], [70, 20, 10])[0]
        previous = None
        if renames:
            renames -= 1
            status, previous = "renamed", f"old/{path}"
        additions = 0 if status == "removed" else int(rng.expovariate(1 / 30))
        deletions = 0 if status == "added" else int(rng.expovariate(1 / 15))
        pr.files.append(
            ChangedFile(
                sha=_sha(rng),
                filename=path,
                status=status,
                additions=additions,
                deletions=deletions,
                previous_filename=previous,
            )
        )
    pr.additions = sum(f.additions for f in pr.files)
    pr.deletions = sum(f.deletions for f in pr.files)
    pr.changed_files = len(pr.files)
    return count == FILE_CAP


def _add_commits(pr, rng, ids, shape, tail, repo_id, moment, person) -> None:  # type: ignore[no-untyped-def]
    count = _count(rng, shape.commits, tail, 250, 300, floor=1, rate=shape.tail_rate)
    for _ in range(count):
        at = moment()
        who = pr.user if rng.random() < 0.85 else person()
        sha = _sha(rng)
        pr.commits.append(
            Commit(
                sha=sha,
                node_id=modern_node_id("C", repo_id, int(sha[:12], 16)),
                message=_sentence(rng, rng.randint(2, 12)),
                author_name=who.name or who.login,
                author_email=sys.intern(f"{who.login}@users.noreply.github.com"),
                authored_at=at,
                committed_at=at,
                author=None if who.is_ghost else who,
            )
        )
    pr.commits.sort(key=lambda c: c.committed_at)
    pr.commits_count = len(pr.commits)
    if pr.commits:
        pr.head_sha = pr.commits[-1].sha


def _add_review(
    pr: PullRequest, rng: random.Random, ids: _Ids, repo_id: int, who: User, at: datetime
) -> Review:
    rid = ids.take("review")
    state = rng.choice(STATES)
    review = Review(
        id=rid,
        node_id=modern_node_id("PRR", repo_id, rid),
        user=who,
        state=state,
        body="" if rng.random() < 0.5 else (_body(rng) or ""),
        submitted_at=at,
        commit_id=rng.choice(pr.commits).sha if pr.commits else pr.head_sha,
    )
    pr.reviews.append(review)
    return review


def _add_review_comments(pr, rng, ids, shape, tail, repo_id, person, moment) -> None:  # type: ignore[no-untyped-def]
    count = _count(rng, shape.review_comments, tail, 300, 400, rate=shape.tail_rate)
    if not count:
        return
    if not pr.reviews:
        _add_review(pr, rng, ids, repo_id, person(exclude=pr.user), moment()).state = "COMMENTED"
    threads: list[ReviewComment] = []
    for _ in range(count):
        review = rng.choice(pr.reviews)
        cid = ids.take("review_comment")
        reply_to = rng.choice(threads) if threads and rng.random() < 0.3 else None
        path = reply_to.path if reply_to else (rng.choice(pr.files).filename if pr.files else "README.md")
        line = reply_to.line if reply_to else rng.randint(1, 400)
        at = review.submitted_at if reply_to is None else max(review.submitted_at, reply_to.created_at)
        hunk = f"@@ -{line},6 +{line},7 @@ def {rng.choice(WORDS)}():\n+    {_sentence(rng, 5)}"
        comment = ReviewComment(
            id=cid,
            node_id=modern_node_id("PRRC", repo_id, cid),
            user=review.user if rng.random() < 0.7 else person(),
            body=_body(rng) or "nit",
            path=path,
            line=line if rng.random() < 0.9 else None,
            original_line=reply_to.original_line
            if reply_to
            else line,  # outdated threads keep where they began
            diff_hunk=hunk,
            in_reply_to_id=reply_to.id if reply_to else None,
            review_id=review.id,
            commit_id=review.commit_id,
            created_at=at,
            updated_at=at,
        )
        pr.review_comments.append(comment)
        if reply_to is None:
            threads.append(comment)


def stable_digest(repo: Repository) -> str:
    """A fingerprint of a repository's content, for checking that generation is deterministic."""
    h = hashlib.sha256()
    for pr in repo.pull_requests:
        h.update(
            f"{pr.number}:{pr.id}:{pr.title}:{pr.updated_at}:{len(pr.reviews)}:{len(pr.review_comments)}:"
            f"{len(pr.issue_comments)}:{len(pr.files)}:{len(pr.commits)}".encode()
        )
    return h.hexdigest()
