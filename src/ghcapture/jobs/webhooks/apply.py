"""What each delivery does to the store.

Where the payload carries the whole object (a pull request's own fields, a review, a comment) it is mapped by
the capture's own REST mapping and upserted at once, with no API call. Where it does not (a push changes files
and commits; a submitted review's comments), the pull request gets a realtime `pr-details` job (coalesce).

Nothing older overwrites anything newer: a pull request or comment is updated only by a payload whose
`updated_at` is at least the stored one; a deleted comment stays deleted whatever edit arrives after; a
dismissed review stays dismissed; a workflow run follows its attempts and statuses in order. So a replayed,
duplicated or reordered delivery changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ghcapture.capture import mapping
from ghcapture.jobs.webhooks import payloads as shapes
from ghcapture.jobs.webhooks.coalesce import PullRequestJobs
from ghcapture.jobs.webhooks.deliveries import (
    APPLIED,
    IGNORED,
    JOB,
    STALE,
    Delivery,
    forget,
    newest_version,
    record_applied,
    settle,
)
from ghcapture.store.moves import move_repository
from ghcapture.store.tables import (
    comments,
    pull_requests,
    repositories,
    reviews,
    tracked_repositories,
    utc_now,
)
from ghcapture.store.upsert import upsert_contributors, upsert_rows

DUPLICATE = "duplicate"
DEFAULT_TRACK_EVERY_SECONDS = 6 * 3600
# A workflow run's statuses in the order GitHub moves through them.
RUN_STATUS_ORDER = {"requested": 0, "pending": 0, "waiting": 0, "queued": 0, "in_progress": 1, "completed": 2}


@dataclass
class Applied:
    """What one delivery did."""

    outcome: str
    detail: str
    job_id: str | None = None
    needs_job: list[int] = field(default_factory=list)
    repository: str | None = None
    object_key: str | None = None
    version: str | None = None


def run_version(run_attempt: int, status: str) -> str:
    """A sortable version of a workflow run's state: its attempt, then how far the attempt has got."""
    return f"{run_attempt:06d}.{RUN_STATUS_ORDER.get(status, 1)}"


class Applier:
    """Applies deliveries to the store, each once."""

    def __init__(
        self,
        engine: Engine,
        *,
        pull_request_jobs: PullRequestJobs | None = None,
        track_every_seconds: int = DEFAULT_TRACK_EVERY_SECONDS,
    ) -> None:
        self.engine = engine
        self.pull_request_jobs = pull_request_jobs
        self.track_every_seconds = track_every_seconds
        self._handlers: dict[str, Callable[[Connection, Any, dict[str, Any]], Applied]] = {
            "pull_request": self._pull_request,
            "pull_request_review": self._review,
            "pull_request_review_comment": self._review_comment,
            "pull_request_review_thread": self._review_thread,
            "issue_comment": self._issue_comment,
            "repository": self._repository_event,
            "installation": self._installation,
            "installation_repositories": self._installation_repositories,
        }

    def handles(self, event: str) -> bool:
        return event in self._handlers

    def apply(self, delivery: Delivery, event: Any, payload: dict[str, Any]) -> Applied:
        """Records the delivery and applies it in one transaction; a delivery id seen before does nothing.
        A pull request whose details the payload lacks then gets its realtime job."""
        [result] = self.apply_many([(delivery, event, payload)])
        if isinstance(result, BaseException):
            raise result
        return result

    def apply_many(self, items: Sequence[tuple[Delivery, Any, dict[str, Any]]]) -> list[Applied | Exception]:
        """Applies deliveries in one transaction (one commit for many: the receiver's throughput), each in a
        savepoint of its own, so that one that fails is taken back alone and answered with its error."""
        results: list[Applied | Exception] = []
        with self.engine.begin() as conn:
            for delivery, event, payload in items:
                try:
                    with conn.begin_nested():
                        results.append(self._apply_in(conn, delivery, event, payload))
                except IntegrityError:  # its id was recorded before: its work is rolled back
                    results.append(Applied(DUPLICATE, f"delivery {delivery.delivery_id} was received before"))
                except Exception as exc:  # answered to this delivery alone
                    results.append(exc)
        for (delivery, _event, _payload), result in zip(items, results, strict=True):
            if isinstance(result, Applied):
                try:
                    self._request_jobs(delivery, result)
                except Exception as exc:  # taken back; GitHub may send it again
                    results[results.index(result)] = exc
        return results

    def _apply_in(self, conn: Connection, delivery: Delivery, event: Any, payload: dict[str, Any]) -> Applied:
        # The delivery's row is written last: a repeat fails there and its work is rolled back.
        applied = self._handlers[delivery.event](conn, event, payload)
        record_applied(
            conn,
            delivery,
            applied.outcome,
            applied.detail,
            object_key=applied.object_key,
            version=applied.version,
        )
        return applied

    def _request_jobs(self, delivery: Delivery, applied: Applied) -> None:
        if not (applied.needs_job and applied.repository and self.pull_request_jobs is not None):
            return
        try:
            for number in applied.needs_job:
                applied.job_id = self.pull_request_jobs.request(applied.repository, number)
        except Exception:
            # Taken back, so that a redelivery does the work the job would have done.
            forget(self.engine, delivery.delivery_id)
            raise
        with self.engine.begin() as conn:
            settle(
                conn,
                delivery.delivery_id,
                JOB if applied.outcome != STALE else STALE,
                applied.detail,
                job_id=applied.job_id,
                object_key=applied.object_key,
                version=applied.version,
            )

    # -- the repository and the pull request a delivery is about ---------------------------------------------

    def _stored_repository(self, conn: Connection, repo: dict[str, Any]) -> tuple[int, str]:
        """The repository's id and its name as stored, inserting it the first time it is seen. A known
        repository's name changes only by a `repository` delivery: an older payload must not undo it."""
        found = conn.execute(
            select(repositories.c.full_name).where(repositories.c.github_id == repo["id"])
        ).first()
        if found is not None:
            return int(repo["id"]), str(found.full_name)
        upsert_rows(conn, repositories, [mapping.rest_repository_row(repo)], key=["github_id"])
        return int(repo["id"]), str(repo["full_name"])

    @staticmethod
    def _stored_pull_request(conn: Connection, github_id: int) -> int | None:
        row = conn.execute(
            select(pull_requests.c.github_id).where(pull_requests.c.github_id == github_id)
        ).first()
        return None if row is None else int(row.github_id)

    def _pull_request_of(
        self, conn: Connection, event: Any, raw: dict[str, Any]
    ) -> tuple[str, int, int | None]:
        """The repository's stored name, and the number and stored id (None: not stored) of the pull request
        a review, review comment or thread delivery is about."""
        _repository_id, name = self._stored_repository(conn, raw["repository"])
        return name, event.pull_request.number, self._stored_pull_request(conn, event.pull_request.id)

    @staticmethod
    def _pull_request_by_number(conn: Connection, repository_id: int, number: int) -> int | None:
        row = conn.execute(
            select(pull_requests.c.github_id).where(
                pull_requests.c.repository_id == repository_id, pull_requests.c.number == number
            )
        ).first()
        return None if row is None else int(row.github_id)

    @staticmethod
    def _follow_pull_request(conn: Connection, pr_id: int, values: dict[str, Any]) -> None:
        """A review's or comment's payload shows its pull request's own fields as of then (a new comment
        moves the pull request's `updated_at`, and no `pull_request` delivery says so): stored when newer."""
        values = {k: v for k, v in values.items() if k in pull_requests.c}
        if values.get("updated_at") is None:
            return
        conn.execute(
            update(pull_requests)
            .where(
                pull_requests.c.github_id == pr_id,
                or_(pull_requests.c.updated_at.is_(None), pull_requests.c.updated_at < values["updated_at"]),
            )
            .values(**values)
        )

    @staticmethod
    def _simple_fields(pr: dict[str, Any]) -> dict[str, Any]:
        """The fields of a `simple-pull-request` (no counts, no `merged`) as pull_requests columns."""
        merged_at = mapping.when(pr.get("merged_at"))
        return {
            "title": pr.get("title"),
            "body": pr.get("body"),
            "state": pr.get("state"),
            "draft": bool(pr.get("draft")),
            "updated_at": mapping.when(pr.get("updated_at")),
            "closed_at": mapping.when(pr.get("closed_at")),
            "merged_at": merged_at,
            "merged": merged_at is not None,
        }

    @staticmethod
    def _write(conn: Connection, rows: mapping.Rows) -> None:
        if rows.contributors:
            upsert_contributors(conn, list(rows.contributors.values()))

    # -- pull requests ---------------------------------------------------------------------------------------

    def _pull_request(self, conn: Connection, event: shapes.PullRequestEvent, raw: dict[str, Any]) -> Applied:
        repository_id, name = self._stored_repository(conn, raw["repository"])
        pr = raw["pull_request"]
        known = self._stored_pull_request(conn, event.pull_request.id) is not None
        rows = mapping.Rows()
        mapping.add_rest_pull_request(rows, repository_id, pr)
        self._write(conn, rows)
        upsert_rows(
            conn, pull_requests, rows.pull_requests, key=["github_id"], where=_not_older(pull_requests)
        )
        number = event.pull_request.number
        stale = not _holds(conn, pull_requests, event.pull_request.id, rows.pull_requests[0]["updated_at"])
        if stale:
            return Applied(STALE, f"{name}#{number}: a newer state is stored", repository=name)
        wants_job = event.action in ("opened", "synchronize") or not known
        detail = f"{name}#{number} {event.action}"
        return Applied(APPLIED, detail, needs_job=[number] if wants_job else [], repository=name)

    def _review(self, conn: Connection, event: shapes.PullRequestReviewEvent, raw: dict[str, Any]) -> Applied:
        name, number, pr_id = self._pull_request_of(conn, event, raw)
        if pr_id is None:
            return _not_stored(name, number)
        rows = mapping.Rows()
        mapping.add_rest_review(rows, pr_id, raw["review"])
        self._write(conn, rows)
        self._follow_pull_request(conn, pr_id, self._simple_fields(raw["pull_request"]))
        # A dismissal is final: no earlier submission or edit, however late it arrives, undoes it.
        upsert_rows(
            conn,
            reviews,
            rows.reviews,
            key=["github_id"],
            where=lambda new: or_(
                reviews.c.state.is_(None), reviews.c.state != "DISMISSED", new.state == "DISMISSED"
            ),
        )
        detail = f"{name}#{number} review {event.review.id} {event.action}"
        # A submitted review's comments are not in its payload: the pull request's details fetch them.
        return Applied(
            APPLIED, detail, needs_job=[number] if event.action == "submitted" else [], repository=name
        )

    def _upsert_comment(self, conn: Connection, row: dict[str, Any], *, deleted: bool) -> bool:
        """A comment as the payload shows it; True when it is stored as given (not older than what is)."""
        if deleted:
            row = {**row, "deleted_at": utc_now()}
            upsert_rows(
                conn, comments, [row], key=["github_id"], where=lambda _new: comments.c.deleted_at.is_(None)
            )
            return True
        upsert_rows(
            conn,
            comments,
            [row],
            key=["github_id"],
            where=lambda new: (comments.c.deleted_at.is_(None)) & _newer_or_same(comments, new),
        )
        stored = conn.execute(
            select(comments.c.deleted_at, comments.c.updated_at).where(
                comments.c.github_id == row["github_id"]
            )
        ).first()
        return stored is not None and stored.deleted_at is None and stored.updated_at == row["updated_at"]

    def _review_comment(
        self, conn: Connection, event: shapes.PullRequestReviewCommentEvent, raw: dict[str, Any]
    ) -> Applied:
        name, number, pr_id = self._pull_request_of(conn, event, raw)
        if pr_id is None:
            return _not_stored(name, number)
        rows = mapping.Rows()
        mapping.add_review_comment(rows, pr_id, raw["comment"])
        self._write(conn, rows)
        self._follow_pull_request(conn, pr_id, self._simple_fields(raw["pull_request"]))
        fresh = self._upsert_comment(conn, rows.comments[0], deleted=event.action == "deleted")
        detail = f"{name}#{number} review comment {event.comment.id} {event.action}"
        return Applied(APPLIED if fresh else STALE, detail, repository=name)

    def _review_thread(
        self, conn: Connection, event: shapes.PullRequestReviewThreadEvent, raw: dict[str, Any]
    ) -> Applied:
        name, number, pr_id = self._pull_request_of(conn, event, raw)
        if pr_id is None:
            return _not_stored(name, number)
        rows = mapping.Rows()
        for comment in raw["thread"]["comments"]:
            mapping.add_review_comment(rows, pr_id, comment)
        self._write(conn, rows)
        for row in rows.comments:
            self._upsert_comment(conn, row, deleted=False)
        detail = f"{name}#{number} thread {event.thread.node_id} {event.action}"
        return Applied(APPLIED, detail, repository=name)

    def _issue_comment(
        self, conn: Connection, event: shapes.IssueCommentEvent, raw: dict[str, Any]
    ) -> Applied:
        if event.issue.pull_request is None:
            return Applied(IGNORED, "a comment on an issue, not on a pull request")
        repository_id, name = self._stored_repository(conn, raw["repository"])
        number = event.issue.number
        pr_id = self._pull_request_by_number(conn, repository_id, number)
        if pr_id is None:
            return _not_stored(name, number)
        rows = mapping.Rows()
        mapping.add_rest_issue_comment(rows, pr_id, raw["comment"])
        self._write(conn, rows)
        self._follow_pull_request(conn, pr_id, {"updated_at": mapping.when(raw["issue"].get("updated_at"))})
        fresh = self._upsert_comment(conn, rows.comments[0], deleted=event.action == "deleted")
        detail = f"{name}#{number} comment {event.comment.id} {event.action}"
        return Applied(APPLIED if fresh else STALE, detail, repository=name)

    # -- repositories and installations ----------------------------------------------------------------------

    def _repository_event(
        self, conn: Connection, event: shapes.RepositoryEvent, raw: dict[str, Any]
    ) -> Applied:
        repo = event.repository
        key = f"repository:{repo.id}"
        version = str(raw["repository"].get("updated_at") or "")
        newest = newest_version(conn, key)
        if newest is not None and version < newest:
            return Applied(
                STALE, f"{repo.full_name}: a newer repository delivery was applied", object_key=key
            )
        stored = conn.execute(
            select(repositories.c.full_name).where(repositories.c.github_id == repo.id)
        ).first()
        old: str | None = stored.full_name if stored is not None else None
        if event.action in ("renamed", "transferred"):
            if old is not None:
                conn.execute(
                    update(repositories)
                    .where(repositories.c.github_id == repo.id)
                    .values(owner=repo.owner.login, name=repo.name, full_name=repo.full_name)
                )
                move_repository(conn, old, repo.full_name)
            detail = f"{old or repo.full_name} is now {repo.full_name}"
            return Applied(APPLIED, detail, repository=repo.full_name, object_key=key, version=version)
        if event.action == "deleted":
            self._untrack(conn, old or repo.full_name)
            detail = f"{repo.full_name} was deleted on GitHub: no longer tracked (its data stays)"
            return Applied(APPLIED, detail, repository=repo.full_name, object_key=key, version=version)
        return Applied(IGNORED, f"repository {event.action}: nothing to store", repository=repo.full_name)

    def _track(self, conn: Connection, repository: str) -> None:
        exists = conn.execute(
            select(tracked_repositories.c.repository).where(
                func.lower(tracked_repositories.c.repository) == repository.lower()
            )
        ).first()
        if exists is None:
            upsert_rows(
                conn,
                tracked_repositories,
                [
                    {
                        "repository": repository,
                        "kind": "prs",
                        "every_seconds": self.track_every_seconds,
                        "backfill_days": None,
                        "backfill_done": True,
                        "priority": 1,
                        "created_at": utc_now(),
                    }
                ],
                key=["repository"],
            )

    @staticmethod
    def _untrack(conn: Connection, repository: str) -> None:
        conn.execute(
            delete(tracked_repositories).where(
                func.lower(tracked_repositories.c.repository) == repository.lower()
            )
        )

    def _installation(
        self, conn: Connection, event: shapes.InstallationEvent, raw: dict[str, Any]
    ) -> Applied:
        names = [r.full_name for r in event.repositories or []]
        if event.action == "created":
            for name in names:
                self._track(conn, name)
            return Applied(
                APPLIED, f"installation {event.installation.id}: tracking {', '.join(names) or '-'}"
            )
        if event.action == "deleted":
            for name in names:
                self._untrack(conn, name)
            return Applied(APPLIED, f"installation {event.installation.id} removed: untracked {len(names)}")
        return Applied(IGNORED, f"installation {event.action}: nothing to store")

    def _installation_repositories(
        self, conn: Connection, event: shapes.InstallationRepositoriesEvent, raw: dict[str, Any]
    ) -> Applied:
        added = [r.full_name for r in event.repositories_added]
        removed = [r.full_name for r in event.repositories_removed]
        for name in added:
            self._track(conn, name)
        for name in removed:
            self._untrack(conn, name)
        return Applied(
            APPLIED,
            f"installation {event.installation.id}: tracking +{len(added)} -{len(removed)} repositories",
        )


def _not_stored(name: str, number: int) -> Applied:
    """A delivery about a pull request the store does not hold yet: a job captures it whole."""
    return Applied(JOB, f"{name}#{number} is not stored yet", needs_job=[number], repository=name)


def _newer_or_same(table: Any, new: Any) -> Any:
    return or_(table.c.updated_at.is_(None), new.updated_at >= table.c.updated_at)


def _not_older(table: Any) -> Callable[[Any], Any]:
    return lambda new: _newer_or_same(table, new)


def _holds(conn: Connection, table: Any, github_id: int, updated_at: Any) -> bool:
    """True when the stored row has exactly this `updated_at`: the upsert was not refused as older."""
    stored = conn.execute(select(table.c.updated_at).where(table.c.github_id == github_id)).first()
    return stored is not None and stored.updated_at == updated_at
