"""What generated pull requests carry besides their lists, served alike by REST, GraphQL and the ground truth:
file lists over the 3,000 cap, files without a patch, review threads, pending reviews, labels, assignees,
review requests, milestones, author associations and forks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.generator import FILE_CAP, Shape, generate_repository
from ghcapture.simulator.model import PullRequest, Repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World

R = "/repos/acme/widgets"
DETAILS = """query($number: Int!) {
 repository(owner: "acme", name: "widgets") { pullRequest(number: $number) {
  authorAssociation changedFiles isCrossRepository
  headRepository { nameWithOwner isFork } headRepositoryOwner { login }
  files(first: 1) { totalCount }
  labels(first: 10) { nodes { name color } }
  assignees(first: 10) { nodes { login } }
  reviewRequests(first: 10) { nodes { requestedReviewer { ... on User { login } } } }
  milestone { number title state }
  reviews(first: 100) { totalCount nodes { fullDatabaseId state authorAssociation } }
  comments(first: 100) { nodes { fullDatabaseId authorAssociation } }
  reviewThreads(first: 100) { nodes { isResolved isOutdated subjectType diffSide line startLine
    resolvedBy { login } comments(first: 1) { nodes { fullDatabaseId } } } }
} } }"""
# Forty ordinary PRs and a few giants, one of them over the 3,000-file cap (the generator is deterministic).
SEED, PRS, SHAPE = 7, 40, Shape(tail_rate=60)


@pytest.fixture(scope="module")
def world() -> World:
    world = World()
    world.add_repository(generate_repository("acme", "widgets", PRS, seed=SEED, shape=SHAPE))
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimulatorServer]:
    reviewers = {f"token-{u.login}": u.login for u in world.users_by_id.values()}
    started = SimulatorServer(Simulator(world, SimulatorConfig(token_users=reviewers))).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def repo(world: World) -> Repository:
    found = world.repository("acme", "widgets")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def truth(server: SimulatorServer) -> dict[int, dict[str, Any]]:
    body = httpx.get(f"{server.url}/_simulator/truth/acme/widgets", timeout=60).json()
    return {p["number"]: p for p in body["repositories"][0]["pull_requests"]}


def client(server: SimulatorServer, token: str = "t") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"token {token}"}, timeout=60)


def listed(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url: str | None = path
    params: dict[str, Any] | None = {"per_page": 100}
    while url:
        answer = http.get(url, params=params)
        assert answer.status_code == 200, answer.text
        items += answer.json()
        url, params = answer.links.get("next", {}).get("url"), None
    return items


def details(http: httpx.Client, number: int) -> dict[str, Any]:
    answer = http.post("/graphql", json={"query": DETAILS, "variables": {"number": number}}).json()
    assert "errors" not in answer, answer
    return answer["data"]["repository"]["pullRequest"]  # type: ignore[no-any-return]


def test_a_pull_request_over_the_file_cap_lists_3000_files_and_counts_them_all(
    server: SimulatorServer, repo: Repository, truth: dict[int, dict[str, Any]]
) -> None:
    over = [p for p in repo.pull_requests if p.changed_files > FILE_CAP]
    assert over, "the chosen seed and shape give a pull request over the cap"
    http = client(server)
    pr = over[0]
    files = listed(http, f"{R}/pulls/{pr.number}/files")
    node = details(http, pr.number)
    assert len(files) == FILE_CAP == node["files"]["totalCount"] == len(truth[pr.number]["files"])
    assert http.get(f"{R}/pulls/{pr.number}").json()["changed_files"] == pr.changed_files
    assert node["changedFiles"] == truth[pr.number]["changed_files"] == pr.changed_files > FILE_CAP


def test_binary_and_oversized_files_have_no_patch(
    server: SimulatorServer, repo: Repository, truth: dict[int, dict[str, Any]]
) -> None:
    http = client(server)
    without = {(p.number, f.filename) for p in repo.pull_requests for f in p.files if not f.has_patch}
    ordinary = [p for p in repo.pull_requests if p.changed_files <= FILE_CAP]
    numbers = {n for n, _ in without if any(p.number == n for p in ordinary)}
    assert numbers, "some generated files are binary or oversized"
    for number in sorted(numbers):
        served = {f["filename"]: f for f in listed(http, f"{R}/pulls/{number}/files")}
        recorded = {f["filename"]: f for f in truth[number]["files"]}
        for name, f in served.items():
            assert ("patch" not in f) == ((number, name) in without) == ("patch" not in recorded[name])
            if "patch" not in f and f["additions"] == f["deletions"] == 0:
                assert f["changes"] == 0  # binary


def test_pending_reviews_are_seen_by_their_author_only(
    server: SimulatorServer, repo: Repository, truth: dict[int, dict[str, Any]]
) -> None:
    pending = [(p, r) for p in repo.pull_requests for r in p.reviews if r.state == "PENDING"]
    assert pending, "some open pull requests have a review begun and not submitted"
    pr, review = pending[0]
    others, author = client(server), client(server, f"token-{review.user.login}")
    path = f"{R}/pulls/{pr.number}/reviews"

    seen_by_others = {r["id"] for r in listed(others, path)}
    seen_by_author = {r["id"]: r for r in listed(author, path)}
    lookup = others.post(
        "/graphql",
        json={"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": review.node_id}},
    ).json()

    assert review.id not in seen_by_others and review.id in seen_by_author
    assert seen_by_author[review.id]["state"] == "PENDING" and "submitted_at" not in seen_by_author[review.id]
    assert others.get(f"{path}/{review.id}").status_code == 404
    assert author.get(f"{path}/{review.id}").status_code == 200
    assert review.id not in {r["id"] for r in truth[pr.number]["reviews"]}
    assert details(others, pr.number)["reviews"]["totalCount"] == len(truth[pr.number]["reviews"])
    assert lookup["data"]["node"] is None and lookup["errors"][0]["type"] == "NOT_FOUND"


def _threads_of(pr: PullRequest) -> list[Any]:
    return [c for c in pr.review_comments if c.in_reply_to_id is None]


def test_review_threads_resolved_multi_line_file_level_and_left_side_agree_everywhere(
    server: SimulatorServer, repo: Repository, truth: dict[int, dict[str, Any]]
) -> None:
    http = client(server)
    roots = [(p, c) for p in repo.pull_requests for c in _threads_of(p)]
    kinds = {
        "resolved": [x for x in roots if x[1].resolved_by is not None],
        "unresolved": [x for x in roots if x[1].resolved_by is None],
        "multi-line": [x for x in roots if x[1].original_start_line is not None],
        "file": [x for x in roots if x[1].subject_type == "file"],
        "left": [x for x in roots if x[1].side == "LEFT"],
    }
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}
    checked = {pr.number for found in kinds.values() for pr, _c in found[:2]}
    for number in sorted(checked):
        rest = {c["id"]: c for c in listed(http, f"{R}/pulls/{number}/comments")}
        threads = details(http, number)["reviewThreads"]["nodes"]
        # The ground truth carries the threads GraphQL shows (REST has none).
        assert [
            (
                t["comments"][0],
                t["is_resolved"],
                (t["resolved_by"] or {}).get("login"),
                t["subject_type"].upper(),
            )
            for t in truth[number]["review_threads"][:100]
        ] == [
            (
                int(t["comments"]["nodes"][0]["fullDatabaseId"]),
                t["isResolved"],
                (t["resolvedBy"] or {}).get("login"),
                t["subjectType"],
            )
            for t in threads
        ]
        for thread in threads:
            root = rest[int(thread["comments"]["nodes"][0]["fullDatabaseId"])]
            model = next(c for c in repo.pull_request(number).review_comments if c.id == root["id"])  # type: ignore[union-attr]
            assert thread["isResolved"] == (model.resolved_by is not None)
            assert (thread["resolvedBy"] or {}).get("login") == (
                model.resolved_by and model.resolved_by.login
            )
            assert thread["subjectType"] == root["subject_type"].upper()
            assert thread["diffSide"] == root["side"]
            assert thread["line"] == root["line"] and thread["startLine"] == root["start_line"]
            # A file-level thread has no line and is not outdated for it.
            assert thread["isOutdated"] == (root["line"] is None and root["subject_type"] == "line")
            if root["subject_type"] == "file":
                assert root["line"] is None and root["position"] is None and root["original_line"] == 1
            if root["original_start_line"] is not None:
                assert root["original_start_line"] < root["original_line"]


def test_labels_assignees_review_requests_and_milestones_agree_everywhere(
    server: SimulatorServer, repo: Repository, truth: dict[int, dict[str, Any]]
) -> None:
    http = client(server)
    kinds = {
        "labels": [p for p in repo.pull_requests if p.labels],
        "assignees": [p for p in repo.pull_requests if p.assignees],
        "requested": [p for p in repo.pull_requests if p.requested_reviewers],
        "milestone": [p for p in repo.pull_requests if p.milestone],
    }
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}
    for number in sorted({p.number for found in kinds.values() for p in found[:3]}):
        rest, want, node = http.get(f"{R}/pulls/{number}").json(), truth[number], details(http, number)
        issue = http.get(f"{R}/issues/{number}").json()
        requested = http.get(f"{R}/pulls/{number}/requested_reviewers").json()
        labels = [(x["name"], x["color"]) for x in want["labels"]]
        assert (
            [(x["name"], x["color"]) for x in rest["labels"]]
            == labels
            == [(x["name"], x["color"]) for x in node["labels"]["nodes"]]
        )
        assert [(x["name"], x["color"]) for x in issue["labels"]] == labels
        logins = [u["login"] for u in want["assignees"]]
        assert (
            [u["login"] for u in rest["assignees"]]
            == logins
            == [u["login"] for u in node["assignees"]["nodes"]]
        )
        assert (rest["assignee"] or {}).get("login") == (logins[0] if logins else None)
        asked = [u["login"] for u in want["requested_reviewers"]]
        assert (
            [u["login"] for u in requested["users"]]
            == asked
            == [r["requestedReviewer"]["login"] for r in node["reviewRequests"]["nodes"]]
        )
        assert not set(asked) & {r["user"]["login"] for r in want["reviews"]}  # asked, not yet answered
        milestone = want["milestone"]
        assert (rest["milestone"] or {}).get("number") == (milestone or {}).get("number")
        assert (node["milestone"] or {}).get("number") == (milestone or {}).get("number")
        if milestone:
            assert node["milestone"]["state"] == milestone["state"].upper()


def test_author_associations_vary_and_agree_between_rest_and_graphql(
    server: SimulatorServer, truth: dict[int, dict[str, Any]]
) -> None:
    http = client(server)
    seen = {p["author_association"] for p in truth.values()}
    seen |= {c["author_association"] for p in truth.values() for c in p["issue_comments"]}
    assert {"MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE"} <= seen
    assert seen & {"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"}
    for number in sorted(truth)[:12]:
        want, node = truth[number], details(http, number)
        assert node["authorAssociation"] == want["author_association"]
        assert {c["fullDatabaseId"]: c["authorAssociation"] for c in node["comments"]["nodes"]} == {
            str(c["id"]): c["author_association"] for c in want["issue_comments"][:100]
        }
        assert {r["fullDatabaseId"]: r["authorAssociation"] for r in node["reviews"]["nodes"]} == {
            str(r["id"]): r["author_association"] for r in want["reviews"][:100]
        }


def test_heads_in_forks_and_in_deleted_forks(
    server: SimulatorServer, repo: Repository, truth: dict[int, dict[str, Any]]
) -> None:
    http = client(server)
    forks = [p for p in repo.pull_requests if p.head_fork is not None]
    gone = [p for p in repo.pull_requests if p.head_repo_deleted]
    same = [p for p in repo.pull_requests if not p.cross_repository]
    assert forks and gone and same
    for pr in forks[:3]:
        head, node = truth[pr.number]["head"], details(http, pr.number)
        fork = f"{pr.user.login}/widgets"
        assert head["repo"]["full_name"] == fork and head["repo"]["fork"] is True
        assert head["label"] == f"{pr.user.login}:{pr.head_ref}" and head["user"]["login"] == pr.user.login
        assert node["isCrossRepository"] and node["headRepository"] == {"nameWithOwner": fork, "isFork": True}
        assert truth[pr.number]["author_association"] not in ("MEMBER", "COLLABORATOR")
    for pr in gone[:3]:
        head, node = truth[pr.number]["head"], details(http, pr.number)
        assert head["repo"] is None and head["user"] is None and head["label"] is None
        assert node["isCrossRepository"] and node["headRepository"] is None
    for pr in same[:3]:
        node = details(http, pr.number)
        assert (
            truth[pr.number]["head"]["repo"]["full_name"] == "acme/widgets" and not node["isCrossRepository"]
        )
