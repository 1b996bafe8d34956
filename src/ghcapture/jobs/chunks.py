"""The chunk planner of the bulk lane: splits a backfill into chunks that each fit one Actions job.

A chunk is either an inclusive range of pull-request numbers or a half-open `[since, until)` window of
`updatedAt`. Chunks are contiguous and cover the backfill's scope exactly once. The planner assumes pull
requests are spread evenly over the scope, so `estimated_prs` only needs to be a total.

A chunk fits a job when its estimated time, slowed to the installation's hourly point budget if its pace
would overspend it, is within `max_job_seconds`; so its points are also within that many hours of budget.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ghcapture.errors import GhcaptureError, InputError
from ghcapture.workflows.generate import MAX_MATRIX_JOBS, TIMEOUT_MINUTES

# The job's timeout less time for setting up Python, installing ghcapture and estimates that run long.
DEFAULT_MAX_JOB_SECONDS = (TIMEOUT_MINUTES - 30) * 60


class BackfillTooLarge(GhcaptureError):
    """The backfill does not fit one workflow run's matrix; it must be split into several runs."""


@dataclass(frozen=True)
class NumberChunk:
    """Pull requests numbered `first` to `last`, both included."""

    first: int
    last: int
    estimated_prs: float
    estimated_points: float
    estimated_seconds: float

    def to_input(self) -> dict[str, Any]:
        """The chunk as the workflow's matrix entry and `ghcapture capture --chunk` take it."""
        return {"numbers": [self.first, self.last]}


@dataclass(frozen=True)
class TimeChunk:
    """Pull requests updated at or after `since` and before `until` (both timezone-aware)."""

    since: datetime
    until: datetime
    estimated_prs: float
    estimated_points: float
    estimated_seconds: float

    def to_input(self) -> dict[str, Any]:
        """The chunk as the workflow's matrix entry and `ghcapture capture --chunk` take it."""
        return {"since": _iso(self.since), "until": _iso(self.until)}


Chunk = NumberChunk | TimeChunk


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def chunks_input(chunks: Sequence[Chunk]) -> str:
    """The `chunks` input of a bulk workflow: a compact JSON list of the chunks' matrix entries."""
    if len(chunks) > MAX_MATRIX_JOBS:
        raise BackfillTooLarge(f"{len(chunks)} chunks do not fit one run; it holds at most {MAX_MATRIX_JOBS}")
    return json.dumps([chunk.to_input() for chunk in chunks], separators=(",", ":"))


def _parse_moment(text: object, key: str) -> datetime:
    if not isinstance(text, str):
        raise InputError(f"chunk {key} must be an ISO 8601 time string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"chunk {key} is not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def chunk_bounds(data: Mapping[str, Any]) -> tuple[int, int] | tuple[datetime, datetime] | None:
    """Reads a `--chunk` object back: a (first, last) number range, a (since, until) window, or None ({})."""
    if not data:
        return None
    if set(data) == {"numbers"}:
        numbers = data["numbers"]
        if (
            not isinstance(numbers, list)
            or len(numbers) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers)
            or numbers[0] > numbers[1]
        ):
            raise InputError('chunk numbers must be [from, to] with from <= to, e.g. {"numbers": [1, 500]}')
        return numbers[0], numbers[1]
    if set(data) == {"since", "until"}:
        since, until = _parse_moment(data["since"], "since"), _parse_moment(data["until"], "until")
        if since >= until:
            raise InputError("chunk since must be before until")
        return since, until
    raise InputError('a chunk is {"numbers": [from, to]} or {"since": ISO, "until": ISO}')


def max_parallel_for(budget_per_hour: float, points_per_chunk_hour: float) -> int:
    """How many chunks can run at once and together spend no more than `budget_per_hour` (1 to 256)."""
    if points_per_chunk_hour <= 0:
        return MAX_MATRIX_JOBS
    # Clamp before flooring: a tiny per-chunk cost makes the quotient overflow to infinity.
    return max(1, math.floor(min(MAX_MATRIX_JOBS, budget_per_hour / points_per_chunk_hour)))


def _split_numbers(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    size = last - first + 1
    bounds = [first + size * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(parts)]


def _split_window(since: datetime, until: datetime, parts: int) -> list[tuple[datetime, datetime]]:
    # Whole microseconds, so the windows meet exactly and the last one ends at `until`.
    total = (until - since) // timedelta(microseconds=1)
    bounds = [since + timedelta(microseconds=total * i // parts) for i in range(parts + 1)]
    bounds[-1] = until
    return [(bounds[i], bounds[i + 1]) for i in range(parts)]


def plan_chunks(
    *,
    pr_numbers_range: tuple[int, int] | None = None,
    time_range: tuple[datetime, datetime] | None = None,
    estimated_prs: int,
    points_per_pr: float,
    seconds_per_pr: float,
    hourly_budget: int,
    max_job_seconds: int = DEFAULT_MAX_JOB_SECONDS,
    max_chunks: int = MAX_MATRIX_JOBS,
    min_chunks: int = 1,
) -> list[Chunk]:
    """Splits a backfill into the fewest chunks that each fit a job, and at least `min_chunks` (for
    parallelism) where `max_chunks` and the scope allow that many.

    `pr_numbers_range` is inclusive; `time_range` is `[since, until)` with timezone-aware ends. Raises
    BackfillTooLarge when even `max_chunks` chunks would leave one too large for a job.
    """
    if (pr_numbers_range is None) == (time_range is None):
        raise InputError("give exactly one of a pull-request number range and a time range")
    if estimated_prs < 0 or points_per_pr < 0 or seconds_per_pr <= 0 or hourly_budget <= 0:
        raise InputError("estimates must not be negative, and seconds per PR and the hourly budget positive")
    if max_job_seconds <= 0 or min_chunks < 1 or not 1 <= max_chunks <= MAX_MATRIX_JOBS:
        raise InputError(
            f"need max_job_seconds > 0, min_chunks >= 1 and 1 <= max_chunks <= {MAX_MATRIX_JOBS}"
        )

    # A job spending points faster than the hourly budget allows waits for resets, so it runs at that pace.
    seconds_each = max(seconds_per_pr, 3600 * points_per_pr / hourly_budget)
    prs_per_job = max_job_seconds / seconds_each

    if pr_numbers_range is not None:
        first, last = pr_numbers_range
        if first > last or first < 1:
            raise InputError(f"the pull-request number range {first}..{last} is empty or below 1")
        span = last - first + 1
        density = estimated_prs / span

        def largest_share(parts: int) -> float:
            return math.ceil(span / parts) * density

        ceiling = min(max_chunks, span)
    else:
        assert time_range is not None
        since, until = time_range
        if since.tzinfo is None or until.tzinfo is None:
            raise InputError("the time range must be timezone-aware")
        if since >= until:
            raise InputError("the time range is empty: since must be before until")
        micros = (until - since) // timedelta(microseconds=1)
        density = estimated_prs / micros

        def largest_share(parts: int) -> float:
            return math.ceil(micros / parts) * density

        ceiling = min(max_chunks, micros)

    parts = max(min(min_chunks, ceiling), math.ceil(estimated_prs / prs_per_job) if estimated_prs else 1)
    while parts <= ceiling and largest_share(parts) > prs_per_job:
        parts += 1
    if parts > ceiling:
        needed = math.ceil(estimated_prs / prs_per_job)
        raise BackfillTooLarge(
            f"the backfill needs about {needed} chunks of at most {max_job_seconds // 60} minutes and one "
            f"run holds {ceiling}; split it into several runs over narrower ranges"
        )

    def estimate(prs: float) -> tuple[float, float, float]:
        return prs, prs * points_per_pr, prs * seconds_each

    if pr_numbers_range is not None:
        return [
            NumberChunk(a, b, *estimate((b - a + 1) * density))
            for a, b in _split_numbers(pr_numbers_range[0], pr_numbers_range[1], parts)
        ]
    assert time_range is not None
    return [
        TimeChunk(a, b, *estimate(((b - a) // timedelta(microseconds=1)) * density))
        for a, b in _split_window(time_range[0], time_range[1], parts)
    ]
