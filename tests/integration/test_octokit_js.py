"""octokit.js (`@octokit/rest` with its paginator, `@octokit/graphql`) reads the simulator unchanged.

tests/js/read_repository.mjs lists pull requests, reviews, review comments, issue comments, files and commits
(per PR and repository-wide), the issues listing, search, and the same pull requests through GraphQL with
cursors, and prints what it read as one JSON document. Every list must be exactly the simulator's ground
truth: the same objects, each once, in GitHub's order.

The npm packages are installed once (`npm ci`, pinned by tests/js/package-lock.json) into a cache folder
keyed by the lockfile's hash: `$GHCAPTURE_NODE_CACHE`, else `~/.cache/ghcapture/node`. Without node/npm, or
with the registry unreachable and nothing cached, the tests are skipped, saying why.
"""

# ruff: noqa: F811
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ghcapture.simulator.server import SimulatorServer
# The shared fixtures are imported by name; the tests' parameters of the same names are those fixtures.
from real_clients_support import LIST_KEYS, REST_COMMIT_CAP, prefix, server, truth  # noqa: F401

JS = Path(__file__).parents[1] / "js"
SCRIPT = "read_repository.mjs"
NPM_TIMEOUT_SECONDS = 300
NODE_TIMEOUT_SECONDS = 120


def node_cache() -> Path:
    configured = os.environ.get("GHCAPTURE_NODE_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ghcapture" / "node"


@pytest.fixture(scope="module")
def installed_client() -> Path:
    """A folder holding tests/js's script and its pinned node_modules, installed once per lockfile (a
    skip is remembered for the module, so an unreachable registry is waited for once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run octokit.js (not found on PATH)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        pytest.skip(f"@octokit/rest 22 needs node 20 or later, found {version}")
    lock = (JS / "package-lock.json").read_bytes()
    folder = node_cache() / f"octokit-js-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (folder / "node_modules" / "@octokit" / "rest" / "package.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".install-"))
        try:
            for name in ("package.json", "package-lock.json"):
                shutil.copy(JS / name, scratch / name)
            try:
                done = subprocess.run(
                    [npm, "ci", "--prefix", str(scratch), "--no-audit", "--no-fund", "--ignore-scripts"]
                    + ["--fetch-retry-maxtimeout=15000"],
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm ci took over {NPM_TIMEOUT_SECONDS} s (registry unreachable?)")
            if done.returncode != 0:
                lines = [line for line in done.stderr.splitlines() if "complete log" not in line]
                reason = next(
                    (line for line in lines if "error" in line), lines[-1] if lines else "no output"
                )
                pytest.skip(f"npm ci of tests/js failed (registry unreachable?): {reason}")
            scratch.chmod(0o755)
            try:
                scratch.rename(folder)  # whole, so no reader sees half an install
            except OSError:
                if not folder.is_dir():  # another run finished first; theirs is as good
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    # The script itself is not part of the key: copy the current one beside its node_modules.
    partial = folder / f".{SCRIPT}.{os.getpid()}"
    shutil.copy(JS / SCRIPT, partial)
    partial.replace(folder / SCRIPT)
    return folder




@pytest.fixture(scope="module")
def read(installed_client: Path, server: SimulatorServer, prefix: str) -> dict[str, Any]:
    """What octokit.js read, with the simulator's base URL as the truth spells it."""
    folder = installed_client
    base = server.url + prefix  # with /api/v3, octokit talks to a GitHub Enterprise Server
    done = subprocess.run(
        ["node", SCRIPT, base, "acme/widgets"],
        cwd=folder,
        env={**os.environ, "GITHUB_TOKEN": f"octokit-js{prefix}"},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    text = done.stdout
    if prefix:
        assert base in text
        text = text.replace(base + "/", server.url + "/")
    document: dict[str, Any] = json.loads(text)
    document["stderr"] = done.stderr
    return document


def listing(read: dict[str, Any], *path: str | int) -> Any:
    """One section of what the client read; a section whose request failed fails here with its error."""
    value: Any = read
    for key in path:
        value = value[str(key)] if isinstance(value, dict) else value[key]
    if isinstance(value, dict) and "error" in value:
        pytest.fail(f"octokit.js: {'/'.join(map(str, path))} failed: {json.dumps(value['error'])}")
    return value


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


def test_pull_requests_listing(read: dict[str, Any], truth: dict[int, dict[str, Any]]) -> None:
    pulls = listing(read, "pulls")
    # GitHub lists pull requests newest first by default.
    expected = sorted(truth.values(), key=lambda p: p["created_at"], reverse=True)
    same_objects(pulls, expected, "number", "pulls")
    assert all(set(p) >= {"id", "node_id", "user", "head", "base", "draft", "merged_at"} for p in pulls)

    single = listing(read, "single_pull")
    whole = truth[single["number"]]
    same_objects([single], [whole], "id", "single pull")
    assert (single["commits"], single["review_comments"], single["comments"], single["changed_files"]) == (
        len(whole["commits"]),
        len(whole["review_comments"]),
        len(whole["issue_comments"]),
        len(whole["files"]),
    )


@pytest.mark.parametrize("kind", ["reviews", "review_comments", "issue_comments", "files", "commits"])
def test_every_pull_requests_own_lists(
    read: dict[str, Any], truth: dict[int, dict[str, Any]], kind: str
) -> None:
    key = {"files": "filename", "commits": "sha"}.get(kind, "id")
    assert set(map(int, listing(read, "per_pull"))) == set(truth)
    for number, pr in truth.items():
        got = listing(read, "per_pull", number, kind)
        same_objects(got, in_rest_order(pr, kind), key, f"#{number} {kind}")
        if kind == "commits":
            assert_commit_parents(got, pr, f"#{number} commits")


def test_requested_reviewers(read: dict[str, Any], truth: dict[int, dict[str, Any]]) -> None:
    for number, pr in truth.items():
        got = listing(read, "per_pull", number, "requested_reviewers")
        assert got == {"users": pr["requested_reviewers"], "teams": pr["requested_teams"]}, f"#{number}"


def test_repository_wide_comment_listings(read: dict[str, Any], truth: dict[int, dict[str, Any]]) -> None:
    for section, kind in (
        ("repo_review_comments", "review_comments"),
        ("repo_issue_comments", "issue_comments"),
    ):
        got = listing(read, section)
        # GitHub's default order for both: ascending id.
        expected = sorted((c for pr in truth.values() for c in pr[kind]), key=lambda c: c["id"])
        same_objects(got["items"], expected, "id", section)
        assert got["pages"] == -(-len(expected) // 100)  # the iterator walked every page, once


def issue_of(pr: dict[str, Any]) -> dict[str, Any]:
    """The fields of the issue GitHub keeps for a pull request that its pull object already tells."""
    return {
        "number": pr["number"],
        "title": pr["title"],
        "body": pr["body"],
        "state": pr["state"],
        "locked": pr["locked"],
        "user": pr["user"],
        "labels": pr["labels"],
        "assignee": pr["assignee"],
        "assignees": pr["assignees"],
        "milestone": pr["milestone"],
        "created_at": pr["created_at"],
        "updated_at": pr["updated_at"],
        "closed_at": pr["closed_at"],
        "author_association": pr["author_association"],
        "url": pr["issue_url"],
        "comments_url": pr["comments_url"],
        "html_url": pr["html_url"],
        "comments": len(pr["issue_comments"]),
        "draft": pr["draft"],
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
        assert isinstance(issue["node_id"], str) and issue["node_id"].startswith("I_")


def test_issues_listing_holds_the_pull_requests(
    read: dict[str, Any], truth: dict[int, dict[str, Any]]
) -> None:
    issues = listing(read, "issues")
    assert_issues_are_the_pull_requests(issues, truth, "issues")
    # GitHub lists issues newest first by default.
    assert [i["number"] for i in issues] == [
        p["number"] for p in sorted(truth.values(), key=lambda p: p["created_at"], reverse=True)
    ]
    single = listing(read, "single_issue")
    listed = next(i for i in issues if i["number"] == single["number"])
    # The single issue may tell more (closed_by); what both tell is the same.
    assert {k: v for k, v in single.items() if k in listed} == listed


def test_search_finds_every_pull_request(read: dict[str, Any], truth: dict[int, dict[str, Any]]) -> None:
    found = listing(read, "search")
    assert (found["total_count"], found["incomplete_results"]) == (len(truth), False)
    assert_issues_are_the_pull_requests(found["items"], truth, "search")
    assert all(isinstance(item["score"], int | float) for item in found["items"])
    issues = {i["number"]: i for i in listing(read, "issues")}
    for item in found["items"]:
        assert {k: v for k, v in item.items() if k != "score"} == issues[item["number"]]


def test_graphql_pages_through_pull_requests_and_their_lists(
    read: dict[str, Any], truth: dict[int, dict[str, Any]]
) -> None:
    gql = listing(read, "graphql")
    nodes = gql["nodes"]
    assert gql["totalCount"] == len(truth) and all(cost >= 1 for cost in gql["costs"])
    assert [n["number"] for n in nodes] == [
        p["number"] for p in sorted(truth.values(), key=lambda p: p["created_at"])
    ]
    for node in nodes:
        pr = truth[node["number"]]
        state = "MERGED" if pr["merged_at"] else pr["state"].upper()
        assert (node["id"], int(node["fullDatabaseId"]), node["title"], node["isDraft"], node["state"]) == (
            pr["node_id"],
            pr["id"],
            pr["title"],
            pr["draft"],
            state,
        )
        login = pr["user"]["login"]
        # GraphQL shows bots without [bot], and the deleted user as a null author.
        assert (node["author"] or {}).get("login") == (
            None if login == "ghost" else login.removesuffix("[bot]")
        )
        for field, kind in (("reviews", "reviews"), ("comments", "issue_comments")):
            got = node[field]
            assert got["totalCount"] == len(pr[kind]) and not got["pageInfo"]["hasNextPage"]
            assert [(n["id"], int(n["fullDatabaseId"])) for n in got["nodes"]] == [
                (x["node_id"], x["id"]) for x in pr[kind]
            ], f"#{pr['number']} {field}"
        assert [r["state"] for r in node["reviews"]["nodes"]] == [r["state"] for r in pr["reviews"]]
        review_comments = [c for review in node["reviews"]["nodes"] for c in review["comments"]["nodes"]]
        assert sorted((c["id"], int(c["fullDatabaseId"]), c["path"]) for c in review_comments) == sorted(
            (c["node_id"], c["id"], c["path"]) for c in pr["review_comments"]
        ), f"#{pr['number']} review comments"
        for review in node["reviews"]["nodes"]:
            assert review["comments"]["totalCount"] == len(review["comments"]["nodes"])
        assert node["files"]["totalCount"] == len(pr["files"])
        assert [(f["path"], f["additions"], f["deletions"]) for f in node["files"]["nodes"]] == [
            (f["filename"], f["additions"], f["deletions"]) for f in pr["files"]
        ]
        assert node["commits"]["totalCount"] == len(pr["commits"])
        assert [c["commit"]["oid"] for c in node["commits"]["nodes"]] == [c["sha"] for c in pr["commits"]]
        # Thread by thread: every review comment once, in the thread of the comment it replies to.
        by_id = {c["id"]: c for c in pr["review_comments"]}
        threaded = [c for thread in node["reviewThreads"] for c in thread["comments"]["nodes"]]
        assert sorted(int(c["fullDatabaseId"]) for c in threaded) == sorted(by_id), f"#{pr['number']} threads"
        for thread in node["reviewThreads"]:
            comments = thread["comments"]["nodes"]
            assert thread["comments"]["totalCount"] == len(comments)
            root = by_id[int(comments[0]["fullDatabaseId"])]
            assert root.get("in_reply_to_id") is None and thread["path"] == root["path"]
            for reply in comments[1:]:
                assert by_id[int(reply["fullDatabaseId"])]["in_reply_to_id"] == root["id"]
                assert int(reply["replyTo"]["fullDatabaseId"]) == root["id"]


def test_graphql_search_pages_through_every_pull_request(
    read: dict[str, Any], truth: dict[int, dict[str, Any]]
) -> None:
    found = listing(read, "graphql_search")
    assert found["issueCount"] == len(truth)
    assert sorted(n["number"] for n in found["nodes"]) == sorted(truth)
    assert {(n["__typename"], n["id"], n["title"]) for n in found["nodes"]} == {
        ("PullRequest", pr["node_id"], pr["title"]) for pr in truth.values()
    }


def test_errors_reach_octokit_as_githubs(read: dict[str, Any]) -> None:
    errors = read["errors"]
    for name in ("missing pull", "missing repository"):
        error = errors[name]
        assert (error["name"], error["status"], error["data"]["message"]) == ("HttpError", 404, "Not Found")
        assert error["data"]["documentation_url"].startswith("https://docs.github.com/rest")
    graphql = errors["graphql missing repository"]
    assert graphql["name"] == "GraphqlResponseError" and graphql["partial"] == {"repository": None}
    assert [(e["type"], e["path"], e["message"]) for e in graphql["errors"]] == [
        (
            "NOT_FOUND",
            ["repository"],
            "Could not resolve to a Repository with the name 'acme/widgets-missing'.",
        )
    ]


def test_octokit_saw_no_warnings(read: dict[str, Any]) -> None:
    # octokit logs deprecations and unexpected answers through log.warn; the simulator should cause none.
    assert "warn:" not in read["stderr"], read["stderr"][-2000:]
