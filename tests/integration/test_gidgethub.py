"""gidgethub (async, over httpx) reads the simulator unchanged and gets the ground truth.

`getiter` follows `Link: <...>; rel="next"` and unwraps a search answer's `items`; `graphql()` posts to the
endpoint it is given. Every list read must be exactly the simulator's own record: the same objects, each
once, in GitHub's order.
"""

# ruff: noqa: F811
from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import gidgethub
import httpx
import pytest
from gidgethub.httpx import GitHubAPI

from ghcapture.simulator.server import SimulatorServer
# The shared fixtures are imported by name; the tests' parameters of the same names are those fixtures.
from real_clients_support import LIST_KEYS, REST_COMMIT_CAP, prefix, server, truth  # noqa: F401

R = "/repos/acme/widgets"




def rebased(value: Any, base: str, root: str) -> Any:
    """`value` with URLs under `base` (e.g. .../api/v3) spelt under `root`, as the ground truth has them."""
    if isinstance(value, str):
        return root + value[len(base) :] if value.startswith(base + "/") else value
    if isinstance(value, list):
        return [rebased(v, base, root) for v in value]
    if isinstance(value, dict):
        return {k: rebased(v, base, root) for k, v in value.items()}
    return value


PULLS_QUERY = """query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: 25, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id number title fullDatabaseId
        reviews(first: 100) {
          totalCount pageInfo { hasNextPage endCursor } nodes { id fullDatabaseId state }
        }
        comments(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { id fullDatabaseId } }
        files(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { path changeType } }
        commits(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { commit { oid } } }
      }
    }
  }
}"""

# One more page of one list of one pull request, reached through repository.pullRequest(number:).
MORE_QUERY = """query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      %s(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { %s } }
    }
  }
}"""
MORE_FIELDS = {
    "reviews": "id fullDatabaseId state",
    "comments": "id fullDatabaseId",
    "files": "path changeType",
    "commits": "commit { oid }",
}


async def read_everything(base: str, token: str) -> dict[str, Any]:
    """Everything gidgethub reads of acme/widgets: the REST listings and the GraphQL pages."""
    async with httpx.AsyncClient(timeout=60) as http:
        gh = GitHubAPI(http, "ghcapture-gidgethub-check", oauth_token=token, base_url=base)

        async def every(url: str, **url_vars: Any) -> list[dict[str, Any]]:
            return [item async for item in gh.getiter(url, url_vars)]

        out: dict[str, Any] = {}
        out["pulls"] = await every(R + "/pulls{?state,per_page}", state="all", per_page=100)
        out["per_pull"] = {}
        for pull in out["pulls"]:
            n = pull["number"]
            out["per_pull"][n] = {
                "reviews": await every(R + "/pulls/{n}/reviews{?per_page}", n=n, per_page=100),
                "review_comments": await every(R + "/pulls/{n}/comments{?per_page}", n=n, per_page=100),
                "issue_comments": await every(R + "/issues/{n}/comments{?per_page}", n=n, per_page=100),
                "files": await every(R + "/pulls/{n}/files{?per_page}", n=n, per_page=100),
                "commits": await every(R + "/pulls/{n}/commits", n=n),  # 30 a page: more Link headers
            }
        out["single_pull"] = await gh.getitem(R + "/pulls/{n}", {"n": max(out["per_pull"])})
        out["repo_review_comments"] = await every(R + "/pulls/comments{?per_page}", per_page=100)
        out["repo_issue_comments"] = await every(R + "/issues/comments{?per_page}", per_page=100)
        out["rate_limit"] = gh.rate_limit
        return out


async def read_issues(base: str, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        gh = GitHubAPI(http, "ghcapture-gidgethub-check", oauth_token=token, base_url=base)
        issues = [
            i async for i in gh.getiter(R + "/issues{?state,per_page}", {"state": "all", "per_page": 7})
        ]
        one = await gh.getitem(R + "/issues/{n}", {"n": issues[-1]["number"]})
        q = "repo:acme/widgets is:pr"
        first = await gh.getitem("/search/issues{?q,per_page}", {"q": q, "per_page": 10})
        # getiter unwraps `items` from each search page and follows search's Link headers.
        found = [i async for i in gh.getiter("/search/issues{?q,per_page}", {"q": q, "per_page": 10})]
        return {"issues": issues, "single_issue": one, "search_first": first, "search": found}


async def read_graphql(base: str, token: str, endpoint: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        gh = GitHubAPI(http, "ghcapture-gidgethub-check", oauth_token=token, base_url=base)
        where = {"owner": "acme", "name": "widgets"}
        nodes: list[dict[str, Any]] = []
        after = None
        total = None
        while True:
            data = await gh.graphql(PULLS_QUERY, endpoint=endpoint, after=after, **where)
            page = data["repository"]["pullRequests"]
            total = page["totalCount"]
            nodes += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        for node in nodes:
            for field, fields in MORE_FIELDS.items():
                connection = node[field]
                while connection["pageInfo"]["hasNextPage"]:
                    data = await gh.graphql(
                        MORE_QUERY % (field, fields),
                        endpoint=endpoint,
                        number=node["number"],
                        after=connection["pageInfo"]["endCursor"],
                        **where,
                    )
                    more = data["repository"]["pullRequest"][field]
                    connection["nodes"] += more["nodes"]
                    connection["pageInfo"] = more["pageInfo"]
        return {"totalCount": total, "nodes": nodes, "rate_limit": gh.rate_limit}


@pytest.fixture(scope="module")
def read(server: SimulatorServer, prefix: str) -> dict[str, Any]:
    base = server.url + prefix
    got = asyncio.run(read_everything(base, f"gidgethub{prefix}"))
    return rebased(got, base, server.url)  # type: ignore[no-any-return]


def in_rest_order(pr: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """One list of a PR's record as GitHub's REST API lists it by default: comments by ascending id,
    reviews as submitted, files as the diff has them, the first 250 commits oldest first."""
    if kind in ("review_comments", "issue_comments"):
        return sorted(pr[kind], key=lambda c: c["id"])
    return pr[kind][:REST_COMMIT_CAP] if kind == "commits" else list(pr[kind])


def assert_commit_parents(commits: list[dict[str, Any]], pr: dict[str, Any], what: str) -> None:
    """A PR's commits form one line from its base: each commit's parent is the one before it. (The ground
    truth's dump leaves `parents` empty, so they are checked here rather than compared with it.)"""
    before = [pr["base"]["sha"]] + [c["sha"] for c in pr["commits"]]
    assert [[p["sha"] for p in c["parents"]] for c in commits] == [[sha] for sha in before[: len(commits)]], (
        what
    )


def same_objects(got: list[dict[str, Any]], expected: list[dict[str, Any]], key: str, what: str) -> None:
    """The same objects in the same order, each once, and every field both sides have equal."""
    assert [g[key] for g in got] == [e[key] for e in expected], what
    assert len({g[key] for g in got}) == len(got), f"{what}: duplicates"
    for g, e in zip(got, expected, strict=True):
        shared = g.keys() & e.keys() - {*LIST_KEYS, "parents"}
        differ = {k: (g[k], e[k]) for k in shared if g[k] != e[k]}
        assert not differ, f"{what} {g[key]}: {differ}"


def test_pull_requests_and_their_lists(read: dict[str, Any], truth: dict[int, dict[str, Any]]) -> None:
    # GitHub lists pull requests newest first by default.
    newest_first = sorted(truth.values(), key=lambda p: p["created_at"], reverse=True)
    same_objects(read["pulls"], newest_first, "number", "pulls")
    assert set(read["per_pull"]) == set(truth)
    for number, lists in read["per_pull"].items():
        pr = truth[number]
        for kind, key in (("reviews", "id"), ("review_comments", "id"), ("issue_comments", "id")):
            same_objects(lists[kind], in_rest_order(pr, kind), key, f"#{number} {kind}")
        same_objects(lists["files"], in_rest_order(pr, "files"), "filename", f"#{number} files")
        same_objects(lists["commits"], in_rest_order(pr, "commits"), "sha", f"#{number} commits")
        assert_commit_parents(lists["commits"], pr, f"#{number} commits")

    single = read["single_pull"]
    whole = truth[single["number"]]
    same_objects([single], [whole], "id", "single pull")
    assert (single["commits"], single["review_comments"], single["comments"], single["changed_files"]) == (
        len(whole["commits"]),
        len(whole["review_comments"]),
        len(whole["issue_comments"]),
        len(whole["files"]),
    )
    assert read["rate_limit"].limit == 5000 and read["rate_limit"].remaining < 5000


def test_repository_wide_comment_listings(read: dict[str, Any], truth: dict[int, dict[str, Any]]) -> None:
    for section, kind in (
        ("repo_review_comments", "review_comments"),
        ("repo_issue_comments", "issue_comments"),
    ):
        # GitHub's default order for both: ascending id.
        expected = sorted((c for pr in truth.values() for c in pr[kind]), key=lambda c: c["id"])
        same_objects(read[section], expected, "id", section)


def issue_of(pr: dict[str, Any]) -> dict[str, Any]:
    """The fields of the issue GitHub keeps for a pull request that its pull object already tells."""
    keys = ("number", "title", "body", "state", "locked", "user", "labels", "assignee", "assignees")
    keys += ("milestone", "created_at", "updated_at", "closed_at", "author_association", "comments_url")
    keys += ("html_url", "draft")
    return {
        **{k: pr[k] for k in keys},
        "url": pr["issue_url"],
        "comments": len(pr["issue_comments"]),
        "pull_request": {
            "url": pr["url"],
            "html_url": pr["html_url"],
            "diff_url": pr["diff_url"],
            "patch_url": pr["patch_url"],
            "merged_at": pr["merged_at"],
        },
    }


def assert_issues_are_the_pull_requests(
    issues: list[dict[str, Any]], truth: dict[int, dict[str, Any]], what: str
) -> None:
    assert sorted(i["number"] for i in issues) == sorted(truth), what
    assert len({i["id"] for i in issues}) == len(issues), f"{what}: duplicate ids"
    assert not {i["id"] for i in issues} & {pr["id"] for pr in truth.values()}, (
        "an issue's id is not its PR's"
    )
    for issue in issues:
        expected = issue_of(truth[issue["number"]])
        differ = {k: (issue.get(k), v) for k, v in expected.items() if issue.get(k) != v}
        assert not differ, f"{what} #{issue['number']}: {differ}"


def test_issues_listing_and_search(
    server: SimulatorServer, truth: dict[int, dict[str, Any]], prefix: str
) -> None:
    base = server.url + prefix
    got = rebased(asyncio.run(read_issues(base, f"gidgethub-issues{prefix}")), base, server.url)

    issues = got["issues"]
    assert_issues_are_the_pull_requests(issues, truth, "issues")
    newest_first = sorted(truth.values(), key=lambda p: p["created_at"], reverse=True)
    assert [i["number"] for i in issues] == [p["number"] for p in newest_first]
    # The single issue may tell more (closed_by); what both tell is the same.
    assert {k: v for k, v in got["single_issue"].items() if k in issues[-1]} == issues[-1]

    first = got["search_first"]
    assert (first["total_count"], first["incomplete_results"], len(first["items"])) == (len(truth), False, 10)
    assert_issues_are_the_pull_requests(got["search"], truth, "search")
    by_number = {i["number"]: i for i in issues}
    for item in got["search"]:
        assert {k: v for k, v in item.items() if k != "score"} == by_number[item["number"]]


def test_conditional_requests_and_errors_reach_gidgethub_as_githubs(
    server: SimulatorServer, prefix: str
) -> None:
    token = f"gidgethub-etag{prefix}"

    async def remaining(http: httpx.AsyncClient) -> int:
        # Asked of /rate_limit beside gidgethub, whose own count goes down by one for every request it sends.
        answer = await http.get(f"{server.url}/rate_limit", headers={"authorization": f"token {token}"})
        return int(answer.json()["resources"]["core"]["remaining"])

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as http:
            cache: dict[str, Any] = {}
            gh = GitHubAPI(
                http,
                "ghcapture-gidgethub-check",
                oauth_token=token,
                cache=cache,
                base_url=server.url + prefix,
            )
            first = await gh.getitem(R + "/pulls/1")
            spent = await remaining(http)
            # gidgethub keeps the ETag and Last-Modified and asks again with If-None-Match: GitHub answers
            # 304, which costs nothing, and gidgethub serves what it kept.
            again = await gh.getitem(R + "/pulls/1")
            unchanged = await remaining(http)
            with pytest.raises(gidgethub.BadRequest) as missing:
                await gh.getitem(R + "/pulls/999999")
            with pytest.raises(gidgethub.QueryError) as query_error:
                await gh.graphql('{ repository(owner: "acme", name: "nope") { id } }', endpoint=endpoint)
            return {
                "cached": list(cache),
                "first": first,
                "again": again,
                "spent": spent,
                "unchanged": unchanged,
                "missing": missing.value,
                "query_error": query_error.value,
            }

    endpoint = server.url + ("/api/graphql" if prefix else "/graphql")
    before = httpx.get(f"{server.url}/_simulator/stats").json()
    got = asyncio.run(run())
    after = httpx.get(f"{server.url}/_simulator/stats").json()

    assert got["again"] == got["first"] and got["cached"]
    assert got["unchanged"] == got["spent"]
    assert after["not_modified"] == before["not_modified"] + 1
    assert (got["missing"].status_code, str(got["missing"])) == (HTTPStatus.NOT_FOUND, "Not Found")
    assert got["query_error"].response["errors"][0]["type"] == "NOT_FOUND"
    assert str(got["query_error"]) == "Could not resolve to a Repository with the name 'acme/nope'."


def test_graphql_pages_with_cursors(
    server: SimulatorServer, truth: dict[int, dict[str, Any]], prefix: str
) -> None:
    # GitHub Enterprise Server answers GraphQL at /api/graphql, beside /api/v3.
    endpoint = server.url + ("/api/graphql" if prefix else "/graphql")
    got = asyncio.run(read_graphql(server.url + prefix, f"gidgethub-graphql{prefix}", endpoint))

    assert got["totalCount"] == len(truth)
    assert got["rate_limit"].limit == 5000 and got["rate_limit"].remaining < 5000
    # GraphQL's default order: oldest first.
    assert [n["number"] for n in got["nodes"]] == [
        p["number"] for p in sorted(truth.values(), key=lambda p: p["created_at"])
    ]
    for node in got["nodes"]:
        pr = truth[node["number"]]
        assert (node["id"], int(node["fullDatabaseId"]), node["title"]) == (
            pr["node_id"],
            pr["id"],
            pr["title"],
        )
        for field, kind in (("reviews", "reviews"), ("comments", "issue_comments")):
            assert node[field]["totalCount"] == len(pr[kind])
            assert [(n["id"], int(n["fullDatabaseId"])) for n in node[field]["nodes"]] == [
                (x["node_id"], x["id"]) for x in pr[kind]
            ], f"#{pr['number']} {field}"
        assert [r["state"] for r in node["reviews"]["nodes"]] == [r["state"] for r in pr["reviews"]]
        assert [f["path"] for f in node["files"]["nodes"]] == [f["filename"] for f in pr["files"]]
        assert node["commits"]["totalCount"] == len(pr["commits"])
        assert [c["commit"]["oid"] for c in node["commits"]["nodes"]] == [c["sha"] for c in pr["commits"]]
