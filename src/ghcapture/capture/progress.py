"""How a capture reports progress: a live bar on a terminal, log lines otherwise, a job row with --job-id."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

log = logging.getLogger("ghcapture.capture")


class Progress(Protocol):
    def start(self, repository: str, total: int | None) -> None: ...

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None: ...

    def finish(self, result: Any) -> None: ...

    def fail(self, message: str) -> None: ...


class NoProgress:
    def start(self, repository: str, total: int | None) -> None:
        pass

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        pass

    def finish(self, result: Any) -> None:
        pass

    def fail(self, message: str) -> None:
        pass


class LogProgress(NoProgress):
    """Plain lines, at most one every few seconds, for logs and non-terminals."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self._last = 0.0
        self._repository = ""
        self._total: int | None = None
        self._announced = False

    def start(self, repository: str, total: int | None) -> None:
        # Announced with the first progress, not before: a capture whose first request fails (a refused
        # token, an unknown repository) says only its error.
        self._repository, self._total, self._announced = repository, total, False

    def _announce(self) -> None:
        if not self._announced:
            self._announced = True
            total = self._total
            log.info(
                "%s: capturing%s", self._repository, f" ({total} pull requests on GitHub)" if total else ""
            )

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        self._announce()
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            of = f"/{self._total}" if self._total else ""
            log.info(
                "%s: %d%s pull requests, %d points, %d requests, budget %s",
                self._repository,
                done,
                of,
                points,
                requests,
                _budget_text(budget),
            )

    def finish(self, result: Any) -> None:
        self._announce()
        done = getattr(result, "pull_requests", None)
        if done is not None:
            log.info("%s: done, %d pull requests", self._repository, done)


class RichProgress(NoProgress):
    """A live progress bar: pull requests done of total, and the budget remaining."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[budget]}"),
            transient=False,
        )
        self._task: Any = None

    def start(self, repository: str, total: int | None) -> None:
        self._bar.start()
        self._task = self._bar.add_task(f"{repository} pull requests", total=total, budget="")

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        total = self._bar.tasks[0].total if self._bar.tasks else None
        self._bar.update(
            self._task,
            completed=done,
            total=max(total or 0, done) if total else None,
            budget=f"{points} pts, {requests} req, budget {_budget_text(budget)}",
        )

    def finish(self, result: Any) -> None:
        # The total is an upper bound (numbers that do not exist, a PR that left the scope, no count
        # from GitHub): a run that ended took all there was, so the bar ends full.
        if self._task is not None:
            done = getattr(result, "pull_requests", None)
            if done is None:
                done = self._bar.tasks[0].completed
            self._bar.update(self._task, completed=done, total=done)
        self._bar.stop()

    def fail(self, message: str) -> None:
        self._bar.stop()


class Several(NoProgress):
    def __init__(self, *reporters: Progress) -> None:
        self.reporters = reporters

    def start(self, repository: str, total: int | None) -> None:
        for r in self.reporters:
            r.start(repository, total)

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        for r in self.reporters:
            r.advance(done, points=points, requests=requests, budget=budget)

    def finish(self, result: Any) -> None:
        for r in self.reporters:
            r.finish(result)

    def fail(self, message: str) -> None:
        for r in self.reporters:
            r.fail(message)


def _budget_text(budget: dict[str, Any]) -> str:
    parts = []
    for resource in ("graphql", "core"):
        b = budget.get(resource) or {}
        if b.get("remaining") is not None:
            parts.append(f"{resource} {b['remaining']}/{b.get('limit', '?')}")
    return ", ".join(parts) or "unknown"
