"""How fast the GitHub simulator serves a realistic capture query, and what that query costs.

Starts a simulator holding one generated repository (2,000 PRs by default), pages through every pull
request over HTTP with httpx, 50 PRs a page with their reviews, files, comments and commit count, and
prints PRs a second with the points and requests the simulator counted. On the realistic profile (the
default, on a clock 20 times faster than GitHub's) it also prints GitHub's server time per page and the
pages GitHub would have stopped at its 10 s limit (retried); `--profile fast` measures the simulator alone.

    python bench/simulator_graphql.py [--prs 2000] [--page 50] [--seed 1] [--profile realistic|fast]
                                      [--time-scale 0.05]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx

from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World

QUERY = """query($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining used }
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: {field: CREATED_AT, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id fullDatabaseId number title body state isDraft createdAt updatedAt mergedAt
        author { login }
        reviews(first: 50) { totalCount nodes { id fullDatabaseId state body submittedAt author { login } } }
        files(first: 100) { totalCount nodes { path additions deletions changeType } }
        comments(first: 50) {
          totalCount nodes { id fullDatabaseId body createdAt updatedAt author { login } }
        }
        commits(first: 1) { totalCount }
      }
    }
  }
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=2000)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=["realistic", "fast"], default="realistic")
    parser.add_argument("--time-scale", type=float, default=0.05, help="real seconds per GitHub second")
    args = parser.parse_args()

    started = time.perf_counter()
    world = World()
    world.add_repository(generate_repository("acme", "widgets", args.prs, seed=args.seed))
    generated = time.perf_counter() - started
    config = SimulatorConfig.for_profile(args.profile, args.time_scale, seed=args.seed)
    server = SimulatorServer(Simulator(world, config)).start()
    try:
        prs, pages, elapsed, last, timeouts = capture(server.url, args.page)
        stats: dict[str, Any] = httpx.get(f"{server.url}/_simulator/stats").json()
    finally:
        server.stop()

    print(f"repository: {args.prs} PRs generated in {generated:.2f} s")
    print(
        f"captured:   {prs} PRs in {pages} pages, {elapsed:.2f} s: {prs / elapsed:,.0f} PRs/s, "
        f"{elapsed / pages * 1000:.1f} ms a page"
    )
    print(
        f"simulator:  {stats['requests_total']} requests, {stats['graphql_points']} points "
        f"({stats['graphql_points'] / max(1, prs):.3f} a PR), {stats['graphql_nodes']:,} nodes served"
    )
    print(f"rateLimit:  last page cost {last['cost']}, used {last['used']}, remaining {last['remaining']}")
    if args.profile == "realistic":
        server_s = stats["server_seconds"]
        print(
            f"GitHub:     {server_s:.0f} s of server time "
            f"({server_s / max(1, pages + timeouts):.2f} s a request), "
            f"{timeouts} pages stopped at 10 s and retried; clock {1 / args.time_scale:g}x"
        )


def capture(url: str, page: int) -> tuple[int, int, float, dict[str, Any], int]:
    """Pages through every PR; returns (PRs, pages, seconds, the last rateLimit, pages that timed out)."""
    prs = pages = timeouts = 0
    after = None
    last: dict[str, Any] = {}
    with httpx.Client(base_url=url, headers={"authorization": "bearer bench"}, timeout=120) as client:
        started = time.perf_counter()
        while True:
            variables = {"owner": "acme", "name": "widgets", "first": page, "after": after}
            answer = client.post("/graphql", json={"query": QUERY, "variables": variables})
            if answer.status_code in (502, 504):
                timeouts += 1  # GitHub stopped the query at its 10 s; a client asks again
                continue
            body = answer.json()
            if body.get("errors"):
                raise SystemExit(f"the simulator refused a page: {body['errors'][0]['message']}")
            connection = body["data"]["repository"]["pullRequests"]
            prs += len(connection["nodes"])
            pages += 1
            last = body["data"]["rateLimit"]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        elapsed = time.perf_counter() - started
    return prs, pages, elapsed, last, timeouts


if __name__ == "__main__":
    main()
