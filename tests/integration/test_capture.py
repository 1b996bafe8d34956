"""The capture against the simulator: complete, idempotent, incremental, scoped, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from capture_support import compare, run_capture
from fixtures_simulator import REAL_PAYLOADS
from ghcapture.capture.scope import CaptureScope
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.dataset import load_dataset, read_dataset
from ghcapture.simulator.evolve import evolve_repository
from ghcapture.simulator.generator import Shape
from ghcapture.simulator.model import visible_reviews
from ghcapture.simulator.world import World
from ghcapture.store.counts import table_counts
from ghcapture.store.database import open_database
from ghcapture.store.tables import comments, pr_files, pull_requests, reviews

# Tests that measure what a capture spends run on the realistic profile (GitHub's server time, on a clock
# 500 times faster), so that a timeout's lost points and the smaller pages they force are in the figure.


def test_full_capture_equals_ground_truth_and_a_second_run_changes_nothing(make_simulator, database_url):
    server = make_simulator({"acme/widgets": 150}, config=SimulatorConfig.realistic(0.002, seed=3))
    engine = open_database(database_url)
    first = run_capture(server, engine, "acme/widgets")
    assert first.mode == "full"
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    assert check.expected["pull_requests"] == 150
    with engine.connect() as conn:
        before = table_counts(conn)
        snapshot = conn.execute(
            select(pull_requests.c.github_id, pull_requests.c.updated_at, pull_requests.c.title).order_by(
                pull_requests.c.github_id
            )
        ).all()
    second = run_capture(server, engine, "acme/widgets")
    assert second.mode == "updated"
    assert second.pull_requests == 0
    with engine.connect() as conn:
        assert table_counts(conn) == before
        assert (
            conn.execute(
                select(pull_requests.c.github_id, pull_requests.c.updated_at, pull_requests.c.title).order_by(
                    pull_requests.c.github_id
                )
            ).all()
            == snapshot
        )
    # Nothing changed: one repository query, one small page of PRs, one REST listing.
    assert second.points_used + second.rest_requests <= 3 < first.points_used + first.rest_requests


def test_incremental_run_takes_changed_and_new_items_only(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 200}, config=SimulatorConfig.realistic(0.002, seed=4))
    engine = open_database(sqlite_url)
    first = run_capture(server, engine, "acme/widgets")
    world = server.simulator.world
    repo = world.repository("acme", "widgets")
    changed = evolve_repository(world, repo, changed=6, new=4, now=datetime.now(UTC) + timedelta(minutes=5))
    stats_before = server.simulator.stats.as_dict()["budget_units"]
    second = run_capture(server, engine, "acme/widgets")
    spent = server.simulator.stats.as_dict()["budget_units"] - stats_before
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    assert second.pull_requests == len(changed["changed"]) + len(changed["new"])
    # Not a re-read: the changed pages of the comment listings, the changed PRs' reviews, one or two queries.
    print(f"incremental after 10 of 200 PRs changed: {spent} budget units")
    touched = len(changed["changed"]) + len(changed["new"])
    assert spent <= 2 * touched < first.points_used + first.rest_requests


def test_heavy_tailed_pull_requests_are_complete(make_simulator, database_url):
    server = make_simulator({"acme/giants": 30}, shape=Shape(tail_rate=120.0), seed=1)
    repo = server.simulator.world.repository("acme", "giants")
    assert max(len(p.files) for p in repo.pull_requests) == 3000
    assert max(len(p.issue_comments) for p in repo.pull_requests) >= 500
    assert max(len(p.reviews) for p in repo.pull_requests) >= 100
    engine = open_database(database_url)
    run_capture(server, engine, "acme/giants")
    check = compare(server, engine, "acme/giants")
    assert check.equal, check.summary()


def test_days_scope_captures_recently_updated_pull_requests_completely(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 300})
    engine = open_database(sqlite_url)
    repo = server.simulator.world.repository("acme", "widgets")
    cutoff = datetime.now(UTC) - timedelta(days=30)
    expected = {p.id for p in repo.pull_requests if p.updated_at >= cutoff}
    assert 0 < len(expected) < 300
    result = run_capture(server, engine, "acme/widgets", scope=CaptureScope(days=30))
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(select(pull_requests.c.github_id))}
        stored_review_comments = conn.execute(
            select(func.count()).where(comments.c.kind == "review_comment")
        ).scalar()
    assert stored == expected
    assert result.mode == "updated"
    in_scope = [p for p in repo.pull_requests if p.id in expected]
    assert stored_review_comments == sum(len(p.review_comments) for p in in_scope)
    # Only PRs opened before the window are asked one by one; the rest come from the repository listing.
    opened_before = [p for p in in_scope if p.reviews and p.created_at < cutoff]
    listing_pages = sum(len(p.review_comments) for p in repo.pull_requests) // 100 + 2
    renamed = sum(1 for p in in_scope if any(f.status == "renamed" for f in p.files))
    assert result.rest_requests <= len(opened_before) + listing_pages + renamed
    assert len(opened_before) < len([p for p in in_scope if p.reviews])


def test_pr_numbers_and_max_items(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 80})
    engine = open_database(sqlite_url)
    run_capture(
        server, engine, "acme/widgets", kind="pr-details", scope=CaptureScope(pr_numbers=(3, 7, 11, 999))
    )
    with engine.connect() as conn:
        numbers = sorted(r[0] for r in conn.execute(select(pull_requests.c.number)))
    assert numbers == [3, 7, 11]
    repo = server.simulator.world.repository("acme", "widgets")
    with engine.connect() as conn:
        stored_files = conn.execute(select(func.count()).select_from(pr_files)).scalar()
        stored_reviews = conn.execute(select(func.count()).select_from(reviews)).scalar()
    picked = [repo.pull_request(n) for n in (3, 7, 11)]
    assert stored_files == sum(len({f.filename for f in p.files}) for p in picked)
    assert stored_reviews == sum(len(visible_reviews(p, None)) for p in picked)

    other = open_database(sqlite_url.replace("ghcapture.db", "other.db"))
    result = run_capture(server, other, "acme/widgets", scope=CaptureScope(max_items=25))
    assert result.pull_requests == 25
    with other.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pull_requests)).scalar() == 25


def test_entity_kinds_recapture_only_their_entity(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 50})
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets", kind="files", scope=CaptureScope(days=3650))
    with engine.connect() as conn:
        counts = table_counts(conn)
    assert counts["pr_files"] > 0 and counts["reviews"] == 0 and counts["comments"] == 0
    run_capture(server, engine, "acme/widgets", kind="comments", scope=CaptureScope(days=3650))
    run_capture(server, engine, "acme/widgets", kind="reviews", scope=CaptureScope(days=3650))
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


def test_real_github_payloads_are_stored_exactly_once(make_simulator, sqlite_url):
    world = World()
    repos = load_dataset(read_dataset(REAL_PAYLOADS), world)
    server = make_simulator(world=world)
    engine = open_database(sqlite_url)
    for repo in repos:
        run_capture(server, engine, repo.full_name)
    # The old name of a renamed repository leads to the same rows.
    run_capture(server, engine, "jacquev6/PyGithub")
    for repo in repos:
        check = compare(server, engine, repo.full_name)
        assert check.equal, (repo.full_name, check.summary())
    with engine.connect() as conn:
        counts = table_counts(conn)
    assert counts["pull_requests"] == sum(len(r.pull_requests) for r in repos) == 50
    assert counts["repositories"] == len(repos)


@pytest.mark.parametrize(
    "kind", ["502", "502-html", "504", "something-went-wrong", "partial", "reset", "malformed", "secondary"]
)
def test_capture_survives_each_fault_kind(make_simulator, sqlite_url, kind):
    server = make_simulator({"acme/widgets": 60})
    server.simulator.config.faults.queue(kind, None, count=3)
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    assert server.simulator.stats.faults[kind] == 3
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


@pytest.mark.parametrize("client_timeout", [30.0, 0.3])
def test_slow_answers_are_waited_for_or_retried_after_the_client_timeout(
    make_simulator, sqlite_url, client_timeout
):
    server = make_simulator({"acme/widgets": 60})
    server.simulator.config.faults.slow_seconds = 0.8
    server.simulator.config.faults.queue("slow", None, count=2)
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets", timeout=client_timeout)
    assert server.simulator.stats.faults["slow"] == 2
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


def compare_window(server, engine, expected_prs):
    """(missing, unexpected) review and issue comments for the PRs of a window."""
    repo = server.simulator.world.repository("acme", "widgets")
    wanted = {
        c.id
        for p in repo.pull_requests
        if p.id in expected_prs
        for c in (*p.review_comments, *p.issue_comments)
    }
    with engine.connect() as conn:
        held = {r[0] for r in conn.execute(select(comments.c.github_id))}
    return len(wanted - held), len(held - wanted)


def _window_chunk(since: datetime, until: datetime) -> CaptureScope:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return CaptureScope.build(
        chunk=json.dumps({"since": since.strftime(stamp), "until": until.strftime(stamp)})
    )


def test_a_time_window_chunk_reads_only_its_window(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 400})
    repo = server.simulator.world.repository("acme", "widgets")
    times = sorted(p.updated_at.replace(microsecond=0) for p in repo.pull_requests)
    since, until = times[100], times[220]
    expected = {p.id for p in repo.pull_requests if since <= p.updated_at < until}
    engine = open_database(sqlite_url)
    result = run_capture(server, engine, "acme/widgets", scope=_window_chunk(since, until))
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(select(pull_requests.c.github_id))}
    assert result.mode == "window"
    assert stored == expected
    check = compare_window(server, engine, expected)
    assert check == (0, 0), "review comments of the window's PRs: (missing, unexpected)"
    # Search served the window's PRs, not the 180 newer ones a scan by update time would read first.
    assert server.simulator.stats.graphql_prs <= len(expected) + 10


def test_a_window_over_searchs_limit_is_scanned_instead(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 1100})
    repo = server.simulator.world.repository("acme", "widgets")
    since = min(p.updated_at for p in repo.pull_requests).replace(microsecond=0)
    until = datetime.now(UTC) + timedelta(days=1)
    engine = open_database(sqlite_url)
    result = run_capture(server, engine, "acme/widgets", kind="reviews", scope=_window_chunk(since, until))
    assert result.mode == "updated"
    assert result.pull_requests == 1100


def test_a_scoped_capture_costs_about_what_the_full_one_does_per_pr(make_simulator, tmp_path):
    """--max-items, --pr-numbers and --days pay no more per PR than 1.5 times the full capture, plus a few
    units (review comments come from whichever is fewer requests: the listing or each PR)."""
    server = make_simulator({"acme/widgets": 150}, seed=9)
    units = lambda: server.simulator.stats.as_dict()["budget_units"]  # noqa: E731

    def per_pr(name: str, scope: CaptureScope | None) -> tuple[int, int]:
        before = units()
        result = run_capture(
            server, open_database(f"sqlite:///{tmp_path}/{name}.db"), "acme/widgets", scope=scope
        )
        return units() - before, result.pull_requests

    full, prs = per_pr("full", None)
    for name, scope in (
        ("max-items", CaptureScope(max_items=100)),
        ("numbers", CaptureScope(pr_numbers=tuple(range(1, 150, 3)))),
        ("days", CaptureScope(days=7)),
    ):
        spent, taken = per_pr(name, scope)
        print(f"\n{name}: {spent} units for {taken} PRs; full: {full} for {prs}")
        assert taken > 0
        assert spent <= 1.5 * full / prs * taken + 5, name
