"""Generate a repository as the simulator does and print the CPU time it took and how often its pull
requests carry each of the things real ones do (the rates of ghcapture.simulator.generator.Rates, as drawn).

    python bench/generator.py [--prs 10000] [--seed 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from ghcapture.simulator.generator import FILE_CAP, generate_repository
from ghcapture.simulator.model import Repository


def shares(repo: Repository) -> list[tuple[str, int, int]]:
    """(what, how many have it, out of how many)."""
    prs = repo.pull_requests
    opened = [p for p in prs if p.state == "open"]
    files = [f for p in prs for f in p.files]
    roots = [c for p in prs for c in p.review_comments if c.in_reply_to_id is None]
    return [
        ("PRs over the 3,000-file cap", sum(p.changed_files > FILE_CAP for p in prs), len(prs)),
        ("files without a patch", sum(not f.has_patch for f in files), len(files)),
        ("PRs from a fork", sum(p.head_fork is not None for p in prs), len(prs)),
        ("PRs from a deleted fork", sum(p.head_repo_deleted for p in prs), len(prs)),
        ("PRs with labels", sum(bool(p.labels) for p in prs), len(prs)),
        ("PRs with assignees", sum(bool(p.assignees) for p in prs), len(prs)),
        ("open PRs with review requests", sum(bool(p.requested_reviewers) for p in opened), len(opened)),
        ("PRs in a milestone", sum(p.milestone is not None for p in prs), len(prs)),
        (
            "open PRs with a pending review",
            sum(any(r.state == "PENDING" for r in p.reviews) for p in opened),
            len(opened),
        ),
        ("threads resolved", sum(c.resolved_by is not None for c in roots), len(roots)),
        ("threads on several lines", sum(c.original_start_line is not None for c in roots), len(roots)),
        ("threads on a whole file", sum(c.subject_type == "file" for c in roots), len(roots)),
        ("threads on the LEFT side", sum(c.side == "LEFT" for c in roots), len(roots)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times = []
    for _ in range(max(1, args.rounds)):
        started = time.process_time()
        repo = generate_repository("acme", "widgets", args.prs, seed=args.seed)
        times.append(time.process_time() - started)
    print(f"{args.prs} PRs, seed {args.seed}: {min(times):.2f} s of CPU (best of {len(times)})")
    for what, count, out_of in shares(repo):
        print(f"  {what:<34} {count:>7} of {out_of:<7} {100 * count / max(1, out_of):5.1f}%")
    associations = Counter(p.author_association for p in repo.pull_requests)
    print(
        "  PR author associations            ", ", ".join(f"{k} {v}" for k, v in associations.most_common())
    )


if __name__ == "__main__":
    main()
