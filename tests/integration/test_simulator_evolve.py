"""`POST /_simulator/evolve/{owner}/{repo}`: every kind of change leaves the REST and GraphQL answers equal to
the ground truth, stamped as GitHub stamps it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fixtures_simulator import REAL_PAYLOADS
from ghcapture.simulator.dataset import load_dataset, read_dataset
from ghcapture.simulator.evolve import COUNTED_KINDS
from ghcapture.simulator.generator import FILE_CAP, Shape
from ghcapture.simulator.model import GHOST_ID
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World

Start = Callable[..., SimulatorServer]
PR_QUERY = """query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) { pullRequest(number: $number) {
    number state isDraft updatedAt headRefOid changedFiles author { login }
    files(first: 100) { totalCount nodes { path } }
    commits(first: 100) { totalCount nodes { commit { oid } } }
    reviews(first: 100) { totalCount nodes { fullDatabaseId state author { login } } }
    comments(first: 100) { totalCount nodes { fullDatabaseId body updatedAt author { login } } }
    reviewThreads(first: 100) { nodes { comments(first: 100) { nodes {
      fullDatabaseId outdated position commit { oid } originalCommit { oid } author { login } } } } }
  } } }"""


def client(server: SimulatorServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": "token t1"}, timeout=60)


def evolve(http: httpx.Client, full_name: str, **changes: Any) -> dict[str, Any]:
    answer = http.post(f"/_simulator/evolve/{full_name}", json=changes)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def truth(http: httpx.Client, full_name: str) -> dict[int, dict[str, Any]]:
    repo = http.get(f"/_simulator/truth/{full_name}").json()["repositories"][0]
    return {p["number"]: p for p in repo["pull_requests"]}


def listed(http: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a REST listing, following its pages."""
    items: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = {"per_page": 100, **params}
    while url:
        answer = http.get(url, params=query)
        assert answer.status_code == 200, (url, answer.text)
        items += answer.json()
        url, query = answer.links.get("next", {}).get("url"), None
    return items


def graphql_pr(http: httpx.Client, full_name: str, number: int) -> dict[str, Any]:
    owner, name = full_name.split("/")
    answer = http.post(
        "/graphql", json={"query": PR_QUERY, "variables": {"owner": owner, "name": name, "number": number}}
    ).json()
    assert "errors" not in answer, answer
    return answer["data"]["repository"]["pullRequest"]  # type: ignore[no-any-return]


def login(user: dict[str, Any] | None) -> str | None:
    return None if user is None else user["login"]


def graphql_login(user: dict[str, Any]) -> str | None:
    # GraphQL's author of the ghost's objects is null; a bot's login has no "[bot]".
    if user["id"] == GHOST_ID:
        return None
    return str(user["login"]).removesuffix("[bot]")


def assert_surfaces_equal_truth(http: httpx.Client, full_name: str, numbers: set[int]) -> dict[int, Any]:
    """REST's repository-wide listings hold exactly the truth's objects; for each of `numbers`, REST's and
    GraphQL's pull request and its lists are the truth's."""
    prs = truth(http, full_name)
    listed_prs = {p["number"]: p for p in listed(http, f"/repos/{full_name}/pulls", state="all")}
    assert {n: p["updated_at"] for n, p in listed_prs.items()} == {n: p["updated_at"] for n, p in prs.items()}
    for kind, path in (("review_comments", "pulls/comments"), ("issue_comments", "issues/comments")):
        everywhere = {c["id"]: c["updated_at"] for c in listed(http, f"/repos/{full_name}/{path}")}
        assert everywhere == {c["id"]: c["updated_at"] for p in prs.values() for c in p[kind]}
    for number in sorted(numbers):
        want = prs[number]
        base = f"/repos/{full_name}/pulls/{number}"
        got = http.get(base).json()
        for key in (
            "state",
            "draft",
            "merged",
            "merged_at",
            "closed_at",
            "updated_at",
            "title",
            "body",
            "changed_files",
            "additions",
            "deletions",
            "comments",
        ):
            assert got[key] == want[key], (number, key)
        # In the dataset format `commits` and `review_comments` are the lists the REST counts count.
        assert (got["commits"], got["review_comments"]) == (
            len(want["commits"]),
            len(want["review_comments"]),
        )
        assert got["head"]["sha"] == want["head"]["sha"]
        assert login(got["user"]) == login(want["user"])
        assert [f["filename"] for f in listed(http, f"{base}/files")] == [
            f["filename"] for f in want["files"]
        ]
        assert [c["sha"] for c in listed(http, f"{base}/commits")] == [c["sha"] for c in want["commits"]][
            :250
        ]
        assert [(r["id"], r["state"], login(r["user"])) for r in listed(http, f"{base}/reviews")] == [
            (r["id"], r["state"], login(r["user"])) for r in want["reviews"]
        ]
        shape = ("id", "commit_id", "original_commit_id", "position", "line", "updated_at", "body")
        assert sorted(tuple(c[k] for k in shape) for c in listed(http, f"{base}/comments")) == sorted(
            tuple(c[k] for k in shape) for c in want["review_comments"]
        )
        # REST lists a PR's issue comments by ascending id.
        assert [
            (c["id"], login(c["user"])) for c in listed(http, f"/repos/{full_name}/issues/{number}/comments")
        ] == sorted((c["id"], login(c["user"])) for c in want["issue_comments"])
        node = graphql_pr(http, full_name, number)
        assert node["updatedAt"] == want["updated_at"] and node["headRefOid"] == want["head"]["sha"]
        assert node["state"] == ("MERGED" if want["merged"] else want["state"].upper())
        assert node["isDraft"] == want["draft"] and node["changedFiles"] == want["changed_files"]
        assert (node["author"] or {}).get("login") == graphql_login(want["user"])
        lists = {
            "files": [f["filename"] for f in want["files"]],
            "commits": [c["sha"] for c in want["commits"]],
            "reviews": [(str(r["id"]), r["state"], graphql_login(r["user"])) for r in want["reviews"]],
            "comments": [
                (str(c["id"]), c["body"], c["updated_at"], graphql_login(c["user"]))
                for c in want["issue_comments"]
            ],
        }
        shown = {
            "files": [f["path"] for f in node["files"]["nodes"]],
            "commits": [c["commit"]["oid"] for c in node["commits"]["nodes"]],
            "reviews": [
                (r["fullDatabaseId"], r["state"], (r["author"] or {}).get("login"))
                for r in node["reviews"]["nodes"]
            ],
            "comments": [
                (c["fullDatabaseId"], c["body"], c["updatedAt"], (c["author"] or {}).get("login"))
                for c in node["comments"]["nodes"]
            ],
        }
        for key, expected in lists.items():
            assert node[key]["totalCount"] == min(len(expected), 3000 if key == "files" else len(expected))
            if len(expected) <= 100:
                assert shown[key] == expected, (number, key)
        threaded = sorted(
            (
                c["fullDatabaseId"],
                c["outdated"],
                c["position"],
                c["commit"]["oid"],
                c["originalCommit"]["oid"],
                c["author"] and c["author"]["login"],
            )
            for t in node["reviewThreads"]["nodes"]
            for c in t["comments"]["nodes"]
        )
        if len(want["review_comments"]) <= 100:
            assert threaded == sorted(
                (
                    str(c["id"]),
                    c["line"] is None and c["subject_type"] == "line",  # a file comment has no line
                    c["position"],
                    c["commit_id"],
                    c["original_commit_id"],
                    graphql_login(c["user"]),
                )
                for c in want["review_comments"]
            )
    return prs


def numbers_in(answer: Any) -> set[int]:
    """The pull request numbers an evolve answer names, whatever the kind's shape."""
    if isinstance(answer, int):
        return {answer}
    if isinstance(answer, list):
        return set().union(*(numbers_in(x) for x in answer)) if answer else set()
    if isinstance(answer, dict) and "number" in answer:
        return {int(answer["number"])}
    return set()


@pytest.fixture
def widgets(make_simulator: Start) -> tuple[SimulatorServer, httpx.Client]:
    server = make_simulator({"acme/widgets": 24}, seed=5)
    return server, client(server)


@pytest.mark.parametrize("kind", [k for k in COUNTED_KINDS if k not in ("renamed_users", "deleted_users")])
def test_each_kind_of_change_is_served_alike_by_rest_graphql_and_truth(
    widgets: tuple[SimulatorServer, httpx.Client], kind: str
) -> None:
    _server, http = widgets
    before = truth(http, "acme/widgets")
    answer = evolve(http, "acme/widgets", **{kind: 3, "seed": 11})
    assert set(answer) == {"changed", "new", kind}
    changed = numbers_in(answer[kind])
    assert changed, answer  # every kind finds something to change in 24 generated pull requests
    after = assert_surfaces_equal_truth(http, "acme/widgets", changed)
    moved = {n for n in before if before[n]["updated_at"] != after[n]["updated_at"]}
    if kind == "edited_comments":  # GraphQL tells when a comment's body was last edited
        for edited in answer[kind]:
            listed_as = "issue_comments" if edited["kind"] == "issue_comment" else "review_comments"
            comment = next(c for c in after[edited["number"]][listed_as] if c["id"] == edited["id"])
            query = "query($id: ID!) { node(id: $id) { ... on Comment { lastEditedAt editor { login } } } }"
            node = http.post(
                "/graphql", json={"query": query, "variables": {"id": comment["node_id"]}}
            ).json()
            assert node["data"]["node"]["lastEditedAt"] == comment["updated_at"] != comment["created_at"]
    if kind in ("edited_comments", "deleted_issue_comments", "deleted_review_comments", "dismissed_reviews"):
        assert moved == set()  # the comment's or review's own change: the PR's updated_at stays
    elif kind != "new":
        assert moved == changed


def test_a_force_push_replaces_commits_and_files_and_outdates_review_comments(
    widgets: tuple[SimulatorServer, httpx.Client],
) -> None:
    _server, http = widgets
    before = truth(http, "acme/widgets")
    commented = [n for n, p in before.items() if p["state"] == "open" and p["review_comments"]]
    answer = evolve(http, "acme/widgets", force_pushes=len(before), seed=2)
    after = truth(http, "acme/widgets")
    assert set(commented) <= set(answer["force_pushes"])
    for number in answer["force_pushes"]:
        old, new = before[number], after[number]
        assert new["head"]["sha"] != old["head"]["sha"] == old["commits"][-1]["sha"]
        assert new["commits"][-1]["sha"] == new["head"]["sha"] and new["commits"] != old["commits"]
        assert {f["filename"] for f in new["files"]} != {f["filename"] for f in old["files"]}
        for comment in new["review_comments"]:
            assert comment["commit_id"] == new["head"]["sha"]
            assert comment["original_commit_id"] == next(
                c["original_commit_id"] for c in old["review_comments"] if c["id"] == comment["id"]
            )
            assert comment["updated_at"] == next(
                c["updated_at"] for c in old["review_comments"] if c["id"] == comment["id"]
            )
    outdated = [c for n in commented for c in after[n]["review_comments"] if c["position"] is None]
    assert outdated and all(c["line"] is None for c in outdated)
    assert_surfaces_equal_truth(http, "acme/widgets", set(commented[:5]))


def test_deleted_comments_vanish_from_every_listing_and_lookup(
    widgets: tuple[SimulatorServer, httpx.Client],
) -> None:
    _server, http = widgets
    answer = evolve(http, "acme/widgets", deleted_issue_comments=4, deleted_review_comments=4, seed=3)
    prs = truth(http, "acme/widgets")
    for kind, path in (("deleted_issue_comments", "issues"), ("deleted_review_comments", "pulls")):
        assert len(answer[kind]) == 4
        for gone in answer[kind]:
            assert http.get(f"/repos/acme/widgets/{path}/comments/{gone['id']}").status_code == 404
            held = prs[gone["number"]]["issue_comments" if path == "issues" else "review_comments"]
            assert gone["id"] not in {c["id"] for c in held}
    assert_surfaces_equal_truth(http, "acme/widgets", numbers_in(answer["deleted_review_comments"]))


def test_a_deleted_account_becomes_the_ghost_and_a_renamed_one_keeps_its_id(
    widgets: tuple[SimulatorServer, httpx.Client],
) -> None:
    _server, http = widgets
    before = truth(http, "acme/widgets")
    answer = evolve(http, "acme/widgets", renamed_users=2, deleted_users=2, seed=4)
    prs = truth(http, "acme/widgets")
    # An account's change moves no pull request's updated_at.
    assert {n: p["updated_at"] for n, p in prs.items()} == {n: p["updated_at"] for n, p in before.items()}
    people = {
        u["id"]: u["login"]
        for p in prs.values()
        for u in [
            p["user"],
            *(x["user"] for k in ("reviews", "review_comments", "issue_comments") for x in p[k]),
        ]
    }
    for gone in answer["deleted_users"]:
        assert gone["id"] not in people
        assert http.get(f"/users/{gone['login']}").status_code == 404
    for renamed in answer["renamed_users"]:
        assert people[renamed["id"]] == renamed["to"]
        assert http.get(f"/users/{renamed['to']}").json()["id"] == renamed["id"]
        assert http.get(f"/users/{renamed['from']}").status_code == 404
    assert GHOST_ID in people
    commits = [c for p in prs.values() for c in p["commits"]]
    assert all(
        (c["author"] or {}).get("id") not in {g["id"] for g in answer["deleted_users"]} for c in commits
    )
    ghostly = {n for n, p in prs.items() if p["user"]["id"] == GHOST_ID}
    assert_surfaces_equal_truth(http, "acme/widgets", set(list(ghostly)[:4]) | {1, 2, 3})


def test_a_renamed_repository_answers_301_on_its_old_name_and_truth_under_the_new(
    widgets: tuple[SimulatorServer, httpx.Client],
) -> None:
    _server, http = widgets
    answer = evolve(http, "acme/widgets", rename_repository="gadgets", closed=1)
    assert answer["rename_repository"]["to"] == "acme/gadgets"
    old = http.get("/repos/acme/widgets/pulls/1", follow_redirects=False)
    assert old.status_code == 301 and old.headers["location"].endswith(
        f"/repositories/{answer['rename_repository']['id']}/pulls/1"
    )
    assert http.get("/_simulator/truth/acme/gadgets").json()["repositories"][0]["name"] == "gadgets"
    assert_surfaces_equal_truth(http, "acme/gadgets", set(answer["closed"]))


def test_every_kind_at_once_and_again(widgets: tuple[SimulatorServer, httpx.Client]) -> None:
    _server, http = widgets
    for seed in (1, 2):
        answer = evolve(http, "acme/widgets", **{k: 2 for k in COUNTED_KINDS}, seed=seed)
        for kind in COUNTED_KINDS:
            assert answer[kind], kind
        assert_surfaces_equal_truth(
            http, "acme/widgets", set().union(*(numbers_in(answer[k]) for k in answer))
        )


@pytest.mark.parametrize(
    "body",
    [
        {"changed": -1},
        {"force_pushes": "3"},
        {"explode": 1},
        {"rename_repository": "a/b"},
        [1, 2],
        {"seed": 1.5},
    ],
)
def test_a_bad_evolve_request_is_refused_and_changes_nothing(
    widgets: tuple[SimulatorServer, httpx.Client], body: Any
) -> None:
    _server, http = widgets
    before = truth(http, "acme/widgets")
    answer = http.post("/_simulator/evolve/acme/widgets", json=body)
    assert answer.status_code == 422 and answer.json()["message"].startswith("bad evolve request")
    assert truth(http, "acme/widgets") == before


def test_recorded_payloads_follow_every_kind_of_change(make_simulator: Start) -> None:
    world = World()
    repos = load_dataset(read_dataset(REAL_PAYLOADS), world)
    http = client(make_simulator(world=world))
    for repo in sorted(repos, key=lambda r: len(r.pull_requests), reverse=True)[:3]:
        full_name = repo.full_name
        answer = evolve(http, full_name, **dict.fromkeys(COUNTED_KINDS, 1), seed=8)
        changed = set().union(*(numbers_in(answer[k]) for k in answer))
        assert changed, answer
        assert_surfaces_equal_truth(http, repo.full_name, changed)


def test_a_force_push_on_a_pull_request_over_the_file_cap_keeps_the_listing_at_3000(
    make_simulator: Start,
) -> None:
    server = make_simulator({"acme/widgets": 12}, seed=3, shape=Shape(tail_rate=200))
    http = client(server)
    before = truth(http, "acme/widgets")
    over = [n for n, p in before.items() if p["changed_files"] > FILE_CAP and p["state"] == "open"]
    assert over  # this seed and shape give an open pull request over the cap
    answer = evolve(http, "acme/widgets", force_pushes=len(before), seed=1)
    assert set(over) <= set(answer["force_pushes"])
    after = assert_surfaces_equal_truth(http, "acme/widgets", set(over))
    for number in over:
        assert len(after[number]["files"]) == FILE_CAP < after[number]["changed_files"]
        assert {f["filename"] for f in after[number]["files"]} != {
            f["filename"] for f in before[number]["files"]
        }


def test_new_pull_requests_after_account_changes_name_no_deleted_or_old_account(
    widgets: tuple[SimulatorServer, httpx.Client],
) -> None:
    _server, http = widgets
    accounts = evolve(http, "acme/widgets", renamed_users=3, deleted_users=3, seed=6)
    added = evolve(http, "acme/widgets", new=30, seed=6)["new"]
    prs = truth(http, "acme/widgets")
    gone = {a["id"] for a in accounts["deleted_users"]}
    old_logins = {a["from"] for a in accounts["renamed_users"]}
    for number in added:
        pr = prs[number]
        people = [
            pr["user"],
            pr["merged_by"],
            pr["head"]["user"],
            *pr["assignees"],
            *pr["requested_reviewers"],
        ]
        people += [x["user"] for k in ("reviews", "review_comments", "issue_comments") for x in pr[k]]
        people += [c["author"] for c in pr["commits"]] + [t["resolved_by"] for t in pr["review_threads"]]
        named = [p for p in people if p is not None]
        assert not {p["id"] for p in named} & gone and not {p["login"] for p in named} & old_logins
        assert pr["head"]["repo"] is None or pr["head"]["repo"]["name"] == "widgets"
    assert_surfaces_equal_truth(http, "acme/widgets", set(added[:5]))
