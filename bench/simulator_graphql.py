"""How fast the GitHub simulator serves a realistic capture query, and what that query costs.

Starts a simulator holding one generated repository (2,000 PRs by default), pages through every pull
request over HTTP with httpx, 50 PRs a page with their reviews, files, comments and commit count, and
prints PRs a second with the points and requests the simulator counted.

    python bench/simulator_graphql.py [--prs 2000] [--page 50] [--seed 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx

from ghcapture.simulator.app import Simulator
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
    args = parser.parse_args()

    started = time.perf_counter()
    world = World()
    world.add_repository(generate_repository("acme", "widgets", args.prs, seed=args.seed))
    generated = time.perf_counter() - started
    server = SimulatorServer(Simulator(world)).start()
    try:
        prs, pages, elapsed, last = capture(server.url, args.page)
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


def capture(url: str, page: int) -> tuple[int, int, float, dict[str, Any]]:
    """Pages through every PR; returns (PRs, pages, seconds, the last rateLimit)."""
    prs = pages = 0
    after = None
    last: dict[str, Any] = {}
    with httpx.Client(base_url=url, headers={"authorization": "bearer bench"}, timeout=120) as client:
        started = time.perf_counter()
        while True:
            variables = {"owner": "acme", "name": "widgets", "first": page, "after": after}
            body = client.post("/graphql", json={"query": QUERY, "variables": variables}).json()
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
    return prs, pages, elapsed, last


if __name__ == "__main__":
    main()
