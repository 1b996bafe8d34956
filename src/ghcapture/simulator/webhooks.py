"""The simulator's webhook deliveries: every change to the world (an evolve, a rename, an Actions run) is sent
to a receiver as GitHub sends it, and the App's deliveries API lists what was sent and sends one again.

As GitHub does (https://docs.github.com/webhooks/using-webhooks/handling-failed-webhook-deliveries): headers
X-GitHub-Event, X-GitHub-Delivery (a GUID, kept on redelivery), X-GitHub-Hook-ID,
X-GitHub-Hook-Installation-Target-ID/-Type, X-Hub-Signature-256 and a `GitHub-Hookshot/...` user agent; a 10 s
timeout; no retry of its own. Payloads are REST objects cut to the keys of `@octokit/webhooks-schemas`
(webhook_keys.json, derived from its schema.json 7.6.1: each object's properties and the kinds of its nested
objects), so that they validate against it.

The world tells this module that a repository changed (`World.listeners`); what changed is found by comparing
the repository with a snapshot taken after the last change, so no rule of the world knows about webhooks. What
one change made and undid (a comment created and deleted by one evolve) is therefore never delivered, while
GitHub would send both; the pull request's `updated_at` it moved is left to a refresh.
Options drop, duplicate, reorder and delay a share of deliveries, as a network and GitHub's queue may.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import httpx

from ghcapture.simulator import rest_shapes
from ghcapture.simulator.model import PullRequest, Repository
from ghcapture.simulator.world import World

HOOKSHOT = "GitHub-Hookshot/7d6b8a4"
TIMEOUT_SECONDS = 10.0  # GitHub waits this long for an answer
_KEYS: dict[str, dict[str, Any]] = json.loads(
    resources.files("ghcapture.simulator").joinpath("webhook_keys.json").read_text()
)


def project(value: Any, kind: Any) -> Any:
    """`value` cut to the keys the schema's `kind` allows, nested objects likewise."""
    if kind is None:
        return value
    if isinstance(kind, dict):
        inner = kind.get("list")
        return [project(v, inner) for v in value] if isinstance(value, list) else value
    if not isinstance(value, dict):
        return value
    allowed = _KEYS.get(kind)
    if allowed is None:
        return value
    out = {k: project(v, allowed[k]) for k, v in value.items() if k in allowed}
    for key, default in _WEBHOOK_ONLY.items():
        if key in allowed and key not in out:
            out[key] = default
    return out


# Keys webhook payloads carry that the REST objects here do not (a repository's custom properties).
_WEBHOOK_ONLY: dict[str, Any] = {"custom_properties": {}}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- what a repository looks like, to find what changed ------------------------------------------------------


@dataclass(frozen=True)
class _PullRequestState:
    title: str
    body: str | None
    state: str
    draft: bool
    merged: bool
    head_sha: str
    base_ref: str
    reviews: dict[int, tuple[str, str | None]]
    review_comments: dict[int, tuple[str | None, str]]
    issue_comments: dict[int, tuple[str | None, str]]


def _state(pr: PullRequest) -> _PullRequestState:
    return _PullRequestState(
        title=pr.title,
        body=pr.body,
        state=pr.state,
        draft=bool(pr.draft),
        merged=pr.merged,
        head_sha=pr.head_sha,
        base_ref=pr.base_ref,
        reviews={r.id: (r.state, r.body) for r in pr.reviews},
        review_comments={c.id: (c.body, _iso(c.updated_at)) for c in pr.review_comments},
        issue_comments={c.id: (c.body, _iso(c.updated_at)) for c in pr.issue_comments},
    )


@dataclass(frozen=True)
class _RepositoryState:
    full_name: str
    name: str
    owner: str
    pull_requests: dict[int, _PullRequestState]


def _snapshot(repo: Repository) -> _RepositoryState:
    return _RepositoryState(
        repo.full_name, repo.name, repo.owner.login, {pr.id: _state(pr) for pr in repo.pull_requests}
    )


# -- deliveries ----------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One delivery: its GUID and payload, and the attempts made to send it."""

    guid: str
    event: str
    action: str | None
    payload: dict[str, Any]
    repository_id: int | None
    body: bytes = b""


@dataclass
class Attempt:
    """One attempt, as `GET /app/hook/deliveries` lists it."""

    id: int
    delivery: Delivery
    delivered_at: datetime
    redelivery: bool
    status_code: int = 0
    status: str = "pending"
    duration: float = 0.0

    def shape(self, installation_id: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.delivery.guid,
            "delivered_at": _iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": round(self.duration, 3),
            "status": self.status,
            "status_code": self.status_code,
            "event": self.delivery.event,
            "action": self.delivery.action,
            "installation_id": installation_id,
            "repository_id": self.delivery.repository_id,
            "throttled_at": None,
        }


@dataclass
class DeliveryOptions:
    """Where deliveries go and how the network treats them (shares between 0 and 1)."""

    url: str
    secret: str
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: float = 0.0  # share of deliveries held back
    delay_seconds: float = 2.0
    seed: int = 0
    hook_id: int = 1
    installation_id: int = 1
    api: str = "https://api.github.com"


class WebhookDeliverer:
    """Sends a delivery for every change of the world, on a thread of its own, in order of the changes."""

    def __init__(
        self,
        world: World,
        options: DeliveryOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.world, self.options, self.clock = world, options, clock
        self.rng = random.Random(options.seed)
        self.attempts: list[Attempt] = []
        self._attempt_ids = 0
        self._snapshots = {repo.id: _snapshot(repo) for repo in world.unique_repositories}
        self._outbox: queue.Queue[tuple[Delivery, bool] | None] = queue.Queue()
        self._held: list[Delivery] = []
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._http = httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS)
        self._thread = threading.Thread(target=self._send_loop, name="simulator-webhooks", daemon=True)
        # Each comment's last form seen, for the `deleted` delivery once it is gone.
        self._deleted: dict[tuple[str, int], Any] = {}
        self.sent_at: dict[str, float] = {}  # guid -> when first handed to the network (time.time())
        world.listeners.append(self.repository_changed)

    def start(self) -> WebhookDeliverer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._outbox.put(None)
        self._thread.join(TIMEOUT_SECONDS * 2)
        self._http.close()
        if self.repository_changed in self.world.listeners:
            self.world.listeners.remove(self.repository_changed)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every delivery handed over so far was attempted (held ones included)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # -- what changed -------------------------------------------------------------------------------------

    def repository_changed(self, repo: Repository) -> None:
        before = self._snapshots.get(repo.id)
        after = _snapshot(repo)
        self._snapshots[repo.id] = after
        if before is None:
            self.remember(repo)
            return  # a repository first seen now: nothing to compare with
        for delivery in self._deliveries(repo, before, after):
            self.send(delivery)
        self.remember(repo)

    def _deliveries(
        self, repo: Repository, before: _RepositoryState, after: _RepositoryState
    ) -> list[Delivery]:
        out: list[Delivery] = []
        if before.full_name != after.full_name:
            if before.owner != after.owner:
                owner = {"from": {"user": project(rest_shapes.user(repo.owner, self.options.api), "user")}}
                out.append(self._repository_delivery(repo, "transferred", {"owner": owner}))
            if before.name != after.name:
                changes = {"repository": {"name": {"from": before.name}}}
                out.append(self._repository_delivery(repo, "renamed", changes))
        for pr in repo.pull_requests:
            old = before.pull_requests.get(pr.id)
            new = after.pull_requests[pr.id]
            out += self._pull_request_deliveries(repo, pr, old, new)
        return out

    def _pull_request_deliveries(
        self, repo: Repository, pr: PullRequest, old: _PullRequestState | None, new: _PullRequestState
    ) -> list[Delivery]:
        out: list[Delivery] = []
        if old is None:
            out.append(self._pull_request_delivery(repo, pr, "opened"))
            if new.state == "closed":
                out.append(self._pull_request_delivery(repo, pr, "closed"))
            old = _PullRequestState(
                new.title, new.body, new.state, new.draft, new.merged, new.head_sha, new.base_ref, {}, {}, {}
            )
        else:
            changes: dict[str, Any] = {}
            if old.title != new.title:
                changes["title"] = {"from": old.title}
            if old.body != new.body:
                changes["body"] = {"from": old.body or ""}
            if changes:
                out.append(self._pull_request_delivery(repo, pr, "edited", changes=changes))
            if old.head_sha != new.head_sha:
                out.append(self._pull_request_delivery(repo, pr, "synchronize", before=old.head_sha))
            if old.draft != new.draft:
                out.append(
                    self._pull_request_delivery(
                        repo, pr, "converted_to_draft" if new.draft else "ready_for_review"
                    )
                )
            if old.state != new.state:
                out.append(
                    self._pull_request_delivery(repo, pr, "closed" if new.state == "closed" else "reopened")
                )
        reviews = {r.id: r for r in pr.reviews}
        for rid, (state, body) in new.reviews.items():
            was = old.reviews.get(rid)
            if was is None:
                out.append(self._review_delivery(repo, pr, reviews[rid], "submitted"))
            elif was[0] != state and state == "DISMISSED":
                out.append(self._review_delivery(repo, pr, reviews[rid], "dismissed"))
            elif was[1] != body:
                out.append(
                    self._review_delivery(repo, pr, reviews[rid], "edited", {"body": {"from": was[1] or ""}})
                )
        for kind in ("review_comments", "issue_comments"):
            live = {c.id: c for c in getattr(pr, kind)}
            old_comments: dict[int, tuple[str | None, str]] = getattr(old, kind)
            new_comments: dict[int, tuple[str | None, str]] = getattr(new, kind)
            for cid, (body, _at) in new_comments.items():
                was_comment = old_comments.get(cid)
                if was_comment is None:
                    out.append(self._comment_delivery(repo, pr, kind, live[cid], "created"))
                elif was_comment != (body, _at):
                    changes = {"body": {"from": was_comment[0] or ""}}
                    out.append(self._comment_delivery(repo, pr, kind, live[cid], "edited", changes))
            for cid in old_comments.keys() - new_comments.keys():
                gone = self._deleted.get((kind, cid))
                if gone is not None:
                    out.append(self._comment_delivery(repo, pr, kind, gone, "deleted"))
        return out

    # -- payloads -------------------------------------------------------------------------------------------

    def remember(self, repo: Repository) -> None:
        for pr in repo.pull_requests:
            for kind in ("review_comments", "issue_comments"):
                for c in getattr(pr, kind):
                    self._deleted[(kind, c.id)] = c

    def _common(self, repo: Repository) -> dict[str, Any]:
        api = self.options.api
        return {
            "repository": project(rest_shapes.repository(repo, api, full=True), "repository"),
            "sender": project(rest_shapes.user(repo.owner, api), "user"),
            "installation": {
                "id": self.options.installation_id,
                "node_id": f"MDIz{self.options.installation_id}",
            },
        }

    def _pull_request_delivery(
        self,
        repo: Repository,
        pr: PullRequest,
        action: str,
        *,
        changes: dict[str, Any] | None = None,
        before: str | None = None,
    ) -> Delivery:
        kind = f"pull_request${action}"
        body = rest_shapes.pull_request(pr, repo, self.options.api, full=True)
        payload: dict[str, Any] = {
            "action": action,
            "number": pr.number,
            "pull_request": body,
            **self._common(repo),
        }
        if changes is not None:
            payload["changes"] = changes
        if action == "synchronize":
            payload["before"], payload["after"] = before, pr.head_sha
        if action == "opened":
            # As it was when opened: open, and last updated then (a later close has its own delivery).
            body.update(
                state="open",
                closed_at=None,
                merged_at=None,
                merged_by=None,
                merged=False,
                merge_commit_sha=None,
                updated_at=body["created_at"],
            )
        return self._delivery("pull_request", action, project(payload, kind), repo)

    def _simple_pull_request(self, repo: Repository, pr: PullRequest) -> dict[str, Any]:
        return rest_shapes.pull_request(pr, repo, self.options.api, full=False)

    def _review_delivery(
        self,
        repo: Repository,
        pr: PullRequest,
        review: Any,
        action: str,
        changes: dict[str, Any] | None = None,
    ) -> Delivery:
        shape = rest_shapes.review(review, pr, repo, self.options.api)
        # Webhook payloads spell a review's state in lower case (octokit's schema: "dismissed", "approved").
        shape["state"] = str(shape["state"]).lower()
        payload: dict[str, Any] = {
            "action": action,
            "review": shape,
            "pull_request": self._simple_pull_request(repo, pr),
            **self._common(repo),
        }
        if action == "edited":
            payload["changes"] = changes or {}
        return self._delivery(
            "pull_request_review", action, project(payload, f"pull_request_review${action}"), repo
        )

    def _comment_delivery(
        self,
        repo: Repository,
        pr: PullRequest,
        kind: str,
        comment: Any,
        action: str,
        changes: dict[str, Any] | None = None,
    ) -> Delivery:
        api = self.options.api
        if kind == "review_comments":
            event = "pull_request_review_comment"
            payload: dict[str, Any] = {
                "action": action,
                "comment": rest_shapes.review_comment(comment, pr, repo, api),
                "pull_request": self._simple_pull_request(repo, pr),
                **self._common(repo),
            }
        else:
            event = "issue_comment"
            payload = {
                "action": action,
                "issue": rest_shapes.issue(pr, repo, api),
                "comment": rest_shapes.issue_comment(comment, pr, repo, api),
                **self._common(repo),
            }
        if action == "edited":
            payload["changes"] = changes or {}
        return self._delivery(event, action, project(payload, f"{event}${action}"), repo)

    def _repository_delivery(self, repo: Repository, action: str, changes: dict[str, Any]) -> Delivery:
        payload = {"action": action, "changes": changes, **self._common(repo)}
        return self._delivery("repository", action, project(payload, f"repository${action}"), repo)

    def run_changed(self, run: Any, run_shape: dict[str, Any], workflow: dict[str, Any]) -> None:
        """A workflow run's new status, as a `workflow_run` delivery."""
        actions = {"queued": "requested", "in_progress": "in_progress", "completed": "completed"}
        action = actions.get(run.status)
        if action is None:
            return
        payload = {
            "action": action,
            "workflow_run": run_shape,
            "workflow": workflow,
            **self._common(run.repo),
        }
        kind = f"workflow_run${action}"
        self.send(self._delivery("workflow_run", action, project(payload, kind), run.repo))

    def _delivery(
        self, event: str, action: str | None, payload: dict[str, Any], repo: Repository | None
    ) -> Delivery:
        delivery = Delivery(str(uuid.uuid4()), event, action, payload, repo.id if repo is not None else None)
        delivery.body = json.dumps(payload).encode()
        return delivery

    # -- sending ---------------------------------------------------------------------------------------------

    def send(self, delivery: Delivery) -> None:
        """Hands a delivery to the network: it may be dropped, doubled, held back or sent out of order."""
        self.sent_at.setdefault(delivery.guid, time.time())
        with self._lock:
            self._pending += 1
        self._outbox.put((delivery, False))

    def redeliver(self, attempt_id: int) -> bool:
        """Sends an attempt's delivery again (the App deliveries API's POST .../attempts)."""
        found = next((a for a in self.attempts if a.id == attempt_id), None)
        if found is None:
            return False
        with self._lock:
            self._pending += 1
        self._outbox.put((found.delivery, True))
        return True

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            delivery, redelivery = item
            if not redelivery and self._held and self._outbox.empty():
                self._flush_held()
            if not redelivery and self.rng.random() < self.options.reorder and not self._outbox.empty():
                self._held.append(delivery)  # sent after the next one
                continue
            if not redelivery and self.rng.random() < self.options.delay:
                time.sleep(self.options.delay_seconds * self.rng.random())
            self._attempt(delivery, redelivery)
            self._flush_held()

    def _flush_held(self) -> None:
        held, self._held = self._held, []
        for delivery in held:
            self._attempt(delivery, False)

    def _attempt(self, delivery: Delivery, redelivery: bool) -> None:
        try:
            with self._lock:
                self._attempt_ids += 1
                attempt = Attempt(self._attempt_ids, delivery, self.clock(), redelivery)
                self.attempts.append(attempt)
            if not redelivery and self.rng.random() < self.options.drop:
                attempt.status, attempt.status_code = "We couldn't deliver this payload: dropped", 0
                return
            copies = 2 if not redelivery and self.rng.random() < self.options.duplicate else 1
            for _ in range(copies):
                self._post(delivery, attempt)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _post(self, delivery: Delivery, attempt: Attempt) -> None:
        opts = self.options
        signature = "sha256=" + hmac.new(opts.secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": HOOKSHOT,
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": str(opts.hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(opts.installation_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature-256": signature,
        }
        started = time.monotonic()
        try:
            answer = self._http.post(opts.url, content=delivery.body, headers=headers)
            attempt.status_code = answer.status_code
            attempt.status = (
                "OK" if answer.status_code < 300 else f"Invalid HTTP Response: {answer.status_code}"
            )
        except httpx.TimeoutException:
            attempt.status_code, attempt.status = 0, "timed out"
        except httpx.HTTPError as exc:
            attempt.status_code, attempt.status = 0, f"We couldn't deliver this payload: {type(exc).__name__}"
        attempt.duration = time.monotonic() - started


def attach_deliverer(sim: Any, options: DeliveryOptions, **kwargs: Any) -> WebhookDeliverer:
    """A deliverer for the simulator `sim`: its world's changes and its Actions runs are delivered."""
    deliverer = WebhookDeliverer(sim.world, options, **kwargs)
    for repo in sim.world.unique_repositories:
        deliverer.remember(repo)

    def run_changed(run: Any) -> None:
        shape = sim.actions.run_shape(run, options.api)
        workflow = sim.actions.workflow_shape(run.repo, run.workflow_path, options.api)
        deliverer.run_changed(run, shape, workflow)

    sim.actions.run_listeners.append(run_changed)
    sim.webhooks = deliverer
    return deliverer.start()
