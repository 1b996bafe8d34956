"""The generator: deterministic, heavy-tailed, and full of the oddities real pull requests carry."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest

from ghcapture.simulator.generator import BOTS, FILE_CAP, Shape, generate_repository, stable_digest
from ghcapture.simulator.model import GHOST_ID, Repository

ANCHOR = datetime(2024, 6, 1, tzinfo=UTC)
KINDS = ("reviews", "review_comments", "issue_comments", "files", "commits")


@pytest.fixture(scope="module")
def big() -> Repository:
    return generate_repository("acme", "big", 3000, seed=1, anchor=ANCHOR)


def counts(repo: Repository, kind: str) -> list[int]:
    return [len(getattr(pr, kind)) for pr in repo.pull_requests]


def test_the_same_seed_gives_the_same_repository() -> None:
    first = generate_repository("acme", "widgets", 200, seed=3, anchor=ANCHOR)
    again = generate_repository("acme", "widgets", 200, seed=3, anchor=ANCHOR)

    assert stable_digest(first) == stable_digest(again)
    assert [pr.node_id for pr in first.pull_requests] == [pr.node_id for pr in again.pull_requests]
    assert [c.body for pr in first.pull_requests for c in pr.issue_comments] == [
        c.body for pr in again.pull_requests for c in pr.issue_comments
    ]


def test_another_seed_or_name_gives_another_repository() -> None:
    base = generate_repository("acme", "widgets", 200, seed=3, anchor=ANCHOR)

    assert stable_digest(generate_repository("acme", "widgets", 200, seed=4, anchor=ANCHOR)) != stable_digest(
        base
    )
    assert stable_digest(generate_repository("acme", "gadgets", 200, seed=3, anchor=ANCHOR)) != stable_digest(
        base
    )


@pytest.mark.parametrize(
    ("kind", "mean", "low", "high"),
    [
        ("reviews", 1.5, 1.0, 2.2),
        ("review_comments", 2.0, 1.2, 3.0),
        ("issue_comments", 3.0, 2.0, 4.2),
        ("files", 6.0, 4.0, 8.0),
        ("commits", 3.0, 2.0, 4.2),
    ],
)
def test_means_are_roughly_as_specified(
    big: Repository, kind: str, mean: float, low: float, high: float
) -> None:
    observed = statistics.mean(counts(big, kind))

    assert low <= observed <= high, f"{kind}: mean {observed:.2f}, specified {mean}"


def test_counts_are_heavy_tailed_not_flat(big: Repository) -> None:
    for kind in ("reviews", "issue_comments", "commits"):
        values = counts(big, kind)
        # Most PRs sit near the mean while a few are many times larger.
        assert statistics.median(values) <= statistics.mean(values) + 1
        assert max(values) > 10 * statistics.mean(values), kind


def test_tail_rate_makes_giants_frequent() -> None:
    repo = generate_repository("acme", "tails", 300, seed=1, anchor=ANCHOR, shape=Shape(tail_rate=40))
    plain = generate_repository("acme", "tails", 300, seed=1, anchor=ANCHOR)

    giants = {
        "reviews": sum(n >= 100 for n in counts(repo, "reviews")),
        "review_comments": sum(n >= 300 for n in counts(repo, "review_comments")),
        "issue_comments": sum(n >= 500 for n in counts(repo, "issue_comments")),
        "files": sum(n >= FILE_CAP for n in counts(repo, "files")),
        "commits": sum(n >= 250 for n in counts(repo, "commits")),
    }
    assert all(n >= 1 for n in giants.values()), giants
    assert sum(giants.values()) > sum(n >= 100 for n in counts(plain, "reviews")) + 5
    assert max(counts(repo, "files")) <= FILE_CAP
    # The ordinary PRs stay ordinary: giants come on top of them.
    for kind, giant, low, high in (("reviews", 100, 1.0, 2.2), ("issue_comments", 500, 2.0, 4.2)):
        ordinary = [n for n in counts(repo, kind) if n < giant]
        assert low <= statistics.mean(ordinary) <= high, (kind, statistics.mean(ordinary))


def test_users_include_bots_the_ghost_and_non_ascii_names(big: Repository) -> None:
    authors = [pr.user for pr in big.pull_requests] + [
        c.user for pr in big.pull_requests for c in pr.issue_comments
    ]

    assert {u.login for u in authors} & {b.login for b in BOTS}
    assert any(u.type == "Bot" for u in authors)
    assert any(u.id == GHOST_ID and u.login == "ghost" for u in authors)
    assert any(u.type == "Mannequin" for u in authors)
    assert any(u.name and not u.name.isascii() for u in authors)


def test_pull_requests_carry_real_world_oddities(big: Repository) -> None:
    prs = big.pull_requests
    files = [f for pr in prs for f in pr.files]
    bodies = [pr.body for pr in prs] + [c.body for pr in prs for c in pr.issue_comments]

    assert any(pr.draft for pr in prs) and all(pr.state == "open" for pr in prs if pr.draft)
    assert {pr.state for pr in prs} == {"open", "closed"}
    assert any(pr.merged for pr in prs) and any(pr.state == "closed" and not pr.merged for pr in prs)
    assert any(pr.head_repo_deleted for pr in prs)
    renamed = [f for f in files if f.status == "renamed"]
    assert renamed and all(f.previous_filename and f.previous_filename != f.filename for f in renamed)
    assert all(f.previous_filename is None for f in files if f.status != "renamed")
    assert any(not f.filename.isascii() for f in files)
    assert any(pr.title and not pr.title.isascii() for pr in prs)
    assert any(b is not None and not b.isascii() for b in bodies)
    assert any(b is not None and len(b) >= 20_000 for b in bodies)
    assert any(pr.body is None for pr in prs)
    replies = [c for pr in prs for c in pr.review_comments if c.in_reply_to_id is not None]
    assert replies


def test_ids_and_times_are_consistent(big: Repository) -> None:
    prs = big.pull_requests
    assert [pr.number for pr in prs] == list(range(1, len(prs) + 1))
    ids = [pr.id for pr in prs] + [c.id for pr in prs for c in pr.issue_comments]
    assert len(ids) == len(set(ids))
    assert any(pr.id >= 2**31 for pr in prs)  # today's ids no longer fit GraphQL's 32-bit databaseId
    assert len({pr.node_id for pr in prs}) == len(prs)
    for pr in prs[:500]:
        assert pr.created_at <= pr.updated_at < ANCHOR
        assert all(pr.created_at <= c.created_at <= c.updated_at <= pr.updated_at for c in pr.issue_comments)
        assert all(r.id in {x.id for x in pr.reviews} for r in pr.reviews)
        assert all(c.review_id in {r.id for r in pr.reviews} for c in pr.review_comments)
        if pr.merged:
            assert pr.merged_at == pr.closed_at and pr.merge_commit_sha
        assert pr.changed_files == len(pr.files)
        assert pr.commits_count == len(pr.commits) >= 1
