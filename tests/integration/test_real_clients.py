"""Real GitHub clients (PyGithub, githubkit) read the simulator unchanged and get the ground truth.

PyGithub follows `url` fields and Link headers; githubkit checks every answer against pydantic models built
from GitHub's OpenAPI description. Both must see exactly what the simulator holds. Each test has its own
simulator: GitHub's secondary limit (900 REST points a minute) is per user, not per token, and together
the tests would pass it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import github
import httpx
import pytest
from githubkit import GitHub

from ghcapture.simulator.generator import Shape
from ghcapture.simulator.server import SimulatorServer
from real_clients_support import TIME_SCALE

Start = Callable[..., SimulatorServer]
KINDS = ("reviews", "review_comments", "issue_comments", "files")


@pytest.fixture
def server() -> Any:
    from ghcapture.simulator.app import Simulator, SimulatorConfig
    from ghcapture.simulator.generator import generate_repository
    from ghcapture.simulator.world import World

    world = World()
    # ~30 PRs, a few of them giants (hundreds of comments, 250+ commits), so clients must page.
    world.add_repository(generate_repository("acme", "widgets", 30, seed=11, shape=Shape(tail_rate=40)))
    # GitHub's server time and limits, on a clock 200 times faster than GitHub's.
    running = SimulatorServer(Simulator(world, SimulatorConfig.realistic(TIME_SCALE, seed=11))).start()
    yield running
    running.stop()


@pytest.fixture
def truth(server: SimulatorServer) -> dict[int, dict[str, Any]]:
    """PR number -> the simulator's own record of it (its dataset dump)."""
    dump = httpx.get(f"{server.url}/_simulator/truth/acme/widgets").json()["repositories"][0]
    prs = {pr["number"]: pr for pr in dump["pull_requests"]}
    assert any(len(pr["issue_comments"]) > 100 for pr in prs.values())  # clients must page to get it all
    assert any(len(pr["review_comments"]) > 100 for pr in prs.values())
    return prs


def ids(items: list[dict[str, Any]], key: str = "id") -> list[Any]:
    return sorted(item[key] for item in items)


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
def test_pygithub_reads_every_pull_request_and_its_lists(
    server: SimulatorServer, truth: dict[int, dict[str, Any]], prefix: str
) -> None:
    # With /api/v3, PyGithub talks to the simulator as to a GitHub Enterprise Server.
    client = github.Github(
        base_url=server.url + prefix,
        auth=github.Auth.Token(f"pygithub{prefix}"),
        per_page=100,
        retry=None,
        seconds_between_requests=None,  # PyGithub paces itself at 4 requests a second by default
    )
    repo = client.get_repo("acme/widgets")

    pulls = list(repo.get_pulls(state="all"))

    assert sorted(pr.number for pr in pulls) == sorted(truth)
    for pr in pulls:
        expected = truth[pr.number]
        assert (pr.id, pr.node_id, pr.title, pr.state, pr.draft) == (
            expected["id"],
            expected["node_id"],
            expected["title"],
            expected["state"],
            expected["draft"],
        )
        assert pr.user.login == expected["user"]["login"] and pr.body == expected["body"]
        assert pr.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") == expected["created_at"]
        assert pr.url.startswith(server.url + prefix)
        reviews = list(pr.get_reviews())
        assert sorted(r.id for r in reviews) == ids(expected["reviews"])
        assert {r.id: r.state for r in reviews} == {r["id"]: r["state"] for r in expected["reviews"]}
        comments = list(pr.get_review_comments())
        assert sorted(c.id for c in comments) == ids(expected["review_comments"])
        assert {c.id: (c.path, c.body, c.in_reply_to_id) for c in comments} == {
            c["id"]: (c["path"], c["body"], c.get("in_reply_to_id")) for c in expected["review_comments"]
        }
        issue_comments = list(pr.get_issue_comments())
        assert sorted(c.id for c in issue_comments) == ids(expected["issue_comments"])
        assert {c.id: c.user.login for c in issue_comments} == {
            c["id"]: c["user"]["login"] for c in expected["issue_comments"]
        }
        files = list(pr.get_files())
        assert [(f.filename, f.status, f.previous_filename) for f in files] == [
            (f["filename"], f["status"], f.get("previous_filename")) for f in expected["files"]
        ]


def test_pygithub_follows_urls_to_single_objects(
    server: SimulatorServer, truth: dict[int, dict[str, Any]]
) -> None:
    client = github.Github(
        base_url=server.url,
        auth=github.Auth.Token("pygithub-urls"),
        retry=None,
        seconds_between_requests=None,
    )
    number = max(truth, key=lambda n: len(truth[n]["commits"]))

    pr = client.get_repo("acme/widgets").get_pull(number)
    commits = list(pr.get_commits())

    # PyGithub reads the single PR and completes lazy attributes through its `url`.
    assert pr.commits == len(truth[number]["commits"]) and pr.changed_files == len(truth[number]["files"])
    assert pr.merged == (truth[number]["merged_at"] is not None)
    assert [c.sha for c in commits] == [c["sha"] for c in truth[number]["commits"]][:250]
    assert client.get_user(truth[number]["user"]["login"]).login == truth[number]["user"]["login"]
    assert client.get_rate_limit().resources.core.limit == 5000


def newest_first(truth: dict[int, dict[str, Any]]) -> list[int]:
    """PR numbers in the order GitHub lists issues and pull requests by default: newest first."""
    return [pr["number"] for pr in sorted(truth.values(), key=lambda pr: pr["created_at"], reverse=True)]


def as_issue(pr: dict[str, Any]) -> tuple[Any, ...]:
    """What the issue GitHub keeps for a pull request must say, from the pull request's own record."""
    return (
        pr["number"],
        pr["title"],
        pr["body"],
        pr["state"],
        pr["user"]["login"],
        len(pr["issue_comments"]),
        pr["created_at"],
        pr["closed_at"],
        pr["issue_url"],
        pr["html_url"],
        pr["url"],
    )


def pygithub_issue(issue: Any) -> tuple[Any, ...]:
    def when(at: Any) -> str | None:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None

    return (
        issue.number,
        issue.title,
        issue.body,
        issue.state,
        issue.user.login,
        issue.comments,
        when(issue.created_at),
        when(issue.closed_at),
        issue.url,
        issue.html_url,
        issue.pull_request.url,
    )


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
def test_pygithub_reads_the_issues_listing_and_search(
    server: SimulatorServer, truth: dict[int, dict[str, Any]], prefix: str
) -> None:
    def client(per_page: int) -> github.Github:
        return github.Github(
            base_url=server.url + prefix,
            auth=github.Auth.Token(f"pygithub-issues{prefix}"),
            per_page=per_page,
            retry=None,
            seconds_between_requests=None,
        )

    def rebased(fields: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            f.replace(server.url + prefix + "/", server.url + "/") if isinstance(f, str) else f
            for f in fields
        )

    repo = client(100).get_repo("acme/widgets")
    issues = list(repo.get_issues(state="all"))

    # Every pull request is an issue (with a `pull_request` key); its issue id is not the PR's id.
    assert [i.number for i in issues] == newest_first(truth)
    assert len({i.id for i in issues}) == len(issues)
    assert not {i.id for i in issues} & {pr["id"] for pr in truth.values()}
    assert [rebased(pygithub_issue(i)) for i in issues] == [as_issue(truth[i.number]) for i in issues]
    assert issues[0].as_pull_request().id == truth[issues[0].number]["id"]

    # Ten a page: PyGithub follows search's Link headers through three pages.
    found = client(10).search_issues("repo:acme/widgets is:pr")
    assert found.totalCount == len(truth)
    listed = {i.number: i for i in issues}
    assert sorted((i.number, i.id) for i in found) == sorted((n, i.id) for n, i in listed.items())
    assert [rebased(pygithub_issue(i)) for i in found] == [as_issue(truth[i.number]) for i in found]


def paginate(gh: GitHub[Any], method: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a githubkit listing, each validated by githubkit's models and dumped back to JSON."""
    return [item.model_dump(mode="json") for item in gh.rest.paginate(method, **kwargs, per_page=100)]


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
def test_githubkit_reads_every_pull_request_and_its_lists(
    server: SimulatorServer, truth: dict[int, dict[str, Any]], prefix: str
) -> None:
    with GitHub(f"githubkit{prefix}", base_url=server.url + prefix, auto_retry=False) as gh:
        where = {"owner": "acme", "repo": "widgets"}
        pulls = paginate(gh, gh.rest.pulls.list, **where, state="all")
        assert sorted(pr["number"] for pr in pulls) == sorted(truth)
        for pr in pulls:
            expected = truth[pr["number"]]
            assert (pr["id"], pr["node_id"], pr["title"], pr["draft"]) == (
                expected["id"],
                expected["node_id"],
                expected["title"],
                expected["draft"],
            )
            one = {**where, "pull_number": pr["number"]}
            assert ids(paginate(gh, gh.rest.pulls.list_reviews, **one)) == ids(expected["reviews"])
            assert ids(paginate(gh, gh.rest.pulls.list_review_comments, **one)) == ids(
                expected["review_comments"]
            )
            issue_comments = paginate(gh, gh.rest.issues.list_comments, **where, issue_number=pr["number"])
            assert ids(issue_comments) == ids(expected["issue_comments"])
            files = paginate(gh, gh.rest.pulls.list_files, **one)
            assert [f["filename"] for f in files] == [f["filename"] for f in expected["files"]]
        # The repository-wide listings hold the same comments as the per-PR ones.
        every_review_comment = paginate(gh, gh.rest.pulls.list_review_comments_for_repo, **where)
        every_issue_comment = paginate(gh, gh.rest.issues.list_comments_for_repo, **where)
        assert ids(every_review_comment) == sorted(
            c["id"] for pr in truth.values() for c in pr["review_comments"]
        )
        assert ids(every_issue_comment) == sorted(
            c["id"] for pr in truth.values() for c in pr["issue_comments"]
        )
        single = gh.rest.pulls.get(**where, pull_number=pulls[0]["number"]).parsed_data
        assert single.commits == len(truth[pulls[0]["number"]]["commits"])


def githubkit_issue(issue: dict[str, Any]) -> tuple[Any, ...]:
    return (
        issue["number"],
        issue["title"],
        issue["body"],
        issue["state"],
        issue["user"]["login"],
        issue["comments"],
        issue["created_at"],
        issue["closed_at"],
        issue["url"],
        issue["html_url"],
        issue["pull_request"]["url"],
    )


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
def test_githubkit_reads_the_issues_listing_and_search(
    server: SimulatorServer, truth: dict[int, dict[str, Any]], prefix: str
) -> None:
    def rebased(fields: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            f.replace(server.url + prefix + "/", server.url + "/") if isinstance(f, str) else f
            for f in fields
        )

    with GitHub(f"githubkit-issues{prefix}", base_url=server.url + prefix, auto_retry=False) as gh:
        issues = paginate(gh, gh.rest.issues.list_for_repo, owner="acme", repo="widgets", state="all")
        q = "repo:acme/widgets is:pr"
        first = gh.rest.search.issues_and_pull_requests(q=q, per_page=10).parsed_data
        found = [
            item.model_dump(mode="json")
            for item in gh.rest.paginate(
                gh.rest.search.issues_and_pull_requests,
                map_func=lambda r: r.parsed_data.items,
                q=q,
                per_page=10,
            )
        ]

    assert [i["number"] for i in issues] == newest_first(truth)
    assert len({i["id"] for i in issues}) == len(issues)
    assert not {i["id"] for i in issues} & {pr["id"] for pr in truth.values()}
    assert [rebased(githubkit_issue(i)) for i in issues] == [as_issue(truth[i["number"]]) for i in issues]
    assert (first.total_count, first.incomplete_results, len(first.items)) == (len(truth), False, 10)
    assert sorted((i["number"], i["id"]) for i in found) == sorted((i["number"], i["id"]) for i in issues)
    assert [rebased(githubkit_issue(i)) for i in found] == [as_issue(truth[i["number"]]) for i in found]


QUERY = """query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: 10, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id number title isDraft fullDatabaseId
        author { login }
        reviews(first: 100) { totalCount nodes { id fullDatabaseId state } }
        comments(first: 100) { totalCount nodes { id fullDatabaseId } }
        files(first: 100) { totalCount nodes { path changeType } }
        commits(first: 1) { totalCount }
      }
    }
  }
  rateLimit { cost remaining }
}"""


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
def test_githubkit_graphql_reads_the_same_pull_requests(
    server: SimulatorServer, truth: dict[int, dict[str, Any]], prefix: str
) -> None:
    with GitHub(f"githubkit-graphql{prefix}", base_url=server.url + prefix, auto_retry=False) as gh:
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            data = gh.graphql(QUERY, {"owner": "acme", "name": "widgets", "after": after})
            page = data["repository"]["pullRequests"]
            nodes += page["nodes"]
            assert data["rateLimit"]["cost"] >= 1
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]

    assert [n["number"] for n in nodes] == sorted(truth)
    for node in nodes:
        expected = truth[node["number"]]
        assert (node["id"], int(node["fullDatabaseId"]), node["title"], node["isDraft"]) == (
            expected["node_id"],
            expected["id"],
            expected["title"],
            expected["draft"],
        )
        author = (
            expected["user"]["login"].removesuffix("[bot]") if expected["user"]["login"] != "ghost" else None
        )
        assert (node["author"] or {}).get(
            "login"
        ) == author  # GraphQL shows bots without [bot], the ghost as null
        for key, kind in (("reviews", "reviews"), ("comments", "issue_comments")):
            assert node[key]["totalCount"] == len(expected[kind])
            assert [n["id"] for n in node[key]["nodes"]] == [x["node_id"] for x in expected[kind]][:100]
            assert [int(n["fullDatabaseId"]) for n in node[key]["nodes"]] == [
                x["id"] for x in expected[kind]
            ][:100]
        assert node["files"]["totalCount"] == len(expected["files"])
        assert [f["path"] for f in node["files"]["nodes"]] == [f["filename"] for f in expected["files"]][:100]
        assert node["commits"]["totalCount"] == len(expected["commits"])


def test_pygithub_sees_rate_limits_as_githubs(make_simulator: Start) -> None:
    from ghcapture.simulator.app import SimulatorConfig
    from ghcapture.simulator.limits import LimitSettings

    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(limits=LimitSettings(rest_budget=2)))
    client = github.Github(
        base_url=server.url, auth=github.Auth.Token("x"), retry=None, seconds_between_requests=None
    )
    repo = client.get_repo("acme/widgets")
    repo.get_pull(1)

    with pytest.raises(github.RateLimitExceededException):
        repo.get_pull(2)
