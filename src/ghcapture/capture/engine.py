"""The capture: pull requests with their reviews, comments, files and people, complete, cheap and resumable.

GraphQL pages of pull requests carry first pages of reviews, issue comments and files (one request per
parent and connection, whatever `first`); only connections that overflow get follow-ups. Review comments,
a second-level list in GraphQL, come from REST's repository-wide listing (100 a request, the other budget).
Each page's rows and its checkpoint commit in one transaction, so a killed capture resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import OperationalError

from ghcapture.capture import mapping
from ghcapture.capture.budgets import sampling_budgets
from ghcapture.capture.progress import NoProgress, Progress
from ghcapture.capture.queries import (
    by_number_query,
    capture_document,
    follow_up_query,
    review_threads_query,
)
from ghcapture.capture.scope import CaptureScope
from ghcapture.capture.sweep import ListingSweep
from ghcapture.errors import GhcaptureError
from ghcapture.github.cost import QueryLimitError, known_schema, query_cost
from ghcapture.github.errors import Unprocessable
from ghcapture.github.graphql import AdaptivePageSize, execute_paged
from ghcapture.github.http import GitHubClient
from ghcapture.store.checkpoints import clear_checkpoint, load_checkpoint, save_checkpoint
from ghcapture.store.history import (
    deleted_authors,
    mark_comments_deleted_by_id,
    mark_deleted_comments,
    replace_lists,
)
from ghcapture.store.locks import capture_lock, default_wait
from ghcapture.store.moves import move_repository
from ghcapture.store.tables import comments, pr_commits, pr_files, pull_requests, repositories, reviews
from ghcapture.store.upsert import upsert_contributors, upsert_rows

log = logging.getLogger("ghcapture.capture")

# kind -> (reviews, issue comments, files, review comments, commits)
SELECTIONS = {
    "prs": (True, True, True, True, True),
    "pr-details": (True, True, True, True, True),
    "reviews": (True, False, False, False, False),
    "comments": (True, True, False, True, False),
    "files": (False, False, True, False, True),
}
FOLLOW_UP_BATCH = 40
SEARCH_RESULT_CAP = 1000  # GitHub serves at most 1,000 results of a search
BY_NUMBER_BATCH = 50
WATERMARK_MARGIN = timedelta(minutes=2)  # clocks differ; re-reading two minutes costs little


class StoreWriteError(GhcaptureError):
    """The database refused a write (full disk, read-only file, lost connection)."""


@dataclass
class CaptureResult:
    repository: str
    kind: str
    scope: str
    mode: str = ""
    pull_requests: int = 0
    reviews: int = 0
    issue_comments: int = 0
    review_comments: int = 0
    files: int = 0
    commits: int = 0
    deleted_comments: int = 0
    contributors: int = 0
    github_pr_total: int | None = None
    points_used: int = 0
    rest_requests: int = 0
    graphql_requests: int = 0
    seconds: float = 0.0
    resumed: bool = False

    @property
    def requests_made(self) -> int:
        return self.rest_requests + self.graphql_requests

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "requests_made": self.requests_made,
            "budget_units": self.points_used + self.rest_requests,
        }


@dataclass
class _State:
    """What a run keeps in its checkpoint's cursor while it is under way."""

    mode: str  # full | updated | numbers
    started: str
    after: str | None = None
    since: str | None = None
    done: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Capture:
    def __init__(
        self,
        client: GitHubClient,
        engine: Engine,
        owner: str,
        name: str,
        *,
        kind: str = "prs",
        scope: CaptureScope | None = None,
        progress: Progress | None = None,
        pager: AdaptivePageSize | None = None,
        now: datetime | None = None,
    ) -> None:
        if kind not in SELECTIONS:
            raise ValueError(f"unknown capture kind {kind!r}")
        self.client = client
        self.engine = engine
        self.owner, self.name = owner, name
        self.kind = kind
        self.scope = scope or CaptureScope()
        self.progress = progress or NoProgress()
        self.pager = pager or AdaptivePageSize(initial=100, maximum=100)
        self.now = now
        (
            self.with_reviews,
            self.with_comments,
            self.with_files,
            self.with_review_comments,
            self.with_commits,
        ) = SELECTIONS[kind]
        self.result = CaptureResult(repository=f"{owner}/{name}", kind=kind, scope=self.scope.key())
        self.repository_id = 0
        self.full_name = f"{owner}/{name}"
        self._document = capture_document()
        self._fixed_pager = AdaptivePageSize(initial=100, maximum=100)
        # Everyone this run stored, by GitHub id ("ghost" for the deleted user): a person on many pages
        # is one contributor, not one per page.
        self._people: set[Any] = set()
        # Accounts whose reviews or comments this run found turned to the ghost's: deleted on GitHub.
        self._deleted_people: set[int] = set()
        self._straddle_before: datetime | None = None
        self._recent_pull_requests: dict[str, Any] | None = None
        self._rotation_pull_requests: dict[str, Any] | None = None
        self._per_pr_review_comments = False

    # -- entry -----------------------------------------------------------------------------------
    async def run(self) -> CaptureResult:
        # One capture of a repository and scope at a time: a second one waits for the first, then
        # resumes from what it stored instead of spending the budget on the same pages again.
        try:
            async with capture_lock(self.engine, self.full_name, self.scope.key(), wait=default_wait()):
                return await self._run()
        except OperationalError as exc:
            # A full disk, a read-only file, a lost server: one line, since every page committed before
            # it is kept with its checkpoint and a re-run resumes from there.
            reason = (str(exc.orig or exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreWriteError(
                f"{self.full_name}: cannot write to the database ({reason}); what was stored is kept, "
                "and running the capture again resumes from it"
            ) from None

    async def _run(self) -> CaptureResult:
        started = time.monotonic()
        try:
            self._recall_page_size()
            per_pr_review_comments = await self._pull_requests()
            whole = self.scope.is_everything and self.scope.max_items is None
            if whole and self.with_comments:
                await self._sweep_comments("issue_comment")
            if whole and self.with_reviews:
                await self._check_dismissals()
            if whole:
                await self._follow_deleted_accounts()
            if self.with_review_comments and not per_pr_review_comments:
                if not (whole and await self._sweep_review_comments()):
                    await self._review_comments()
            self._finish()
        except BaseException as exc:
            self.progress.fail(str(exc))
            raise
        finally:
            self._count_spend()
            self.result.seconds = round(time.monotonic() - started, 3)
        self.progress.finish(self.result)
        return self.result

    def _count_spend(self) -> None:
        stats = self.client.stats
        self.result.points_used = stats.graphql_points
        self.result.rest_requests = stats.rest_requests
        self.result.graphql_requests = stats.graphql_requests

    def _clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def _variables(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "name": self.name,
            "withReviews": self.with_reviews,
            "withComments": self.with_comments,
            "withFiles": self.with_files,
            "withCommits": self.with_commits,
        }

    def _report(self) -> None:
        self._count_spend()
        self.progress.advance(
            self.result.pull_requests,
            points=self.result.points_used,
            requests=self.result.requests_made,
            budget=self.client.monitor.snapshot(),
        )

    async def _priced(
        self,
        query: str,
        variables: dict[str, Any],
        operation: str | None,
        *,
        tolerate: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """One GraphQL call, with its price predicted for the rate-limit monitor."""
        return await self.client.graphql(
            query,
            variables,
            operation_name=operation,
            tolerate=tolerate,
            estimated_cost=estimate_points(query, variables, operation),
        )

    async def _query(
        self,
        query: str,
        variables: dict[str, Any],
        operation: str | None,
        *,
        tolerate: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """A query whose size is fixed: a timeout-shaped failure is retried as it is."""

        async def run(_size: int) -> dict[str, Any]:
            return await self._priced(query, variables, operation, tolerate=tolerate)

        return await execute_paged(self.client, f"{self.full_name}:fixed", run, pager=self._fixed_pager)

    async def _repository_facts(self) -> None:
        data = await self._query(self._document, {"owner": self.owner, "name": self.name}, "RepositoryFacts")
        repo = data["repository"]
        self._take_repository(repo, repo["pullRequests"]["totalCount"])

    def _take_repository(self, repo: dict[str, Any], total: int) -> None:
        """Stores the repository's facts; a repository renamed or transferred since it was last captured
        is known by its id, and its checkpoints and tracked schedule move to its new name with it."""
        row = mapping.repository_row(repo, total)
        self.repository_id = row["github_id"]
        asked, self.full_name = self.full_name, row["full_name"]
        self.result.repository = self.full_name
        self.result.github_pr_total = total
        with self.engine.begin() as conn:
            held = conn.execute(
                select(repositories.c.full_name).where(repositories.c.github_id == self.repository_id)
            ).scalar_one_or_none()
            for old in {asked, held} - {None, self.full_name}:
                assert old is not None
                log.info("%s is now %s: its checkpoints and schedule follow it", old, self.full_name)
                move_repository(conn, old, self.full_name)
            upsert_rows(conn, repositories, [row], key=["github_id"])

    # -- pull requests ---------------------------------------------------------------------------
    async def _pull_requests(self) -> bool:
        """The pull-request pass; returns True when review comments were taken per PR along the way."""
        key = self.scope.key()
        with self.engine.connect() as conn:
            checkpoint = load_checkpoint(conn, self.full_name, "pull_requests", key)
            rc_checkpoint = load_checkpoint(conn, self.full_name, "review_comments", "all")
        state: _State | None = None
        if checkpoint is not None and checkpoint.cursor:
            state = _State(**json.loads(checkpoint.cursor))
            self.result.resumed = True
        now = self._clock()
        if state is None:
            if self.scope.pr_numbers or self.scope.number_range:
                state = _State(mode="numbers", started=now.isoformat())
            else:
                since = self.scope.window_start(now)
                if self.scope.is_everything and checkpoint is not None and checkpoint.watermark is not None:
                    since = checkpoint.watermark
                state = _State(
                    mode=("window" if self.scope.until else "updated") if since else "full",
                    started=now.isoformat(),
                    since=since.isoformat() if since else None,
                )
        self.result.mode = state.mode
        self.result.pull_requests = state.done
        if state.mode != "updated" or state.after is not None:
            await self._repository_facts()
        # else the first page of changed pull requests brings the repository's facts: an idle refresh
        # is that one query
        self.progress.start(self.full_name, self._total_in_scope(state))
        self._started_at = datetime.fromisoformat(state.started)
        # Repo-wide review comments are complete only when everything before the window is already held.
        rc_watermark = rc_checkpoint.watermark if rc_checkpoint else None
        since_dt = datetime.fromisoformat(state.since) if state.since else None
        self._window_since = since_dt
        self._per_pr_review_comments = self.with_review_comments and (
            state.mode == "numbers"
            or self.scope.max_items is not None
            or since_dt is None
            and not self.scope.is_everything
        )
        # A window's review comments come from the repository-wide listing since its start, except the
        # older comments of PRs opened before it: those PRs are asked one by one, unless they are held.
        covered = rc_watermark is not None and since_dt is not None and rc_watermark <= since_dt
        self._straddle_before = (
            since_dt
            if self.with_review_comments
            and not self._per_pr_review_comments
            and not covered
            and not self.scope.is_everything
            else None
        )
        if state.mode == "numbers":
            await self._by_numbers(state, key)
        else:
            await self._paged(state, key)
        waiting = state.extra.get("review_comments") or {}
        await self._scoped_review_comments(
            {int(pr_id): (n, node, t) for pr_id, (n, node, t) in waiting.items()}
        )
        return self._per_pr_review_comments

    def _dismissal_rotation(self) -> str | None:
        """Where this refresh's 100 pull requests of the dismissal rotation start (None: the first)."""
        with self.engine.connect() as conn:
            saved = load_checkpoint(conn, self.full_name, "dismissal_rotation", "all")
        return saved.cursor if saved is not None and saved.cursor else None

    def _one_point_page(self, order: tuple[str, str], recent: bool) -> int:
        """The most pull requests a page can hold for GitHub's minimum price of one point."""

        def price(size: int) -> int:
            variables = {
                **self._variables(),
                "first": size,
                "after": None,
                "orderField": order[0],
                "direction": order[1],
                "withRecent": recent,
            }
            return estimate_points(self._document, variables, "PullRequestsPage")

        low, high = 1, 100
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if price(middle) <= 1 else (low, middle - 1)
        return low

    def _total_in_scope(self, state: _State) -> int | None:
        """Where the progress bar ends: the pull requests this run can take, capped by --max-items;
        None where GitHub gives no count (PRs changed since a time)."""
        total = len(self._numbers()) if state.mode == "numbers" else None
        if state.mode == "full":
            total = self.result.github_pr_total
        limit = self.scope.max_items
        if limit is not None:
            total = limit if total is None else min(total, limit)
        return total

    def _numbers(self) -> list[int]:
        numbers = list(self.scope.pr_numbers)
        if not numbers and self.scope.number_range is not None:
            numbers = list(range(self.scope.number_range[0], self.scope.number_range[1] + 1))
        if self.scope.max_items is not None:
            numbers = numbers[: self.scope.max_items]
        return numbers

    async def _paged(self, state: _State, key: str) -> None:
        since = datetime.fromisoformat(state.since) if state.since else None
        if state.mode == "window":
            if await self._windowed(state, key):
                return
            state.mode, state.after = "updated", None  # too many matches for one search: scan instead
            self.result.mode = state.mode
        order = ("UPDATED_AT", "DESC") if state.mode == "updated" else ("CREATED_AT", "ASC")
        incremental = state.mode == "updated" and state.after is None
        # An incremental whole-repository run also asks, in its first query, for recent PRs' dismissals.
        ask_open = (
            incremental and self.with_reviews and self.scope.is_everything and self.scope.max_items is None
        )
        # An incremental scan usually stops within its first few PRs: its first page is the largest that
        # costs one point, and pages widen while all are new.
        probe = self._one_point_page(order, ask_open) if incremental else None
        rotation = self._dismissal_rotation() if ask_open else None
        while True:

            async def fetch(size: int, ask: bool = ask_open) -> dict[str, Any]:
                variables = {
                    **self._variables(),
                    "first": size,
                    "after": state.after,
                    "orderField": order[0],
                    "direction": order[1],
                    "withRecent": ask,
                    "rotation": rotation,
                }
                return await self._priced(self._document, variables, "PullRequestsPage")

            data = await execute_paged(self.client, self.full_name, fetch, pager=self.pager, cap=probe)
            connection = data["repository"]["pullRequests"]
            if not self.repository_id:
                self._take_repository(data["repository"], connection["totalCount"])
            if ask_open:
                self._recent_pull_requests = data["repository"].get("recentPullRequests")
                self._rotation_pull_requests = data["repository"].get("rotationPullRequests")
                ask_open = False
            nodes = connection["nodes"]
            reached_end = not connection["pageInfo"]["hasNextPage"]
            if since is not None:
                kept = [n for n in nodes if mapping.when(n["updatedAt"]) >= since]  # type: ignore[operator]
                reached_end = reached_end or len(kept) < len(nodes)
                nodes = kept
            if self.scope.until is not None:
                nodes = [n for n in nodes if mapping.when(n["updatedAt"]) < self.scope.until]  # type: ignore[operator]
            if probe is not None:
                probe = probe * 3 if probe < 100 else None
            if await self._take_page(nodes, connection["pageInfo"], state, key, reached_end=reached_end):
                return

    async def _take_page(
        self,
        nodes: list[dict[str, Any]],
        page_info: dict[str, Any],
        state: _State,
        key: str,
        *,
        reached_end: bool,
    ) -> bool:
        """Stores a page of PRs (cut at --max-items) with its cursor; True when the pass is over."""
        limit = self.scope.max_items
        if limit is not None and state.done + len(nodes) >= limit:
            nodes = nodes[: max(0, limit - state.done)]
            reached_end = True
        state.after = page_info["endCursor"] or state.after
        state.done += len(nodes)
        await self._store_pull_requests(nodes, state, key, finished=reached_end)
        return reached_end

    async def _windowed(self, state: _State, key: str) -> bool:
        """PRs updated in [since, until) through search; False (nothing stored) when GitHub would cut
        the results at its 1,000-result limit."""
        assert state.since is not None and self.scope.until is not None
        since, until = datetime.fromisoformat(state.since), self.scope.until
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        query = (
            f"repo:{self.full_name} is:pr updated:{since.astimezone(UTC).strftime(stamp)}.."
            f"{until.astimezone(UTC).strftime(stamp)} sort:updated-asc"
        )
        while True:

            async def fetch(size: int) -> dict[str, Any]:
                variables = {**self._variables(), "query": query, "first": size, "after": state.after}
                return await self._priced(self._document, variables, "PullRequestsSearch")

            data = await execute_paged(self.client, self.full_name, fetch, pager=self.pager)
            found = data["search"]
            if found["issueCount"] > SEARCH_RESULT_CAP and state.after is None:
                log.info(
                    "%s: %d PRs in the window, over search's %d: scanning by update time instead",
                    self.full_name,
                    found["issueCount"],
                    SEARCH_RESULT_CAP,
                )
                return False
            nodes = [n for n in found["nodes"] if n and since <= mapping.when(n["updatedAt"]) < until]  # type: ignore[operator]
            reached_end = not found["pageInfo"]["hasNextPage"]
            if await self._take_page(nodes, found["pageInfo"], state, key, reached_end=reached_end):
                return True

    async def _by_numbers(self, state: _State, key: str) -> None:
        numbers = self._numbers()
        position = int(state.after or 0)
        while position < len(numbers):
            batch = numbers[position : position + BY_NUMBER_BATCH]
            query = by_number_query(batch)
            data = await self._query(query, self._variables(), None, tolerate=frozenset({"NOT_FOUND"}))
            repo = data.get("repository") or {}
            nodes = [repo[f"p{n}"] for n in batch if repo.get(f"p{n}")]
            position += len(batch)
            state.after = str(position)
            state.done += len(nodes)
            await self._store_pull_requests(nodes, state, key, finished=position >= len(numbers))

    async def _store_pull_requests(
        self, nodes: list[dict[str, Any]], state: _State, key: str, *, finished: bool
    ) -> None:
        rows = mapping.Rows()
        pending: list[tuple[str, str, str, int]] = []
        renamed: dict[int, int] = {}  # pr id -> number
        with_reviews: list[tuple[int, int, str, int]] = []  # pr id, number, node id, threads
        for pr in nodes:
            pr_id = mapping.add_pull_request(rows, self.repository_id, pr)
            for conn in CONNECTIONS:
                page = pr.get(conn)
                if page is None:
                    continue
                _add_connection(rows, conn, pr_id, page["nodes"])
                if page["pageInfo"]["hasNextPage"]:
                    pending.append((pr["id"], conn, page["pageInfo"]["endCursor"], pr_id))
                if conn == "files" and any(f["changeType"] == "RENAMED" for f in page["nodes"]):
                    renamed[pr_id] = pr["number"]
                if conn == "reviews" and page["totalCount"]:
                    opened_before = self._straddle_before is not None and (
                        mapping.when(pr["createdAt"]) < self._straddle_before  # type: ignore[operator]
                    )
                    if self._per_pr_review_comments or opened_before:
                        threads = (pr.get("reviewThreads") or {}).get("totalCount")
                        if threads == 0:  # review comments hang off threads: none, and none held is live
                            rows.whole_comments.add((pr_id, "review_comment"))
                        else:
                            with_reviews.append((pr_id, pr["number"], pr["id"], threads or 100))
        numbers = {pr_id: n for pr_id, n in ((int(p["fullDatabaseId"]), p["number"]) for p in nodes)}
        renamed.update(await self._follow_up(pending, rows, numbers))
        if renamed:
            await self._rest_files(renamed, rows)
        # Their review comments are taken once the pass is over, the cheaper way for all of them together.
        waiting = state.extra.setdefault("review_comments", {})
        waiting.update({str(pr_id): [n, node_id, threads] for pr_id, n, node_id, threads in with_reviews})
        _mark_whole_lists(rows, nodes, files=self.with_files, commits=self.with_commits)
        # A whole-repository pass that has ended is complete as of its start: recording that now, and not
        # only when the run ends, lets a crash in the review-comment pass that follows resume there
        # instead of taking every pull request again.
        done_as_of = (
            self._started_at - WATERMARK_MARGIN
            if finished and self.scope.is_everything and self.scope.max_items is None
            else None
        )
        self._write(
            rows,
            "pull_requests",
            key,
            cursor=None if finished else json.dumps(asdict(state)),
            watermark=done_as_of,
            keep_watermark=done_as_of is None,
        )
        self.result.pull_requests = state.done
        self._report()

    async def _follow_up(
        self, pending: list[tuple[str, str, str, int]], rows: mapping.Rows, numbers: dict[int, int]
    ) -> dict[int, int]:
        """Completes overflowing connections, a batch of PRs per query; returns PRs found to hold renames."""
        renamed: dict[int, int] = {}
        while pending:
            batch, pending = pending[:FOLLOW_UP_BATCH], pending[FOLLOW_UP_BATCH:]

            async def fetch(size: int, batch: list[tuple[str, str, str, int]] = batch) -> dict[str, Any]:
                query, variables = follow_up_query([(n, c, a) for n, c, a, _ in batch], min(100, size * 2))
                return await self._priced(query, variables, None)

            data = await execute_paged(self.client, f"{self.full_name}:follow-up", fetch, pager=self.pager)
            for i, (node_id, conn, _after, pr_id) in enumerate(batch):
                page = data[f"n{i}"][conn]
                _add_connection(rows, conn, pr_id, page["nodes"])
                if conn == "files" and any(f["changeType"] == "RENAMED" for f in page["nodes"]):
                    renamed[pr_id] = numbers[pr_id]
                if page["pageInfo"]["hasNextPage"]:
                    pending.append((node_id, conn, page["pageInfo"]["endCursor"], pr_id))
        return renamed

    async def _rest_files(self, renamed: dict[int, int], rows: mapping.Rows) -> None:
        """GraphQL has no previous path of a renamed file; REST's file list of that PR has."""
        rows.files = [f for f in rows.files if f["pull_request_id"] not in renamed]
        for pr_id, number in renamed.items():
            async for page in self.client.rest_pages(
                f"/repos/{self.full_name}/pulls/{number}/files", {"per_page": 100}
            ):
                mapping.add_rest_files(rows, pr_id, page.data)

    async def _scoped_review_comments(self, prs: dict[int, tuple[int, str, int]]) -> None:
        """The review comments of the pull requests in a scope (github id -> number, node id, threads):
        through their review threads in GraphQL, one request per PR and one per thread, several PRs to a
        query (a few PRs among many cost what they hold, not the repository's whole listing); a PR with
        more threads or longer threads than one query takes is asked through REST."""
        through_rest: list[tuple[int, int]] = []
        batch: list[tuple[int, int, str, int]] = []
        requests = 0
        for pr_id, (number, node_id, threads) in sorted(prs.items()):
            batch.append((pr_id, number, node_id, threads))
            requests += 1 + min(100, threads)
            if requests >= 100 or len(batch) >= FOLLOW_UP_BATCH:
                through_rest += await self._thread_comments(batch)
                batch, requests = [], 0
        if batch:
            through_rest += await self._thread_comments(batch)
        await self._per_pr_comments(through_rest)

    async def _thread_comments(self, batch: list[tuple[int, int, str, int]]) -> list[tuple[int, int]]:
        """One query of review threads; returns the PRs whose threads did not all fit."""
        query, variables = review_threads_query([(node_id, threads) for _, _, node_id, threads in batch])
        data = await self._query(query, variables, "ReviewThreads")
        rows = mapping.Rows()
        overflow: list[tuple[int, int]] = []
        for i, (pr_id, number, _node_id, _threads) in enumerate(batch):
            threads = (data.get(f"n{i}") or {}).get("reviewThreads")
            if threads is None:
                continue
            cut = threads["totalCount"] > len(threads["nodes"]) or any(
                t["comments"]["totalCount"] > len(t["comments"]["nodes"]) for t in threads["nodes"]
            )
            if cut:
                overflow.append((pr_id, number))
                continue
            mapping.add_thread_comments(rows, pr_id, threads["nodes"])
            rows.whole_comments.add((pr_id, "review_comment"))
        self._store_review_comments(rows)
        return overflow

    def _store_review_comments(self, rows: mapping.Rows) -> None:
        with self.engine.begin() as conn:
            self._write_rows(conn, rows, count_review_comments=True)
        self._report()

    async def _per_pr_comments(self, prs: list[tuple[int, int]]) -> None:
        for pr_id, number in prs:
            rows = mapping.Rows()
            async for page in self.client.rest_pages(
                f"/repos/{self.full_name}/pulls/{number}/comments", {"per_page": 100}
            ):
                for c in page.data:
                    mapping.add_review_comment(rows, pr_id, c)
            rows.whole_comments.add((pr_id, "review_comment"))
            self._store_review_comments(rows)

    # -- review comments, repository-wide --------------------------------------------------------
    async def _review_comments(self) -> None:
        key = "all" if self.scope.is_everything else self.scope.key()
        with self.engine.connect() as conn:
            checkpoint = load_checkpoint(conn, self.full_name, "review_comments", key)
        if checkpoint is not None and checkpoint.cursor:
            progress = json.loads(checkpoint.cursor)
        else:
            window = getattr(self, "_window_since", None) or self.scope.window_start(self._clock())
            since = checkpoint.watermark if key == "all" and checkpoint and checkpoint.watermark else window
            progress = {"since": since.isoformat() if since else None, "started": self._clock().isoformat()}
        params: dict[str, Any] = {"sort": "updated", "direction": "asc", "per_page": 100}
        if progress["since"]:
            params["since"] = progress["since"].replace("+00:00", "Z")
        while True:
            resume_from = progress["since"]
            try:
                await self._review_comment_pages(params, progress, key)
                break
            except Unprocessable as exc:
                # GitHub refuses deep page numbers of large listings ("use cursor based pagination"): the
                # listing is sorted by update time, so it starts again from the last update stored.
                if "cursor based pagination" not in str(exc) or progress["since"] == resume_from:
                    raise
                log.info(
                    "%s: review comments past the deepest page, resuming since %s",
                    self.full_name,
                    progress["since"],
                )
                params["since"] = progress["since"].replace("+00:00", "Z")
        finished = datetime.fromisoformat(progress["started"]) - WATERMARK_MARGIN
        with self.engine.begin() as conn:
            if key == "all":
                save_checkpoint(conn, self.full_name, "review_comments", key, cursor=None, watermark=finished)
            else:
                clear_checkpoint(conn, self.full_name, "review_comments", key)

    async def _review_comment_pages(self, params: dict[str, Any], progress: dict[str, Any], key: str) -> None:
        async for page in self.client.rest_pages(f"/repos/{self.full_name}/pulls/comments", params):
            items = page.data
            until = self.scope.until
            # Sorted by update time: past a window's end, only newer PRs' comments remain.
            beyond = until is not None and bool(items) and mapping.when(items[-1]["updated_at"]) >= until  # type: ignore[operator]
            if until is not None:
                items = [c for c in items if mapping.when(c["updated_at"]) < until]  # type: ignore[operator]
            if not items:
                break
            ids = await self._pull_request_ids({_number_of(c) for c in items})
            rows = mapping.Rows()
            for c in items:
                pr_id = ids.get(_number_of(c))
                if pr_id is not None:
                    mapping.add_review_comment(rows, pr_id, c)
            progress["since"] = items[-1]["updated_at"]
            self._write(
                rows, "review_comments", key, cursor=json.dumps(progress), watermark=None, keep_watermark=True
            )
            self.result.review_comments += len(items)
            self._report()
            if beyond:
                break

    def _stored_ids(self, numbers: set[int]) -> dict[int, int]:
        """PR numbers -> github ids of the pull requests already stored."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(pull_requests.c.number, pull_requests.c.github_id).where(
                    pull_requests.c.repository_id == self.repository_id,
                    pull_requests.c.number.in_(numbers),
                )
            ).all()
        return {number: github_id for number, github_id in rows}

    async def _pull_request_ids(self, numbers: set[int], *, again: bool = False) -> dict[int, int]:
        """PR numbers -> github ids, capturing any PR not stored yet (opened after the PR pass), or all of
        them `again`."""
        found = self._stored_ids(numbers)
        missing = sorted(numbers) if again else sorted(numbers - set(found))
        if missing and self.scope.is_everything:
            log.info(
                "%s: %d pull requests appeared or changed during the capture; capturing them",
                self.full_name,
                len(missing),
            )
            extra = Capture(
                self.client,
                self.engine,
                self.owner,
                self.name,
                kind=self.kind,
                scope=CaptureScope(pr_numbers=tuple(missing)),
                pager=self.pager,
            )
            extra.repository_id, extra.full_name = self.repository_id, self.full_name
            extra._per_pr_review_comments = False
            await extra._by_numbers(
                _State(mode="numbers", started=self._clock().isoformat()), extra.scope.key()
            )
            found = self._stored_ids(numbers)
        return found

    # -- writing ---------------------------------------------------------------------------------
    def _write(
        self,
        rows: mapping.Rows,
        entity: str,
        key: str,
        *,
        cursor: str | None,
        watermark: datetime | None,
        keep_watermark: bool,
    ) -> None:
        with self.engine.begin() as conn:
            self._write_rows(conn, rows, count_review_comments=entity == "pull_requests")
            if keep_watermark:
                current = load_checkpoint(conn, self.full_name, entity, key)
                watermark = current.watermark if current else watermark
            save_checkpoint(conn, self.full_name, entity, key, cursor=cursor, watermark=watermark)

    def _write_rows(
        self,
        conn: Connection,
        rows: mapping.Rows,
        *,
        count_review_comments: bool,
        count_issue_comments: bool = True,
    ) -> None:
        self._deleted_people |= deleted_authors(conn, rows.reviews, rows.comments)
        if rows.contributors:
            upsert_contributors(conn, list(rows.contributors.values()))
        if rows.pull_requests:
            upsert_rows(conn, pull_requests, rows.pull_requests, key=["github_id"])
        if rows.reviews:
            upsert_rows(conn, reviews, rows.reviews, key=["github_id"])
        if rows.comments:
            upsert_rows(conn, comments, rows.comments, key=["github_id"])
        # A force-push changes files and commits: a whole list read replaces the stored one.
        replace_lists(conn, pr_files, rows.whole_files)
        replace_lists(conn, pr_commits, rows.whole_commits)
        if rows.files:
            upsert_rows(conn, pr_files, rows.files, key=["pull_request_id", "path"])
        if rows.commits:
            upsert_rows(conn, pr_commits, rows.commits, key=["pull_request_id", "sha"])
        self.result.deleted_comments += mark_deleted_comments(
            conn, rows.whole_comments, rows.comments, self._clock()
        )
        self.result.reviews += len(rows.reviews)
        if count_issue_comments:
            self.result.issue_comments += sum(1 for c in rows.comments if c["kind"] == "issue_comment")
        if count_review_comments:
            self.result.review_comments += sum(1 for c in rows.comments if c["kind"] == "review_comment")
        self.result.files += len(rows.files)
        self.result.commits += len(rows.commits)
        self._people.update(rows.contributors)
        self.result.contributors = len(self._people)

    # -- what changed without moving updated_at ----------------------------------------------------
    async def _sweep_comments(self, kind: str) -> bool:
        """Walks the repository-wide listing of `kind` (issue_comment | review_comment) conditionally:
        changed pages are stored, and held comments on no page are marked deleted. False when GitHub
        refused a page, so that nothing was concluded."""
        listing = "issues/comments" if kind == "issue_comment" else "pulls/comments"
        sweep = ListingSweep(self.client, self.engine, self.full_name, listing, entity=f"sweep:{kind}")

        async def take(items: list[dict[str, Any]], save: Callable[[Connection], None]) -> None:
            rows = mapping.Rows()
            numbers = {_number_of(c) for c in items}
            ids = (
                await self._pull_request_ids(numbers)
                if kind == "review_comment"
                else self._stored_ids(numbers)
            )
            for c in items:
                pr_id = ids.get(_number_of(c))
                if pr_id is None:
                    continue  # a comment on an issue, not a pull request
                if kind == "review_comment":
                    mapping.add_review_comment(rows, pr_id, c)
                else:
                    mapping.add_rest_issue_comment(rows, pr_id, c)
            with self.engine.begin() as conn:
                # The PR pass counted the issue comments it stored; the sweep stores them again to learn
                # each listing page's ETag, which is not news. Review comments come only from the sweep.
                self._write_rows(
                    conn, rows, count_review_comments=True, count_issue_comments=kind != "issue_comment"
                )
                save(conn)
            self._report()

        found = await sweep.walk(take, lambda first, last: self._held_comments(kind, first, last))
        if found is None:
            return False
        gone = self._held_comments(kind, None, None) - found.live
        if gone:
            with self.engine.begin() as conn:
                self.result.deleted_comments += mark_comments_deleted_by_id(conn, gone, self._clock())
            log.info("%s: %d %ss deleted on GitHub since the last capture", self.full_name, len(gone), kind)
        return True

    async def _check_dismissals(self) -> None:
        """Recently updated pull requests whose count of dismissed reviews differs from what is held are
        read again."""
        pages = [p for p in (self._recent_pull_requests, self._rotation_pull_requests) if p is not None]
        if not pages:
            return
        counts = {n["number"]: n["dismissed"]["totalCount"] for p in pages for n in p["nodes"]}
        rotation = self._rotation_pull_requests
        if rotation is not None:
            info = rotation["pageInfo"]
            with self.engine.begin() as conn:
                save_checkpoint(
                    conn,
                    self.full_name,
                    "dismissal_rotation",
                    "all",
                    cursor=info["endCursor"] if info["hasNextPage"] else None,
                    watermark=None,
                )
        with self.engine.connect() as conn:
            held: dict[int, int] = dict(
                conn.execute(
                    select(pull_requests.c.number, func.count(reviews.c.github_id))
                    .select_from(
                        pull_requests.outerjoin(
                            reviews,
                            (reviews.c.pull_request_id == pull_requests.c.github_id)
                            & (reviews.c.state == "DISMISSED"),
                        )
                    )
                    .where(
                        pull_requests.c.repository_id == self.repository_id,
                        pull_requests.c.number.in_(sorted(counts)),
                    )
                    .group_by(pull_requests.c.number)
                ).all()
            )
        stale = {n for n, dismissed in counts.items() if n in held and held[n] != dismissed}
        if stale:
            log.info("%s: reviews dismissed on %d pull requests", self.full_name, len(stale))
            await self._pull_request_ids(stale, again=True)

    async def _follow_deleted_accounts(self) -> None:
        """An account deleted on GitHub moves no `updated_at`: the sweeps saw its reviews and comments turn
        to the ghost's; the pull requests it opened or merged are captured again, and only those."""
        if not self._deleted_people:
            return
        gone = sorted(self._deleted_people)
        reviewed = select(reviews.c.pull_request_id).where(reviews.c.author_id.in_(gone))
        with self.engine.connect() as conn:
            stale = set(
                conn.execute(
                    select(pull_requests.c.number).where(
                        pull_requests.c.repository_id == self.repository_id,
                        pull_requests.c.author_id.in_(gone)
                        | pull_requests.c.merged_by_id.in_(gone)
                        | pull_requests.c.github_id.in_(reviewed),
                    )
                ).scalars()
            )
        if stale:
            await self._pull_request_ids(stale, again=True)

    async def _sweep_review_comments(self) -> bool:
        """The review comments of a whole-repository capture, by the conditional walk; the listing's
        watermark is recorded as the time-based pass records it."""
        started = self._clock()
        if not await self._sweep_comments("review_comment"):
            return False
        with self.engine.begin() as conn:
            save_checkpoint(
                conn,
                self.full_name,
                "review_comments",
                "all",
                cursor=None,
                watermark=started - WATERMARK_MARGIN,
            )
        return True

    def _held_comments(self, kind: str, first: int | None, last: int | None) -> set[int]:
        """Ids of the live comments of `kind` held for this repository, between first and last if given."""
        query = (
            select(comments.c.github_id)
            .join(pull_requests, pull_requests.c.github_id == comments.c.pull_request_id)
            .where(
                pull_requests.c.repository_id == self.repository_id,
                comments.c.kind == kind,
                comments.c.deleted_at.is_(None),
            )
        )
        if first is not None and last is not None:
            query = query.where(comments.c.github_id.between(first, last))
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def _recall_page_size(self) -> None:
        """The page size that worked for this repository last time: timeouts are not learnt twice."""
        with self.engine.connect() as conn:
            saved = load_checkpoint(conn, self.full_name, "graphql_page_size", "pull_requests")
        if saved is not None and saved.cursor and saved.cursor.isdigit():
            self.pager.remember(self.full_name, int(saved.cursor))

    def _finish(self) -> None:
        key = self.scope.key()
        with self.engine.begin() as conn:
            worked = self.pager.worked(self.full_name)
            if worked is not None:
                save_checkpoint(
                    conn,
                    self.full_name,
                    "graphql_page_size",
                    "pull_requests",
                    cursor=str(worked),
                    watermark=None,
                )
            checkpoint = load_checkpoint(conn, self.full_name, "pull_requests", key)
            if self.scope.is_everything and self.scope.max_items is None:
                started = self._run_started(checkpoint)
                save_checkpoint(
                    conn,
                    self.full_name,
                    "pull_requests",
                    key,
                    cursor=None,
                    watermark=started - WATERMARK_MARGIN,
                )
            else:
                clear_checkpoint(conn, self.full_name, "pull_requests", key)
            conn.execute(
                update(repositories)
                .where(repositories.c.github_id == self.repository_id)
                .values(last_synced_at=self._clock())
            )

    def _run_started(self, checkpoint: Any) -> datetime:
        started: datetime | None = getattr(self, "_started_at", None)
        return started or self._clock()


CONNECTIONS = ("reviews", "comments", "files", "commits")


def _add_connection(rows: mapping.Rows, conn: str, pr_id: int, nodes: list[dict[str, Any]]) -> None:
    """A page of one of a pull request's connections as rows (commits numbered after those already read)."""
    if conn == "reviews":
        mapping.add_reviews(rows, pr_id, nodes)
    elif conn == "comments":
        mapping.add_issue_comments(rows, pr_id, nodes)
    elif conn == "files":
        mapping.add_files(rows, pr_id, nodes)
    else:
        start = sum(1 for c in rows.commits if c["pull_request_id"] == pr_id)
        mapping.add_commits(rows, pr_id, nodes, start)


def _mark_whole_lists(rows: mapping.Rows, nodes: list[dict[str, Any]], *, files: bool, commits: bool) -> None:
    """After follow-ups every list read is whole: files and commits replace what is stored, issue
    comments missing from the list were deleted, and a file list shorter than `changedFiles` is GitHub's
    3,000-file cap (marked `files_truncated`)."""
    listed: dict[int, set[str]] = {}
    for f in rows.files:
        listed.setdefault(f["pull_request_id"], set()).add(f["path"])
    by_id = {row["github_id"]: row for row in rows.pull_requests}
    for pr in nodes:
        pr_id = int(pr["fullDatabaseId"])
        if pr.get("comments") is not None:
            rows.whole_comments.add((pr_id, "issue_comment"))
        if files and pr.get("files") is not None:
            rows.whole_files.add(pr_id)
            by_id[pr_id]["files_truncated"] = (pr["changedFiles"] or 0) > len(listed.get(pr_id, ()))
        if commits and pr.get("commits") is not None:
            rows.whole_commits.add(pr_id)


def estimate_points(query: str, variables: dict[str, Any], operation: str | None) -> int:
    """GitHub's price of a query, predicted before it is sent (1 when it cannot be priced)."""
    try:
        return max(1, query_cost(_parsed(query), known_schema(), variables, operation).points)
    except (QueryLimitError, GraphQLError, KeyError, TypeError):
        return 1


@cache
def _parsed(query: str) -> DocumentNode:
    return parse(query)


def _number_of(comment: dict[str, Any]) -> int:
    url = comment.get("pull_request_url") or comment["issue_url"]
    return int(str(url).rstrip("/").rsplit("/", 1)[-1])


async def capture(
    client: GitHubClient,
    engine: Engine,
    repository: str,
    *,
    kind: str = "prs",
    scope: CaptureScope | None = None,
    progress: Progress | None = None,
) -> CaptureResult:
    """Capture `repository` (OWNER/NAME) into `engine`'s database."""
    from ghcapture.capture.scope import parse_repository

    owner, name = parse_repository(repository)
    await client.prepare_for(owner, name)  # a GitHub App finds its installation before the first GraphQL call
    with sampling_budgets(client, engine):
        return await Capture(client, engine, owner, name, kind=kind, scope=scope, progress=progress).run()
