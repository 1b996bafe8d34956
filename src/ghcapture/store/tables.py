"""The schema: SQLAlchemy Core tables, identical on SQLite and PostgreSQL.

GitHub's ids are the natural keys and the foreign keys, so the database reads without code.
`author_id` and `merged_by_id` columns hold a contributor's GitHub id; NULL means the ghost user or unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

GHOST_LOGIN = "ghost"

# Deterministic constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime, on both dialects."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite stores no offset; the value is UTC by construction.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _github_id(**kwargs: Any) -> Column[int]:
    # autoincrement=False: GitHub assigns these, and PostgreSQL must not make them BIGSERIAL.
    return Column("github_id", BigInteger, primary_key=True, autoincrement=False, **kwargs)


repositories = Table(
    "repositories",
    metadata,
    _github_id(),
    Column("node_id", String),
    Column("owner", String, nullable=False),
    Column("name", String, nullable=False),
    Column("full_name", String, nullable=False, unique=True),
    Column("default_branch", String),
    Column("github_pr_total", Integer),
    Column("last_synced_at", UTCDateTime),
)

contributors = Table(
    "contributors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("github_id", BigInteger, unique=True),
    Column("node_id", String),
    Column("login", String, nullable=False),
    Column("type", String),
    Column("name", String),
    Column("avatar_url", String),
    # At most one ghost row: the deleted user has no GitHub id, so UNIQUE(github_id) cannot catch it.
    Index(
        "uq_contributors_ghost_login",
        "login",
        unique=True,
        sqlite_where=text("github_id IS NULL"),
        postgresql_where=text("github_id IS NULL"),
    ),
)

pull_requests = Table(
    "pull_requests",
    metadata,
    _github_id(),
    Column("node_id", String),
    Column("repository_id", BigInteger, ForeignKey("repositories.github_id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", Text),
    Column("body", Text),
    Column("state", String),
    Column("draft", Boolean),
    Column("merged", Boolean),
    Column("merged_at", UTCDateTime),
    Column("merged_by_id", BigInteger),
    Column("author_id", BigInteger),
    Column("base_ref", String),
    Column("head_ref", String),
    Column("created_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("additions", Integer),
    Column("deletions", Integer),
    Column("changed_files", Integer),
    Column("commits_count", Integer),
    Column("html_url", String),
    Column("head_sha", String),
    # GitHub lists at most 3,000 files of a pull request: True when `changed_files` says there are more.
    Column("files_truncated", Boolean),
    UniqueConstraint("repository_id", "number"),
    Index(None, "repository_id", "updated_at"),
    # GitHub lists at most 3,000 files of a pull request: the few with more, per repository.
    Index(
        "ix_pull_requests_truncated_file_lists",
        "repository_id",
        sqlite_where=text("files_truncated"),
        postgresql_where=text("files_truncated"),
    ),
)

reviews = Table(
    "reviews",
    metadata,
    _github_id(),
    Column("node_id", String),
    Column("pull_request_id", BigInteger, ForeignKey("pull_requests.github_id"), nullable=False),
    Column("author_id", BigInteger),
    Column("state", String),
    Column("body", Text),
    Column("submitted_at", UTCDateTime),
    Column("commit_id", String),
    Index(None, "pull_request_id"),
)

comments = Table(
    "comments",
    metadata,
    _github_id(),
    Column("node_id", String),
    Column("pull_request_id", BigInteger, ForeignKey("pull_requests.github_id"), nullable=False),
    Column("author_id", BigInteger),
    Column("kind", String, nullable=False),  # 'issue_comment' or 'review_comment'
    Column("body", Text),
    Column("path", Text),
    Column("line", Integer),
    Column("diff_hunk", Text),
    Column("in_reply_to_id", BigInteger),
    Column("review_id", BigInteger),
    Column("created_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    # When a capture found the comment gone from GitHub; the row stays for history, and counts skip it.
    Column("deleted_at", UTCDateTime),
    Index(None, "pull_request_id", "kind"),
)

pr_files = Table(
    "pr_files",
    metadata,
    Column("pull_request_id", BigInteger, ForeignKey("pull_requests.github_id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("previous_path", Text),
    Column("change_type", String),
    Column("additions", Integer),
    Column("deletions", Integer),
    PrimaryKeyConstraint("pull_request_id", "path"),
)

# A pull request's commits as GitHub lists them now (a force-push replaces the list), with who wrote
# and who committed each: the git identity (name, email) and, where GitHub knows it, the account.
pr_commits = Table(
    "pr_commits",
    metadata,
    Column("pull_request_id", BigInteger, ForeignKey("pull_requests.github_id"), nullable=False),
    Column("sha", String, nullable=False),
    Column("position", Integer),
    Column("author_name", Text),
    Column("author_email", Text),
    Column("author_login", String),
    Column("author_id", BigInteger),
    Column("authored_at", UTCDateTime),
    Column("committer_name", Text),
    Column("committer_email", Text),
    Column("committer_login", String),
    Column("committer_id", BigInteger),
    Column("committed_at", UTCDateTime),
    PrimaryKeyConstraint("pull_request_id", "sha"),
)

capture_checkpoints = Table(
    "capture_checkpoints",
    metadata,
    Column("repository", String, nullable=False),
    Column("entity", String, nullable=False),
    Column("scope", String, nullable=False),
    Column("cursor", Text),
    Column("watermark", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False, default=utc_now),
    PrimaryKeyConstraint("repository", "entity", "scope"),
)

progressive_capture_jobs = Table(
    "progressive_capture_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String, nullable=False),
    Column("repository", String),
    Column("lane", String),  # realtime | bulk
    Column("processor", String),  # local | github_actions
    Column("route_reason", Text),
    Column("trigger", String),  # manual | scheduled | automatic | webhook
    Column("params", JSON),
    # pending | queued | running | completed | failed | cancelled
    Column("status", String, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="3"),
    Column("error", Text),
    Column("items_total", Integer),
    Column("items_done", Integer, nullable=False, server_default="0"),
    Column("items_failed", Integer, nullable=False, server_default="0"),
    Column("points_used", Integer, nullable=False, server_default="0"),
    Column("requests_made", Integer, nullable=False, server_default="0"),
    Column("workflow_run_id", BigInteger),
    Column("run_url", String),
    Column("billable_ms", BigInteger),
    Column("cost_usd", Float),
    Column("created_at", UTCDateTime, nullable=False, default=utc_now),
    Column("started_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Index(None, "status"),
    Index(None, "repository", "kind"),
    # The dashboard's windows (created, ended) and its per-repository open jobs and last completed job.
    Index(None, "created_at", "lane", "status"),
    Index(None, "completed_at"),
    Index(None, "status", "repository", "completed_at"),
    Index(
        "ix_progressive_capture_jobs_actions_billing",
        "completed_at",
        "repository",
        "billable_ms",
        "cost_usd",
        "items_done",
        sqlite_where=text("billable_ms IS NOT NULL"),
        postgresql_where=text("billable_ms IS NOT NULL"),
    ),
    # Jobs by status and lane (the console's counts) read from the index alone.
    Index(None, "status", "lane"),
    # The local engine's current workflow for this job; claiming it is how one worker wins a job.
    Column("local_workflow_id", String),
)

job_events = Table(
    "job_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(36), ForeignKey("progressive_capture_jobs.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False, default=utc_now),
    Column("type", String, nullable=False),
    Column("message", Text),
    Index(None, "job_id"),
)

# What a capture stores, as opposed to the bookkeeping about captures.
DATA_TABLES: tuple[Table, ...] = (
    repositories,
    contributors,
    pull_requests,
    reviews,
    comments,
    pr_files,
    pr_commits,
)
ALL_TABLES: tuple[Table, ...] = (*DATA_TABLES, capture_checkpoints, progressive_capture_jobs, job_events)

# Repositories kept current by `ghcapture track`: a refresh on schedule and a one-time backfill.
tracked_repositories = Table(
    "tracked_repositories",
    metadata,
    Column("repository", String, primary_key=True),
    Column("kind", String, nullable=False, server_default="prs"),
    Column("every_seconds", Integer, nullable=False),
    Column("backfill_days", Integer),
    Column("backfill_done", Boolean, nullable=False, server_default=text("false")),
    Column("priority", Integer, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False, default=utc_now),
    Column("last_enqueued_at", UTCDateTime),
)

# One capture of a repository and scope at a time (ghcapture.store.locks): its holder and when it expires.
capture_locks = Table(
    "capture_locks",
    metadata,
    Column("repository", String, nullable=False),
    Column("scope", String, nullable=False),
    Column("owner", String, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("repository", "scope"),
)

# Every GitHub webhook delivery received, by its X-GitHub-Delivery id: a second delivery of one id is a no-op.
# `object_key` and `version` order deliveries of one object that carry no timestamp of their own (a workflow
# run's attempt and status): a delivery older than the newest applied one changes nothing.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(100), primary_key=True),
    Column("event", String, nullable=False),
    Column("action", String),
    Column("hook_id", BigInteger),
    Column("installation_id", BigInteger),
    Column("repository", String),
    Column("pull_request_number", Integer),
    # applied | stale | job | ignored
    Column("outcome", String, nullable=False),
    Column("detail", Text),
    Column("job_id", String(36)),
    Column("object_key", String),
    Column("version", String),
    Column("received_at", UTCDateTime, nullable=False, default=utc_now),
    Index(None, "repository", "received_at"),
    Index(None, "object_key"),
)

# Deliveries GitHub listed as failed and that were asked for again (each GUID and attempt once): the record an
# alert reads to see failures grow.
webhook_redeliveries = Table(
    "webhook_redeliveries",
    metadata,
    Column("attempt_id", BigInteger, primary_key=True, autoincrement=False),
    Column("delivery_id", String(100), nullable=False),
    Column("event", String),
    Column("status", Text),
    Column("asked_at", UTCDateTime, nullable=False, default=utc_now),
    Index(None, "asked_at"),
)

# What GitHub said of a rate-limit budget (x-ratelimit-* headers or GraphQL's rateLimit), sampled by every
# process that spends it, so budgets are visible across workers and Actions runners; pruned by age.
rate_limit_samples = Table(
    "rate_limit_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("budget", String, nullable=False),  # a token's digest or an App installation, never a secret
    Column("resource", String, nullable=False),  # core | graphql | search | ...
    Column("limit", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("used", Integer, nullable=False),
    Column("reset_at", UTCDateTime, nullable=False),
    Column("sampled_at", UTCDateTime, nullable=False),
    Index(None, "budget", "resource", "sampled_at"),
    Index(None, "sampled_at"),
)

# One row per destination (log, webhook:<digest of its URL>, issues:OWNER/NAME) and alert (rule and
# subject) ever raised: whether it fires, and when it was last sent there, so repeated `ghcapture alerts`
# runs and `alerts --watch` send a firing alert once per cool-down and its clearing once.
alert_states = Table(
    "alert_states",
    metadata,
    Column("destination", String, nullable=False),
    Column("rule", String, nullable=False),
    Column("subject", String, nullable=False),
    Column("severity", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("firing", Boolean, nullable=False),
    Column("fired_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("cleared_at", UTCDateTime),
    Column("issue_number", Integer),  # the issue opened for it in the jobs repository, if any
    PrimaryKeyConstraint("destination", "rule", "subject"),
)

# Each local worker's heartbeat (ghcapture worker, or the engine `ghcapture sync` starts for itself).
workers = Table(
    "workers",
    metadata,
    Column("id", String, primary_key=True),  # the engine's executor id: host-pid-random
    Column("host", String, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("listens", Boolean, nullable=False),  # takes jobs from the queues, not only its own
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Column("running", JSON),  # ids of the jobs it held at its last beat
)
