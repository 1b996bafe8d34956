"""Properties, over generated inputs: the chunk planner covers a scope exactly once; the REST and GraphQL
forms of the same objects map to the same rows; the scope parser reads back what it is given."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghcapture.capture import mapping
from ghcapture.capture.queries import by_number_query
from ghcapture.capture.scope import CaptureScope, parse_chunk, parse_pr_numbers, parse_since
from ghcapture.errors import InputError
from ghcapture.jobs.chunks import (
    BackfillTooLarge,
    NumberChunk,
    TimeChunk,
    chunk_bounds,
    chunks_input,
    plan_chunks,
)
from ghcapture.simulator import rest_shapes
from ghcapture.simulator.app import Simulator
from ghcapture.simulator.generator import Shape, generate_repository
from ghcapture.simulator.model import Repository, visible_reviews
from ghcapture.simulator.world import World

API = "http://simulator.test"

# -- the chunk planner ----------------------------------------------------------------------------------

estimates = st.fixed_dictionaries(
    {
        "estimated_prs": st.integers(0, 200_000),
        "points_per_pr": st.floats(0, 2, allow_nan=False),
        "seconds_per_pr": st.floats(0.001, 5, allow_nan=False),
        "hourly_budget": st.integers(1, 12_500),
        "max_job_seconds": st.integers(60, 6 * 3600),
        "max_chunks": st.integers(1, 256),
        "min_chunks": st.integers(1, 300),
    }
)


@given(first=st.integers(1, 50_000), size=st.integers(1, 100_000), options=estimates)
def test_number_chunks_cover_the_range_exactly_once(first, size, options):
    last = first + size - 1
    try:
        chunks = plan_chunks(pr_numbers_range=(first, last), **options)
    except BackfillTooLarge:
        return
    assert all(isinstance(c, NumberChunk) for c in chunks)
    assert chunks[0].first == first and chunks[-1].last == last
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.first == before.last + 1  # contiguous: no gap, no overlap
    assert all(c.first <= c.last for c in chunks)
    assert sum(c.last - c.first + 1 for c in chunks) == size
    assert len(chunks) <= options["max_chunks"]
    assert len(chunks) >= min(options["min_chunks"], options["max_chunks"], size)
    assert sum(c.estimated_prs for c in chunks) == pytest.approx(options["estimated_prs"])
    for chunk in chunks:
        assert chunk.estimated_seconds <= options["max_job_seconds"] * (1 + 1e-9)
        # What the workflow receives reads back as the same range.
        assert chunk_bounds(json.loads(json.dumps(chunk.to_input()))) == (chunk.first, chunk.last)


@given(first=st.integers(1, 500), size=st.integers(1, 400), options=estimates)
def test_every_number_is_in_exactly_one_chunk(first, size, options):
    try:
        chunks = plan_chunks(pr_numbers_range=(first, first + size - 1), **options)
    except BackfillTooLarge:
        return
    for number in range(first, first + size):
        assert sum(c.first <= number <= c.last for c in chunks) == 1


moments = st.datetimes(min_value=datetime(2008, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@given(
    since=moments,
    length=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=3650)),
    options=estimates,
)
def test_time_chunks_cover_the_window_exactly_once(since, length, options):
    until = since + length
    try:
        chunks = plan_chunks(time_range=(since, until), **options)
    except BackfillTooLarge:
        return
    assert all(isinstance(c, TimeChunk) for c in chunks)
    assert chunks[0].since == since and chunks[-1].until == until
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.since == before.until  # half-open windows that meet exactly
    assert all(c.since < c.until for c in chunks)
    assert len(chunks) <= options["max_chunks"]
    for chunk in chunks:
        assert chunk.estimated_seconds <= options["max_job_seconds"] * (1 + 1e-9)
    # The workflow's chunks input reads back as the same windows, to the microsecond.
    for entry, chunk in zip(json.loads(chunks_input(chunks)), chunks, strict=True):
        assert chunk_bounds(entry) == (chunk.since, chunk.until)
        scope = CaptureScope.build(chunk=json.dumps(entry))
        assert (scope.since, scope.until) == (chunk.since, chunk.until)


# -- the scope parser -----------------------------------------------------------------------------------


def as_ranges(numbers: list[int]) -> str:
    """12,15,90-99: the compact form a user types."""
    parts: list[str] = []
    ordered = sorted(set(numbers))
    start = prev = ordered[0]
    for n in [*ordered[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ",".join(parts)


number_sets = st.lists(st.integers(1, 5_000), min_size=1, max_size=60)


@given(numbers=number_sets)
def test_pr_numbers_round_trip_through_their_compact_form(numbers):
    text = as_ranges(numbers)
    assert parse_pr_numbers(text) == tuple(sorted(set(numbers)))
    assert as_ranges(list(parse_pr_numbers(text))) == text


@given(numbers=number_sets, data=st.data())
def test_pr_numbers_in_any_order_with_spaces_and_repeats_parse_the_same(numbers, data):
    parts = as_ranges(numbers).split(",")
    shuffled = data.draw(st.permutations(parts + data.draw(st.lists(st.sampled_from(parts), max_size=3))))
    spaced = ", ".join(f" {p} " for p in shuffled) + ","
    assert parse_pr_numbers(spaced) == tuple(sorted(set(numbers)))


@given(text=st.text(alphabet="0123456789-, x", max_size=12))
def test_pr_numbers_either_parse_or_raise_input_error(text):
    try:
        numbers = parse_pr_numbers(text)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert numbers and list(numbers) == sorted(set(numbers)) and numbers[0] >= 1


@given(moment=moments, suffix=st.sampled_from(["Z", "+00:00"]))
def test_since_round_trips_as_iso_8601(moment, suffix):
    text = moment.replace(tzinfo=None).isoformat() + suffix
    assert parse_since(text) == moment


@given(moment=moments, hours=st.integers(-12, 14))
def test_since_in_any_offset_is_the_same_moment_in_utc(moment, hours):
    local = moment.astimezone(timezone(timedelta(hours=hours)))
    parsed = parse_since(local.isoformat())
    assert parsed == moment and parsed.tzinfo == UTC


@given(day=st.dates(min_value=datetime(2008, 1, 1).date(), max_value=datetime(2030, 1, 1).date()))
def test_a_date_is_midnight_utc(day):
    assert parse_since(day.isoformat()) == datetime(day.year, day.month, day.day, tzinfo=UTC)


@given(first=st.integers(1, 10**6), size=st.integers(0, 10**6))
def test_number_chunks_round_trip_through_the_chunk_option(first, size):
    text = json.dumps({"numbers": [first, first + size]})
    assert parse_chunk(text) == {"numbers": [first, first + size]}
    scope = CaptureScope.build(chunk=text)
    assert scope.number_range == (first, first + size)
    assert CaptureScope.build(chunk=text).key() == scope.key()  # the same request resumes its checkpoint


# -- REST and GraphQL forms of the same objects -----------------------------------------------------------


def graphql_pull_requests(repo: Repository, numbers: list[int]) -> dict[int, dict[str, Any]]:
    """The pull requests as the simulator's GraphQL API answers the capture's own by-number query."""
    world = World()
    world.add_repository(repo)
    sim = Simulator(world)
    variables = {
        "owner": repo.owner.login,
        "name": repo.name,
        "withReviews": True,
        "withComments": True,
        "withFiles": True,
        "withCommits": True,
    }

    async def post() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=sim.asgi())
        async with httpx.AsyncClient(transport=transport, base_url=API) as client:
            answer = await client.post(
                "/graphql",
                json={"query": by_number_query(numbers), "variables": variables},
                headers={"Authorization": "bearer ghp_properties"},
            )
            answer.raise_for_status()
            body: dict[str, Any] = answer.json()
            return body

    body = asyncio.run(post())
    assert not body.get("errors"), body.get("errors")
    return {n: body["data"]["repository"][f"p{n}"] for n in numbers}


def rest_rows(repo: Repository, pr: Any) -> dict[str, Any]:
    """The same pull request through GitHub's REST shapes (and webhook payloads, which carry the same
    objects), mapped by the capture's REST mappers."""
    rows = mapping.Rows()
    pull = rest_shapes.pull_request(pr, repo, API, full=True)
    mapping.add_rest_pull_request(rows, repo.id, pull)
    for r in visible_reviews(pr, None):  # what the REST listing shows: nobody's pending review
        mapping.add_rest_review(rows, pr.id, rest_shapes.review(r, pr, repo, API))
    for c in pr.issue_comments:
        mapping.add_rest_issue_comment(rows, pr.id, rest_shapes.issue_comment(c, pr, repo, API))
    mapping.add_rest_files(rows, pr.id, [rest_shapes.changed_file(f, pr, repo, API) for f in pr.files])
    commits = []
    for c in pr.commits:
        git = rest_shapes.commit(c, repo, API)
        author, committer = git["commit"]["author"], git["commit"]["committer"]
        commits.append(
            {
                "sha": git["sha"],
                "author_name": author["name"],
                "author_email": author["email"],
                "authored_at": mapping.when(author["date"]),
                "committer_name": committer["name"],
                "committer_email": committer["email"],
                "committed_at": mapping.when(committer["date"]),
            }
        )
    [row] = rows.pull_requests
    people = {k: v for k, v in rows.contributors.items() if k != "ghost"}
    return {
        "pr": row,
        "reviews": rows.reviews,
        "comments": rows.comments,
        "files": rows.files,
        "commits": commits,
        "people": people,
    }


def graphql_rows(node: dict[str, Any], repository_id: int) -> dict[str, Any]:
    rows = mapping.Rows()
    pr_id = mapping.add_pull_request(rows, repository_id, node)
    mapping.add_reviews(rows, pr_id, node["reviews"]["nodes"])
    mapping.add_issue_comments(rows, pr_id, node["comments"]["nodes"])
    mapping.add_files(rows, pr_id, node["files"]["nodes"])
    mapping.add_commits(rows, pr_id, node["commits"]["nodes"], 0)
    return {"rows": rows, "pr_id": pr_id}


def texts(row: dict[str, Any]) -> dict[str, Any]:
    """An empty body is null in REST and "" in GraphQL (its `body` is a non-null String!): the same text."""
    return {**row, "body": row["body"] or None} if "body" in row else row


PERSON_KEYS = ("github_id", "node_id", "login", "type")  # the columns both forms carry for every actor
FILE_KEYS = ("pull_request_id", "path", "change_type", "additions", "deletions")  # GraphQL has no old path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(1, 10_000),
    prs=st.integers(1, 6),
    shape=st.builds(
        Shape,
        reviews=st.floats(0, 4),
        review_comments=st.just(0.0),
        issue_comments=st.floats(0, 4),
        files=st.floats(0, 12),
        commits=st.floats(0, 4),
        tail_rate=st.floats(0, 1),
    ),
)
def test_rest_and_graphql_forms_of_a_pull_request_map_to_the_same_rows(seed, prs, shape):
    repo = generate_repository("acme", "widgets", prs, seed=seed, shape=shape)
    # Lists within one GraphQL page: longer ones are completed by follow-ups, tested elsewhere.
    chosen = [
        p
        for p in repo.pull_requests
        if max(map(len, (p.reviews, p.issue_comments, p.files, p.commits))) <= 100
    ]
    if not chosen:
        return
    nodes = graphql_pull_requests(repo, [p.number for p in chosen])
    for pr in chosen:
        rest = rest_rows(repo, pr)
        mapped = graphql_rows(nodes[pr.number], repo.id)
        rows: mapping.Rows = mapped["rows"]
        assert mapped["pr_id"] == pr.id
        [gql_pr] = rows.pull_requests
        assert texts({k: gql_pr[k] for k in rest["pr"]}) == texts(rest["pr"]), f"#{pr.number}"
        review_keys = list(rest["reviews"][0]) if rest["reviews"] else []
        gql_reviews = [texts({k: r[k] for k in review_keys}) for r in rows.reviews]
        assert gql_reviews == list(map(texts, rest["reviews"]))
        comment_keys = ("github_id", "node_id", "author_id", "body", "created_at", "updated_at")
        gql_comments = [texts({k: c[k] for k in comment_keys}) for c in rows.comments]
        assert gql_comments == [texts({k: c[k] for k in comment_keys}) for c in rest["comments"]]
        assert [{k: f[k] for k in FILE_KEYS} for f in rows.files] == [
            {k: f[k] for k in FILE_KEYS} for f in rest["files"]
        ]
        commit_keys = list(rest["commits"][0]) if rest["commits"] else []
        assert [{k: c[k] for k in commit_keys} for c in rows.commits] == rest["commits"]
        gql_people = {k: {f: v[f] for f in PERSON_KEYS} for k, v in rows.contributors.items() if k != "ghost"}
        rest_people = {k: {f: v[f] for f in PERSON_KEYS} for k, v in rest["people"].items()}
        assert gql_people == rest_people
