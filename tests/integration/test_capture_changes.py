"""A world that changes: after every kind of change GitHub sees, the next capture ends equal to the ground
truth, with no duplicate row, at the cost of what changed (printed; run with -s to see the figures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from capture_support import compare, run_capture
from ghcapture.jobs.schedules import get_tracked, track
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.evolve import COUNTED_KINDS, Changes, apply_changes
from ghcapture.simulator.server import SimulatorServer
from ghcapture.store.checkpoints import load_checkpoint
from ghcapture.store.database import open_database
from ghcapture.store.tables import comments, pr_commits, pr_files, pull_requests, repositories, reviews

KINDS = [k for k in COUNTED_KINDS if k not in ("changed", "new")] + ["changed", "new"]


def _spent(server: SimulatorServer, before: dict[str, Any]) -> dict[str, int]:
    after = server.simulator.stats.as_dict()
    return {
        "points": after["graphql_points"] - before["graphql_points"],
        "rest": after["rest_requests_charged"] - before["rest_requests_charged"],
        "not_modified": after["not_modified"] - before["not_modified"],
    }


def _evolve(
    server: SimulatorServer, repository: str, *, rename: str | None = None, seed: int = 7, **counts: int
) -> dict[str, Any]:
    world = server.simulator.world
    owner, name = repository.split("/")
    repo = world.repository(owner, name)
    assert repo is not None
    # A little in the future: what changed is newer than the first capture's watermark.
    return apply_changes(world, repo, Changes(counts, rename, seed), datetime.now(UTC) + timedelta(minutes=5))


def _no_duplicates(engine: Engine) -> None:
    """Natural keys hold: one row per GitHub object (a second row would be a second primary key)."""
    with engine.connect() as conn:
        for table, key in (
            (pull_requests, [pull_requests.c.repository_id, pull_requests.c.number]),
            (comments, [comments.c.github_id]),
            (reviews, [reviews.c.github_id]),
            (pr_files, [pr_files.c.pull_request_id, pr_files.c.path]),
            (pr_commits, [pr_commits.c.pull_request_id, pr_commits.c.sha]),
        ):
            total = conn.execute(select(func.count()).select_from(table)).scalar_one()
            distinct = conn.execute(select(func.count()).select_from(select(*key).distinct().subquery()))
            assert total == distinct.scalar_one(), table.name


def _capture_again_and_check(server: SimulatorServer, engine: Engine, label: str) -> dict[str, int]:
    before = server.simulator.stats.as_dict()
    result = run_capture(server, engine, "acme/widgets")
    spent = _spent(server, before)
    print(f"\n{label}: second capture {spent} ({result.deleted_comments} comments found deleted)")
    check = compare(server, engine, "acme/widgets")
    assert check.equal, f"{label}: {check.summary()}"
    _no_duplicates(engine)
    return spent


@pytest.mark.reliability
def test_each_kind_of_change_in_turn_then_a_capture_equals_the_ground_truth(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 60}, seed=2)
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    first = _spent(server, {"graphql_points": 0, "rest_requests_charged": 0, "not_modified": 0})
    for kind in KINDS:
        answer = _evolve(server, "acme/widgets", seed=KINDS.index(kind), **{kind: 2})
        assert answer.get(kind), f"{kind}: the simulator changed nothing"
        spent = _capture_again_and_check(server, engine, kind)
        # What changed, not a re-read.
        assert spent["points"] + spent["rest"] < first["points"] + first["rest"], kind


@pytest.mark.parametrize("dialect_rounds", [1])
def test_a_mix_of_every_change_then_a_capture_equals_the_ground_truth(
    make_simulator, database_url, dialect_rounds
):
    server = make_simulator({"acme/widgets": 60}, seed=3)
    engine = open_database(database_url)
    run_capture(server, engine, "acme/widgets")
    for round_ in range(dialect_rounds):
        answer = _evolve(server, "acme/widgets", seed=10 + round_, **{k: 2 for k in KINDS})
        assert all(answer.get(k) for k in ("force_pushes", "deleted_issue_comments", "dismissed_reviews"))
        _capture_again_and_check(server, engine, f"every kind, round {round_ + 1}")
    with engine.connect() as conn:
        deleted = conn.execute(
            select(func.count()).select_from(comments).where(comments.c.deleted_at.is_not(None))
        ).scalar_one()
        dismissed = conn.execute(
            select(func.count()).select_from(reviews).where(reviews.c.state == "DISMISSED")
        ).scalar_one()
    # Rows stay for history: both deletions of each kind are held, marked.
    assert deleted >= 4 and dismissed >= 2


@pytest.mark.reliability
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_alone_on_each_dialect(make_simulator, database_url, kind):
    server = make_simulator({"acme/widgets": 60}, seed=4)
    engine = open_database(database_url)
    run_capture(server, engine, "acme/widgets")
    assert _evolve(server, "acme/widgets", **{kind: 3}).get(kind)
    _capture_again_and_check(server, engine, kind)


def test_a_refresh_where_nothing_changed_costs_one_point_and_no_charged_request(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 80}, config=SimulatorConfig.realistic(0.002, seed=5))
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    before = server.simulator.stats.as_dict()
    result = run_capture(server, engine, "acme/widgets")
    spent = _spent(server, before)
    print(f"\nrefresh with nothing changed: {spent}")
    assert result.mode == "updated" and result.pull_requests == 0
    assert spent["points"] <= 1 and spent["rest"] == 0
    # Every page of both comment listings was asked, and GitHub answered that nothing changed.
    assert spent["not_modified"] >= 2


def test_a_force_push_replaces_files_and_commits_and_a_cut_file_list_is_marked(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 40}, seed=6)
    repo = server.simulator.world.repository("acme", "widgets")
    assert repo is not None
    cut = repo.pull_requests[5]
    # What GitHub serves past its 3,000-file cap: `changed_files` counts more files than the list holds.
    cut.changed_files = len(cut.files) + 250
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    with engine.connect() as conn:
        truncated = conn.execute(
            select(pull_requests.c.number).where(pull_requests.c.files_truncated.is_(True))
        ).scalars()
        assert list(truncated) == [cut.number]
    pushed = _evolve(server, "acme/widgets", force_pushes=3)["force_pushes"]
    run_capture(server, engine, "acme/widgets")
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    with engine.connect() as conn:
        for number in pushed:
            pr = repo.pull_request(number)
            assert pr is not None
            held_files = set(
                conn.execute(select(pr_files.c.path).where(pr_files.c.pull_request_id == pr.id)).scalars()
            )
            held_commits = list(
                conn.execute(
                    select(pr_commits.c.sha)
                    .where(pr_commits.c.pull_request_id == pr.id)
                    .order_by(pr_commits.c.position)
                ).scalars()
            )
            head = conn.execute(select(pull_requests.c.head_sha).where(pull_requests.c.github_id == pr.id))
            assert held_files == {f.filename for f in pr.files}
            assert held_commits == [c.sha for c in pr.commits]
            assert head.scalar_one() == pr.head_sha


def test_a_renamed_repository_is_followed_with_its_checkpoints_and_schedule(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 40}, seed=8)
    engine = open_database(sqlite_url)
    track(engine, "acme/widgets", every_seconds=3600, backfill_days=None)
    run_capture(server, engine, "acme/widgets")
    moved = _evolve(server, "acme/widgets", rename="gadgets", changed=2)["rename_repository"]
    assert moved["to"] == "acme/gadgets"
    # The schedule still names the old name: the capture asks for it, and GitHub leads to the new one.
    result = run_capture(server, engine, "acme/widgets")
    assert result.repository == "acme/gadgets" and result.mode == "updated"
    check = compare(server, engine, "acme/gadgets")
    assert check.equal, check.summary()
    with engine.connect() as conn:
        assert conn.execute(select(repositories.c.github_id, repositories.c.full_name)).all() == [
            (moved["id"], "acme/gadgets")
        ]
        assert load_checkpoint(conn, "acme/widgets", "pull_requests", "all") is None
        assert load_checkpoint(conn, "acme/gadgets", "pull_requests", "all") is not None
    assert get_tracked(engine, "acme/gadgets").every_seconds == 3600


def test_dismissals_on_old_pull_requests_are_found_by_the_rotation_at_one_point_a_refresh(
    make_simulator, sqlite_url
):
    """A dismissal moves no updated_at: each refresh checks the 100 PRs updated last and the next 100 of a
    rotation through all of them, in its one query; within two refreshes 150 PRs are all checked."""
    server = make_simulator({"acme/widgets": 150}, seed=11)
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    run_capture(server, engine, "acme/widgets")  # the rotation now stands after the first 100 PRs
    dismissed = _evolve(server, "acme/widgets", dismissed_reviews=4)["dismissed_reviews"]
    assert len(dismissed) == 4
    repo = server.simulator.world.repository("acme", "widgets")
    assert repo is not None
    recent = {p.number for p in sorted(repo.pull_requests, key=lambda p: p.updated_at)[-100:]}
    assert {d["number"] for d in dismissed} - recent, "some dismissal is on a PR only the rotation checks"
    for _ in range(2):
        before = server.simulator.stats.as_dict()
        run_capture(server, engine, "acme/widgets")
        spent = _spent(server, before)
        assert spent["points"] <= 2, spent  # one query, and one to read again what differs
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
