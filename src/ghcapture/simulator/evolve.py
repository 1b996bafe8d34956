"""Activity after the first capture: comments and reviews on existing pull requests, and new pull requests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.model import (
    IssueComment,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    modern_node_id,
    retime,
)
from ghcapture.simulator.world import World


def evolve_repository(
    world: World, repo: Repository, *, changed: int, new: int, seed: int = 7, now: datetime | None = None
) -> dict[str, Any]:
    """Adds activity to `changed` existing PRs and appends `new` PRs, all stamped `now`."""
    rng = random.Random(f"evolve:{seed}:{repo.full_name}:{repo.version}")
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    people = [u for u in world.users_by_id.values() if u.type == "User" and not u.is_ghost] or [repo.owner]
    touched = rng.sample(repo.pull_requests, min(changed, len(repo.pull_requests)))
    for k, pr in enumerate(touched):
        at = now - timedelta(seconds=len(touched) - k)
        who = rng.choice(people)
        kind = k % 3
        if kind == 0:
            cid = world.next_id()
            pr.issue_comments.append(
                IssueComment(
                    id=cid,
                    node_id=modern_node_id("IC", repo.id, cid),
                    user=who,
                    body=f"follow-up {cid} ✓",
                    created_at=at,
                    updated_at=at,
                )
            )
        elif kind == 1:
            rid, cid = world.next_id(), world.next_id()
            review = Review(
                id=rid,
                node_id=modern_node_id("PRR", repo.id, rid),
                user=who,
                state="COMMENTED",
                body="late review",
                submitted_at=at,
                commit_id=pr.head_sha,
            )
            pr.reviews.append(review)
            pr.review_comments.append(
                ReviewComment(
                    id=cid,
                    node_id=modern_node_id("PRRC", repo.id, cid),
                    user=who,
                    body="one more thing",
                    path=pr.files[0].filename if pr.files else "README.md",
                    line=1,
                    original_line=1,
                    diff_hunk="@@ -1 +1 @@",
                    in_reply_to_id=None,
                    review_id=rid,
                    commit_id=pr.head_sha,
                    created_at=at,
                    updated_at=at,
                )
            )
        else:
            pr.title = pr.title + " (edited)"
            if pr.issue_comments:  # an edited comment moves its updated_at, as on GitHub
                pr.issue_comments[0].body += " (edited)"
                pr.issue_comments[0].updated_at = at
        pr.updated_at = at
        world.pull_request_changed(repo, pr)
    added = []
    if new:
        template = generate_repository(
            repo.owner.login, f"{repo.name}-evolve-{repo.version}", new, seed=seed, anchor=now
        )
        next_number = max((p.number for p in repo.pull_requests), default=0) + 1
        for offset, pr in enumerate(template.pull_requests):
            _squeeze(
                pr,
                now - timedelta(seconds=60 + len(template.pull_requests)),
                now - timedelta(seconds=len(template.pull_requests) - offset),
            )
            pr.number = next_number + offset
            pr.id = world.next_id()
            pr.node_id = modern_node_id("PR", repo.id, pr.id)
            repo.add_pull_request(pr)
            world.pull_request_changed(repo, pr)
            added.append(pr.number)
    repo.version += 1
    repo.updated_at = max(repo.updated_at, now)
    return {"changed": sorted(p.number for p in touched), "new": added}


def _squeeze(pr: PullRequest, start: datetime, end: datetime) -> None:
    """Moves a generated PR's whole life into [start, end], so that all of it is new activity."""
    origin, span = pr.created_at, max(1.0, (pr.updated_at - pr.created_at).total_seconds())
    scale = (end - start).total_seconds() / span
    retime(
        pr, lambda t: (start + timedelta(seconds=(t - origin).total_seconds() * scale)).replace(microsecond=0)
    )
