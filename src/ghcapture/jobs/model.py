"""A capture job: what was asked, where it runs and why, and how far it has got."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "pending",
    "queued",
    "running",
    "completed",
    "failed",
    "cancelled",
)
STATUSES = (PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
ACTIVE = frozenset({PENDING, QUEUED, RUNNING})

REALTIME, BULK = "realtime", "bulk"
LANES = (REALTIME, BULK)
LOCAL, GITHUB_ACTIONS = "local", "github_actions"
PROCESSORS = (LOCAL, GITHUB_ACTIONS)
TRIGGERS = ("manual", "scheduled", "automatic", "webhook", "background")

# Which status may follow which; anything else is a bug or a race another process won.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({QUEUED, RUNNING, CANCELLED, FAILED}),
    QUEUED: frozenset({RUNNING, CANCELLED, FAILED, QUEUED}),
    RUNNING: frozenset({RUNNING, COMPLETED, FAILED, CANCELLED, QUEUED}),
    COMPLETED: frozenset({QUEUED}),
    FAILED: frozenset({QUEUED}),
    CANCELLED: frozenset({QUEUED}),
}


def can_transition(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    at: datetime
    type: str
    message: str | None


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    repository: str | None
    lane: str | None
    processor: str | None
    route_reason: str | None
    trigger: str | None
    params: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    error: str | None
    items_total: int | None
    items_done: int
    items_failed: int
    points_used: int
    requests_made: int
    workflow_run_id: int | None
    run_url: str | None
    billable_ms: int | None
    cost_usd: float | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    completed_at: datetime | None
    local_workflow_id: str | None = None
    events: tuple[JobEvent, ...] = field(default=(), compare=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def attempts_left(self) -> int:
        return max(0, self.max_attempts - self.attempts)

    @classmethod
    def from_row(cls, row: Any, events: tuple[JobEvent, ...] = ()) -> Job:
        known = {f.name for f in fields(cls)}
        # Columns added later by other parts of ghcapture are not the model's business.
        data = {k: v for k, v in row._mapping.items() if k in known}
        data["params"] = dict(data.get("params") or {})
        return cls(**data, events=events)
