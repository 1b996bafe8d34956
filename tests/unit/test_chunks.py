"""The chunk planner: chunks cover the scope exactly once, fit a job, and fit one run's matrix."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghcapture.errors import GhcaptureError, InputError
from ghcapture.jobs.chunks import (
    DEFAULT_MAX_JOB_SECONDS,
    BackfillTooLarge,
    NumberChunk,
    TimeChunk,
    chunk_bounds,
    chunks_input,
    max_parallel_for,
    plan_chunks,
)

costs = st.fixed_dictionaries(
    {
        "estimated_prs": st.integers(0, 2_000_000),
        "points_per_pr": st.floats(0, 50, allow_nan=False),
        "seconds_per_pr": st.floats(0.01, 120, allow_nan=False),
        "hourly_budget": st.integers(1, 15_000),
        "max_job_seconds": st.integers(60, DEFAULT_MAX_JOB_SECONDS),
        "min_chunks": st.integers(1, 300),
    }
)


def fits_a_job(chunk: NumberChunk | TimeChunk, cost: dict[str, float]) -> bool:
    limit = cost["max_job_seconds"]
    hours = limit / 3600
    slack = 1e-9 * max(1.0, chunk.estimated_seconds)
    budget_ok = chunk.estimated_points <= cost["hourly_budget"] * hours * (1 + 1e-9) + 1e-6
    return chunk.estimated_seconds <= limit + slack and budget_ok


@given(first=st.integers(1, 10**6), length=st.integers(1, 10**6), cost=costs)
def test_number_chunks_cover_the_range_once_and_each_fits(
    first: int, length: int, cost: dict[str, float]
) -> None:
    last = first + length - 1
    try:
        chunks = plan_chunks(pr_numbers_range=(first, last), **cost)  # type: ignore[arg-type]
    except BackfillTooLarge as exc:
        # Only when even 256 chunks (or one per number) leave one too large for a job.
        per_job = cost["max_job_seconds"] / max(
            cost["seconds_per_pr"], 3600 * cost["points_per_pr"] / cost["hourly_budget"]
        )
        most = min(256, length)
        assert math.ceil(length / most) * cost["estimated_prs"] / length > per_job
        assert "several runs" in str(exc)
        return
    assert 1 <= len(chunks) <= 256
    assert len(chunks) >= min(cost["min_chunks"], 256, length)
    assert chunks[0].first == first and chunks[-1].last == last
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.first == before.last + 1
    assert all(isinstance(c, NumberChunk) and c.first <= c.last for c in chunks)
    assert sum(c.last - c.first + 1 for c in chunks) == length
    assert all(fits_a_job(c, cost) for c in chunks)
    assert sum(c.estimated_prs for c in chunks) == pytest.approx(cost["estimated_prs"])


moments = st.datetimes(min_value=datetime(2008, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@given(since=moments, span=st.timedeltas(timedelta(microseconds=1), timedelta(days=6000)), cost=costs)
def test_time_chunks_cover_the_window_once_and_each_fits(
    since: datetime, span: timedelta, cost: dict[str, float]
) -> None:
    until = since + span
    try:
        chunks = plan_chunks(time_range=(since, until), **cost)  # type: ignore[arg-type]
    except BackfillTooLarge:
        per_job = cost["max_job_seconds"] / max(
            cost["seconds_per_pr"], 3600 * cost["points_per_pr"] / cost["hourly_budget"]
        )
        micros = span // timedelta(microseconds=1)
        most = min(256, micros)
        assert math.ceil(micros / most) * cost["estimated_prs"] / micros > per_job
        return
    assert 1 <= len(chunks) <= 256
    assert chunks[0].since == since and chunks[-1].until == until
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.since == before.until
    assert all(isinstance(c, TimeChunk) and c.since < c.until for c in chunks)
    assert all(fits_a_job(c, cost) for c in chunks)


@given(first=st.integers(1, 10**5), length=st.integers(1, 10**5), cost=costs)
def test_chunks_round_trip_through_the_workflow_input(
    first: int, length: int, cost: dict[str, float]
) -> None:
    try:
        chunks = plan_chunks(pr_numbers_range=(first, first + length - 1), **cost)  # type: ignore[arg-type]
    except BackfillTooLarge:
        return
    entries = json.loads(chunks_input(chunks))
    assert [chunk_bounds(entry) for entry in entries] == [(c.first, c.last) for c in chunks]


def test_a_small_backfill_is_one_chunk() -> None:
    (chunk,) = plan_chunks(
        pr_numbers_range=(1, 500), estimated_prs=400, points_per_pr=1, seconds_per_pr=1, hourly_budget=5000
    )
    assert chunk.to_input() == {"numbers": [1, 500]}
    assert chunk.estimated_points == 400


def test_the_fewest_chunks_that_fit_are_chosen() -> None:
    # 40,000 PRs at 2 s each and 19,800 s a job: 9,900 a chunk, so 5 chunks.
    chunks = plan_chunks(
        pr_numbers_range=(1, 50_000),
        estimated_prs=40_000,
        points_per_pr=1,
        seconds_per_pr=2,
        hourly_budget=5000,
    )
    assert len(chunks) == 5
    assert [c.to_input() for c in chunks][:2] == [{"numbers": [1, 10_000]}, {"numbers": [10_001, 20_000]}]


def test_a_pace_over_the_hourly_budget_slows_the_estimate() -> None:
    # 10 points a PR at 1 s is 36,000 points an hour; a 5,000 budget allows 500 PRs an hour.
    (chunk,) = plan_chunks(
        pr_numbers_range=(1, 1000), estimated_prs=1000, points_per_pr=10, seconds_per_pr=1, hourly_budget=5000
    )
    assert chunk.estimated_seconds == pytest.approx(7200)
    more = plan_chunks(
        pr_numbers_range=(1, 100_000),
        estimated_prs=100_000,
        points_per_pr=10,
        seconds_per_pr=1,
        hourly_budget=5000,
    )
    assert all(c.estimated_points <= 5000 * DEFAULT_MAX_JOB_SECONDS / 3600 for c in more)
    assert len(more) == math.ceil(100_000 / (DEFAULT_MAX_JOB_SECONDS / 7.2))


def test_min_chunks_splits_for_parallelism() -> None:
    chunks = plan_chunks(
        pr_numbers_range=(1, 10),
        estimated_prs=10,
        points_per_pr=1,
        seconds_per_pr=1,
        hourly_budget=5000,
        min_chunks=20,
    )
    assert [c.to_input()["numbers"] for c in chunks] == [[n, n] for n in range(1, 11)]


def test_time_chunks_are_utc_iso_windows() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    chunks = plan_chunks(
        time_range=(since, since + timedelta(days=2)),
        estimated_prs=100,
        points_per_pr=1,
        seconds_per_pr=1,
        hourly_budget=5000,
        min_chunks=2,
    )
    assert [c.to_input() for c in chunks] == [
        {"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z"},
        {"since": "2024-01-02T00:00:00Z", "until": "2024-01-03T00:00:00Z"},
    ]


def test_a_backfill_too_large_for_one_run_says_to_split_it() -> None:
    with pytest.raises(BackfillTooLarge, match="several runs") as info:
        plan_chunks(
            pr_numbers_range=(1, 10_000_000),
            estimated_prs=10_000_000,
            points_per_pr=1,
            seconds_per_pr=1,
            hourly_budget=5000,
        )
    assert isinstance(info.value, GhcaptureError)
    with pytest.raises(BackfillTooLarge):
        chunks_input([NumberChunk(n, n, 1, 1, 1) for n in range(1, 258)])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"pr_numbers_range": (1, 2), "time_range": (datetime(2024, 1, 1, tzinfo=UTC),) * 2},
        {"pr_numbers_range": (5, 4)},
        {"pr_numbers_range": (0, 4)},
        {"time_range": (datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))},
        {"time_range": (datetime(2024, 1, 1), datetime(2024, 1, 2))},
        {"pr_numbers_range": (1, 4), "seconds_per_pr": 0},
        {"pr_numbers_range": (1, 4), "min_chunks": 0},
    ],
)
def test_malformed_plans_are_input_errors(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "estimated_prs": 10,
        "points_per_pr": 1,
        "seconds_per_pr": 1,
        "hourly_budget": 5000,
    }
    with pytest.raises(InputError):
        plan_chunks(**(base | kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "bounds"),
    [
        ({}, None),
        ({"numbers": [3, 9]}, (3, 9)),
        (
            {"since": "2024-01-01T00:00:00Z", "until": "2024-02-01T00:00:00+00:00"},
            (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),
        ),
    ],
)
def test_chunk_bounds_reads_a_chunk_back(data: dict[str, object], bounds: object) -> None:
    assert chunk_bounds(data) == bounds


@pytest.mark.parametrize(
    "data",
    [
        {"numbers": [9, 3]},
        {"numbers": [1]},
        {"numbers": [True, 2]},
        {"since": "2024-01-02", "until": "2024-01-01"},
        {"since": "yesterday", "until": "2024-01-01"},
        {"numbers": [1, 2], "since": "2024-01-01"},
    ],
)
def test_chunk_bounds_refuses_malformed_chunks(data: dict[str, object]) -> None:
    with pytest.raises(InputError):
        chunk_bounds(data)


@given(budget=st.integers(0, 10**6), per_chunk=st.floats(0, 10**6, allow_nan=False))
def test_max_parallel_stays_within_the_budget(budget: int, per_chunk: float) -> None:
    parallel = max_parallel_for(budget, per_chunk)
    assert 1 <= parallel <= 256
    if per_chunk > 0 and parallel > 1:
        assert parallel * per_chunk <= budget
    if per_chunk > 0 and parallel < 256:
        assert (parallel + 1) * per_chunk > budget


def test_max_parallel_examples() -> None:
    assert max_parallel_for(5000, 1800) == 2
    assert max_parallel_for(5000, 9000) == 1
    assert max_parallel_for(5000, 0) == 256
