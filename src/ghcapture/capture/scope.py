"""A capture's scope: all history (or what changed since the last watermark), a time window, PR numbers."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ghcapture.errors import InputError

REPOSITORY = re.compile(r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<name>[A-Za-z0-9._-]{1,100})$")
KINDS = ("prs", "reviews", "comments", "files", "pr-details")
MAX_NUMBER = 2**31 - 1  # GitHub's GraphQL Int: a larger pull-request number cannot be asked for


def parse_repository(text: str) -> tuple[str, str]:
    # fullmatch, not match with $: `$` also matches before a trailing newline, which would let
    # "acme/widgets\n" through to GitHub and into the rows.
    match = REPOSITORY.fullmatch(text)
    if not match or match["name"] in (".", ".."):
        raise InputError(f"{text!r} is not a repository name; expected OWNER/NAME, e.g. acme/widgets")
    return match["owner"], match["name"]


def parse_pr_numbers(text: str) -> tuple[int, ...]:
    """'12,15,99' or '1-50,75' -> sorted distinct numbers."""
    numbers: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise InputError(f"--pr-numbers: {part!r} is not a number or a range like 10-20")
        first, last = int(match[1]), int(match[2] or match[1])
        if first < 1 or last < first or last - first > 100_000 or last > MAX_NUMBER:
            raise InputError(f"--pr-numbers: {part!r} is not a valid range")
        numbers.update(range(first, last + 1))
    if not numbers:
        raise InputError("--pr-numbers: no numbers given")
    return tuple(sorted(numbers))


def parse_since(text: str, option: str = "--since") -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{option}: {text!r} is not a date; use YYYY-MM-DD or an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_chunk(text: str) -> dict[str, Any]:
    try:
        chunk = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(f"--chunk: not JSON: {text[:80]!r}") from None
    if not isinstance(chunk, dict) or not (set(chunk) <= {"numbers", "since", "until"}):
        raise InputError('--chunk: expected {"numbers": [first, last]} or {"since": ..., "until": ...}')
    if "numbers" in chunk:
        nums = chunk["numbers"]
        if not (
            isinstance(nums, list)
            and len(nums) == 2
            and all(isinstance(n, int) for n in nums)
            and 0 < nums[0] <= nums[1] <= MAX_NUMBER
        ):
            raise InputError("--chunk: numbers must be [first, last] with 0 < first <= last")
    window = {
        key: parse_since(str(chunk[key]), f"--chunk: {key}") for key in ("since", "until") if key in chunk
    }
    if len(window) == 2 and window["until"] <= window["since"]:
        raise InputError("--chunk: until must be after since")
    return chunk


@dataclass(frozen=True)
class CaptureScope:
    days: int | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive; from a time-window chunk
    pr_numbers: tuple[int, ...] = ()
    number_range: tuple[int, int] | None = None  # from a PR-number chunk
    max_items: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def build(
        cls,
        *,
        days: int | None = None,
        since: str | None = None,
        pr_numbers: str | None = None,
        max_items: int | None = None,
        chunk: str | None = None,
    ) -> CaptureScope:
        if days is not None and since is not None:
            raise InputError("give --days or --since, not both")
        if days is not None and days < 1:
            raise InputError("--days must be at least 1")
        if max_items is not None and max_items < 1:
            raise InputError("--max-items must be at least 1")
        parsed_since = parse_since(since) if since is not None else None
        until = None
        number_range = None
        if chunk is not None:
            data = parse_chunk(chunk)
            if "numbers" in data:
                number_range = (data["numbers"][0], data["numbers"][1])
            if "since" in data:
                parsed_since = max(filter(None, [parsed_since, parse_since(data["since"])]))
            if "until" in data:
                until = parse_since(data["until"])
        return cls(
            days=days,
            since=parsed_since,
            until=until,
            pr_numbers=parse_pr_numbers(pr_numbers) if pr_numbers is not None else (),
            number_range=number_range,
            max_items=max_items,
        )

    @property
    def is_everything(self) -> bool:
        """No bounds: all history the first time, then what changed since the last watermark."""
        return not (self.days or self.since or self.until or self.pr_numbers or self.number_range)

    def window_start(self, now: datetime) -> datetime | None:
        if self.days:
            return now - timedelta(days=self.days)
        return self.since

    def key(self) -> str:
        """The checkpoint scope: the same request resumes the same checkpoint."""
        if self.is_everything:
            return "all"
        parts = {
            "days": self.days,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "range": self.number_range,
            "numbers": hashlib.sha1(",".join(map(str, self.pr_numbers)).encode()).hexdigest()[:12]
            if self.pr_numbers
            else None,
        }
        return "scope:" + json.dumps({k: v for k, v in parts.items() if v is not None}, sort_keys=True)
