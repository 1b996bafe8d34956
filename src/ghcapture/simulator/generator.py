"""A deterministic generator of repositories whose pull requests look like real ones: heavy-tailed counts,
bots, the deleted "ghost" user, drafts, renamed files, very long bodies and non-ASCII text.

The same seed and repository name give the same repository, with timestamps laid out backwards from an
anchor (by default today, midnight UTC), so that "the last N days" means something.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    modern_node_id,
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
        return (paragraph * (rng.randint(20_000, 70_000) // len(paragraph) + 1))[
            : rng.randint(20_000, 70_000)
        ]
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

        _add_files(pr, rng, ids, shape, tail)
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
                )
            )
        pr.issue_comments.sort(key=lambda c: (c.created_at, c.id))
        pr.reviews.sort(key=lambda r: (r.submitted_at, r.id))
        pr.review_comments.sort(key=lambda c: (c.created_at, c.id))
        activity = [pr.created_at, pr.closed_at or pr.created_at]
        activity += [r.submitted_at for r in pr.reviews] + [c.updated_at for c in pr.review_comments]
        activity += [c.updated_at for c in pr.issue_comments]
        pr.updated_at = max(activity)
        repo.add_pull_request(pr)
    _whole_seconds(repo)
    repo.updated_at = max((p.updated_at for p in repo.pull_requests), default=repo.created_at)
    return repo


def _whole_seconds(repo: Repository) -> None:
    """GitHub's timestamps have whole seconds; so must the data behind them, or ranges disagree."""
    for pr in repo.pull_requests:
        retime(pr, lambda t: t.replace(microsecond=0))


class _Ids:
    """Database ids per object kind, in GitHub's present-day ranges (PR and comment ids above 2^31)."""

    BASES = {
        "pr": 2_000_000_000,
        "review": 1_500_000_000,
        "review_comment": 1_800_000_000,
        "issue_comment": 2_600_000_000,
    }

    def __init__(self, slot: int) -> None:
        self._next = {k: v * 1 + slot * 10_000_000 for k, v in self.BASES.items()}

    def take(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind]


def _add_files(pr: PullRequest, rng: random.Random, ids: _Ids, shape: Shape, tail: float) -> None:
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
                author_email=f"{who.login}@users.noreply.github.com",
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
