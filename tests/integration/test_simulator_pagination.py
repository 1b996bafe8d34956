"""REST page/per_page with Link headers and GitHub's list caps; GraphQL cursors, pageInfo and totalCount."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.model import ChangedFile, Commit
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World

Start = Callable[..., SimulatorServer]


def client(server: SimulatorServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": "token t"}, timeout=30)


def links(answer: httpx.Response) -> dict[str, dict[str, str]]:
    """rel -> query parameters of each Link header entry."""
    found = {}
    for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', answer.headers.get("link", "")):
        found[rel] = dict(httpx.URL(url).params)
    return found


@pytest.fixture
def big_pr_server(make_simulator: Start) -> SimulatorServer:
    """acme/widgets whose PR 1 has 3,100 files and 300 commits, more than GitHub lists."""
    repo = generate_repository("acme", "widgets", 3, seed=2)
    pr = repo.pull_requests[0]
    pr.files = [
        ChangedFile(sha=f"{k:040x}", filename=f"src/f{k}.py", status="modified", additions=1, deletions=0)
        for k in range(3100)
    ]
    base = pr.created_at
    pr.commits = [
        Commit(
            sha=f"{k + 1:040x}",
            node_id=f"C_{k}",
            message=f"commit {k}",
            author_name="a",
            author_email="a@example.com",
            authored_at=base + timedelta(seconds=k),
            committed_at=base + timedelta(seconds=k),
            author=None,
        )
        for k in range(300)
    ]
    pr.changed_files, pr.commits_count = len(pr.files), len(pr.commits)
    world = World()
    world.add_repository(repo)
    return make_simulator(world=world)


def test_link_header_has_next_last_prev_and_first(simulator: SimulatorServer) -> None:
    http = client(simulator)

    first = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 10})
    middle = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 10, "page": 3})
    last = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 10, "page": 6})
    beyond = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 10, "page": 7})

    assert set(links(first)) == {"next", "last"}
    assert links(first)["next"]["page"] == "2" and links(first)["last"]["page"] == "6"
    assert links(first)["next"]["state"] == "all" and links(first)["next"]["per_page"] == "10"
    assert set(links(middle)) == {"next", "last", "prev", "first"}
    assert (links(middle)["prev"]["page"], links(middle)["first"]["page"]) == ("2", "1")
    assert set(links(last)) == {"prev", "first"}
    assert beyond.json() == []
    # GitHub's Link URLs name a repository by its id (its pagination guide's example does).
    assert re.match(r"<http://127\.0\.0\.1:\d+/repositories/\d+/pulls\?", first.headers["link"])


def test_following_next_visits_every_pull_request_once(simulator: SimulatorServer) -> None:
    http = client(simulator)
    seen: list[int] = []
    url: str | None = "/repos/acme/widgets/pulls?state=all&per_page=7&sort=created&direction=asc"
    while url:
        answer = http.get(url)
        seen += [pr["number"] for pr in answer.json()]
        match = re.search(r'<([^>]+)>; rel="next"', answer.headers.get("link", ""))
        url = match.group(1) if match else None

    assert seen == list(range(1, 61))


def test_per_page_defaults_to_30_and_is_capped_at_100(make_simulator: Start) -> None:
    http = client(make_simulator({"acme/widgets": 130}))

    default = http.get("/repos/acme/widgets/pulls", params={"state": "all"})
    capped = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 500})
    rest = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 500, "page": 2})

    assert len(default.json()) == 30 and links(default)["last"]["page"] == "5"
    assert len(capped.json()) == 100 and len(rest.json()) == 30
    assert links(capped)["next"]["per_page"] == "100"


def test_state_sort_and_direction_of_the_pulls_list(simulator: SimulatorServer) -> None:
    http = client(simulator)
    every = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 100}).json()
    opened = http.get("/repos/acme/widgets/pulls", params={"per_page": 100}).json()
    updated = http.get(
        "/repos/acme/widgets/pulls",
        params={"state": "all", "sort": "updated", "direction": "asc", "per_page": 100},
    ).json()

    assert len(every) == 60
    assert [p["created_at"] for p in every] == sorted((p["created_at"] for p in every), reverse=True)
    assert opened and all(p["state"] == "open" for p in opened)  # GitHub lists open PRs by default
    assert [p["updated_at"] for p in updated] == sorted(p["updated_at"] for p in updated)
    bad = http.get("/repos/acme/widgets/pulls", params={"state": "merged"})
    assert bad.status_code == 422


def test_files_are_capped_at_3000_and_commits_at_250(big_pr_server: SimulatorServer) -> None:
    http = client(big_pr_server)
    files: list[str] = []
    for page in range(1, 40):
        chunk = http.get("/repos/acme/widgets/pulls/1/files", params={"per_page": 100, "page": page}).json()
        files += [f["filename"] for f in chunk]
    commits = http.get("/repos/acme/widgets/pulls/1/commits", params={"per_page": 100, "page": 3})
    single = http.get("/repos/acme/widgets/pulls/1").json()

    assert len(files) == 3000 and len(set(files)) == 3000
    assert len(commits.json()) == 50 and "next" not in links(commits)
    assert single["changed_files"] == 3100 and single["commits"] == 300  # the counts still tell the truth


def every_page(http: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(1, 1000):
        chunk = http.get(path, params={**params, "per_page": 100, "page": number}).json()
        items += chunk
        if len(chunk) < 100:
            return items
    raise AssertionError(f"{path} did not end")


@pytest.mark.parametrize(
    "path", ["/repos/acme/widgets/issues/comments", "/repos/acme/widgets/pulls/comments"]
)
def test_repo_wide_comment_listings_honour_since(simulator: SimulatorServer, path: str) -> None:
    http = client(simulator)
    every = every_page(http, path, sort="updated")
    pivot = every[len(every) // 2]["updated_at"]

    later = every_page(http, path, sort="updated", since=pivot)

    assert [c["updated_at"] for c in every] == sorted(c["updated_at"] for c in every)
    assert len({c["id"] for c in every}) == len(every)
    assert [c["id"] for c in later] == [c["id"] for c in every if c["updated_at"] >= pivot]
    assert http.get(path, params={"since": "yesterday"}).status_code == 422


QUERY = """query($first: Int, $last: Int, $after: String, $before: String) {
  repository(owner: "acme", name: "widgets") {
    pullRequests(first: $first, last: $last, after: $after, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { number } }
    }
  }
}"""


def page(http: httpx.Client, **variables: Any) -> dict[str, Any]:
    body = http.post("/graphql", json={"query": QUERY, "variables": variables}).json()
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["repository"]["pullRequests"]
    return connection


def test_graphql_first_and_after_walk_every_node_once(simulator: SimulatorServer) -> None:
    http = client(simulator)
    numbers: list[int] = []
    after = None
    while True:
        connection = page(http, first=25, after=after)
        numbers += [edge["node"]["number"] for edge in connection["edges"]]
        assert connection["totalCount"] == 60
        assert connection["pageInfo"]["endCursor"] == connection["edges"][-1]["cursor"]
        assert connection["pageInfo"]["startCursor"] == connection["edges"][0]["cursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    assert numbers == list(range(1, 61))


def test_graphql_last_and_before_walk_backwards(simulator: SimulatorServer) -> None:
    http = client(simulator)

    tail = page(http, last=10)
    before = page(http, last=10, before=tail["pageInfo"]["startCursor"])
    start = page(http, first=5)

    assert [e["node"]["number"] for e in tail["edges"]] == list(range(51, 61))
    assert tail["pageInfo"]["hasPreviousPage"] and not tail["pageInfo"]["hasNextPage"]
    assert [e["node"]["number"] for e in before["edges"]] == list(range(41, 51))
    assert not start["pageInfo"]["hasPreviousPage"] and start["pageInfo"]["hasNextPage"]


def test_graphql_empty_page_and_bad_cursor(simulator: SimulatorServer) -> None:
    http = client(simulator)
    end = page(http, last=1)["pageInfo"]["endCursor"]

    empty = page(http, first=10, after=end)
    bad = http.post("/graphql", json={"query": QUERY, "variables": {"first": 1, "after": "nonsense"}}).json()

    assert empty["edges"] == [] and empty["pageInfo"]["endCursor"] is None
    assert not empty["pageInfo"]["hasNextPage"]
    assert "does not appear to be a valid cursor" in bad["errors"][0]["message"]


def test_graphql_nested_connections_count_and_cap(big_pr_server: SimulatorServer) -> None:
    http = client(big_pr_server)
    query = """{ repository(owner: "acme", name: "widgets") { pullRequest(number: 1) {
        files(first: 100) { totalCount nodes { path } } commits(first: 1) { totalCount }
        changedFiles } } }"""

    pr = http.post("/graphql", json={"query": query}).json()["data"]["repository"]["pullRequest"]

    assert pr["files"]["totalCount"] == 3000 and len(pr["files"]["nodes"]) == 100
    assert pr["commits"]["totalCount"] == 300 and pr["changedFiles"] == 3100


def test_every_read_endpoint_answers_the_same_under_api_v3(simulator: SimulatorServer) -> None:
    root, enterprise = (
        client(simulator),
        httpx.Client(base_url=simulator.url + "/api/v3", headers={"authorization": "token t"}, timeout=30),
    )
    repo = simulator.simulator.world.repository("acme", "widgets")
    assert repo is not None
    pr = max(repo.pull_requests, key=lambda p: len(p.review_comments) + len(p.issue_comments))
    paths = [
        "/repos/acme/widgets",
        "/repos/acme/widgets/pulls?state=all&per_page=5",
        f"/repos/acme/widgets/pulls/{pr.number}",
        f"/repos/acme/widgets/pulls/{pr.number}/reviews",
        f"/repos/acme/widgets/pulls/{pr.number}/comments",
        f"/repos/acme/widgets/issues/{pr.number}/comments",
        f"/repos/acme/widgets/pulls/{pr.number}/files",
        f"/repos/acme/widgets/pulls/{pr.number}/commits",
        "/repos/acme/widgets/pulls/comments?per_page=5",
        "/repos/acme/widgets/issues/comments?per_page=5",
        f"/users/{pr.user.login}",
        "/rate_limit",
    ]
    for path in paths:
        plain, prefixed = root.get(path), enterprise.get(path)
        assert plain.status_code == prefixed.status_code == 200, path
        # The same answer, with every link leading back under /api/v3.
        rewritten = plain.text.replace(simulator.url + "/", simulator.url + "/api/v3/")
        assert prefixed.json() == httpx.Response(200, text=rewritten).json() or path == "/rate_limit", path
        if "link" in plain.headers:
            assert prefixed.headers["link"] == plain.headers["link"].replace(
                simulator.url, simulator.url + "/api/v3"
            )
