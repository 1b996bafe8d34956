"""The REST surface GitHub clients read pull requests through: shapes, orders, defaults, errors, pagination,
renamed repositories and Last-Modified, each as GitHub documents or shows it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.model import Repository, format_time
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World

Start = Callable[..., SimulatorServer]
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}


def client(server: SimulatorServer, base: str = "") -> httpx.Client:
    return httpx.Client(base_url=server.url + base, headers={"authorization": "token t"}, timeout=30)


def links(answer: httpx.Response) -> dict[str, str]:
    """rel -> URL of each Link header entry."""
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', answer.headers.get("link", ""))}


def walk(http: httpx.Client, url: str) -> list[dict[str, Any]]:
    """Every item of a listing, following rel="next" as clients do."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        answer = http.get(next_url)
        assert answer.status_code == 200, answer.text
        items += answer.json()
        next_url = links(answer).get("next")
    return items


def widgets(server: SimulatorServer) -> Repository:
    repo = server.simulator.world.repository("acme", "widgets")
    assert repo is not None
    return repo


# -- issues -------------------------------------------------------------------------------------------


def test_issue_listing_defaults_to_open_newest_first_with_pull_request_objects(
    simulator: SimulatorServer,
) -> None:
    http = client(simulator)
    repo = widgets(simulator)

    listed = http.get("/repos/acme/widgets/issues", params={"per_page": 100}).json()

    open_prs = sorted((p for p in repo.pull_requests if p.state == "open"), key=lambda p: p.created_at)
    assert [i["number"] for i in listed] == [p.number for p in reversed(open_prs)]
    first = listed[0]
    pr = repo.pull_request(first["number"])
    assert pr is not None
    assert first["id"] != pr.id  # an issue id, not the pull request's
    assert first["pull_request"] == {
        "url": f"{simulator.url}/repos/acme/widgets/pulls/{pr.number}",
        "html_url": f"https://github.com/acme/widgets/pull/{pr.number}",
        "diff_url": f"https://github.com/acme/widgets/pull/{pr.number}.diff",
        "patch_url": f"https://github.com/acme/widgets/pull/{pr.number}.patch",
        "merged_at": format_time(pr.merged_at),
    }


def test_issue_listing_sorts_filters_and_refuses_bad_values(simulator: SimulatorServer) -> None:
    http = client(simulator)
    every = {"state": "all", "per_page": 100}
    updated = http.get("/repos/acme/widgets/issues", params={**every, "sort": "updated", "direction": "asc"})
    comments = http.get("/repos/acme/widgets/issues", params={**every, "sort": "comments"}).json()
    closed = http.get("/repos/acme/widgets/issues", params={"state": "closed", "per_page": 100}).json()
    stamps = [i["updated_at"] for i in updated.json()]
    since = http.get("/repos/acme/widgets/issues", params={**every, "since": stamps[30]}).json()

    assert len(updated.json()) == 60 and stamps == sorted(stamps)
    assert [i["comments"] for i in comments] == sorted((i["comments"] for i in comments), reverse=True)
    assert closed and all(i["state"] == "closed" for i in closed)
    assert {i["number"] for i in since} == {
        i["number"] for i in updated.json() if i["updated_at"] >= stamps[30]
    }
    bad = http.get("/repos/acme/widgets/issues", params={"state": "merged"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"resource": "Issue", "field": "state", "code": "invalid", "value": "merged"}
    ]


def test_issue_listing_pages_by_cursor_and_the_cursor_round_trips(simulator: SimulatorServer) -> None:
    http = client(simulator)
    first = http.get("/repos/acme/widgets/issues", params={"state": "all", "per_page": 7})

    walked = walk(http, "/repos/acme/widgets/issues?state=all&per_page=7")
    assert [i["number"] for i in walked] == [
        i["number"]
        for i in http.get("/repos/acme/widgets/issues", params={"state": "all", "per_page": 100}).json()
    ]
    assert len({i["number"] for i in walked}) == 60
    # GitHub's cursor links: after= on next, before= on prev, a page number beside, no first or last.
    assert set(links(first)) == {"next"}
    nxt = httpx.URL(links(first)["next"])
    assert nxt.path == f"/repositories/{widgets(simulator).id}/issues"
    assert nxt.params["after"] and nxt.params["page"] == "2" and "before" not in nxt.params
    second = http.get(links(first)["next"])
    assert set(links(second)) == {"next", "prev"}
    back = http.get(links(second)["prev"])
    assert [i["number"] for i in back.json()] == [i["number"] for i in first.json()]
    bad = http.get("/repos/acme/widgets/issues", params={"after": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "after"


def test_issue_listing_refuses_deep_page_numbers(simulator: SimulatorServer) -> None:
    http = client(simulator)

    deep = http.get("/repos/acme/widgets/issues", params={"state": "all", "per_page": 100, "page": 100})
    shallower = http.get("/repos/acme/widgets/issues", params={"state": "all", "per_page": 100, "page": 99})

    assert deep.status_code == 422
    assert deep.json() == {
        "message": "Pagination with the page parameter is not supported for large datasets, please use "
        "cursor based pagination (after/before)",
        "documentation_url": "https://docs.github.com/rest/issues/issues#list-repository-issues",
        "status": "422",
    }
    assert shallower.status_code == 200 and shallower.json() == []


def test_one_issue_and_its_errors(simulator: SimulatorServer) -> None:
    http = client(simulator)
    pr = widgets(simulator).pull_requests[3]

    issue = http.get(f"/repos/acme/widgets/issues/{pr.number}")
    missing = http.get("/repos/acme/widgets/issues/99999")

    assert issue.status_code == 200 and issue.json()["number"] == pr.number
    assert issue.json()["pull_request"]["url"].endswith(f"/pulls/{pr.number}")
    assert parsedate_to_datetime(issue.headers["last-modified"]) == pr.updated_at
    assert missing.status_code == 404
    assert missing.json() == {
        **NOT_FOUND,
        "documentation_url": "https://docs.github.com/rest/issues/issues#get-an-issue",
    }


# -- search ---------------------------------------------------------------------------------------------


def test_search_qualifiers_sort_and_order(simulator: SimulatorServer) -> None:
    http = client(simulator)
    repo = widgets(simulator)
    times = sorted(p.updated_at for p in repo.pull_requests)
    low, high = format_time(times[10]), format_time(times[40])

    def search(q: str, **params: Any) -> dict[str, Any]:
        answer = http.get("/search/issues", params={"q": q, "per_page": 100, **params})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    merged = search("repo:acme/widgets is:pr is:merged")
    window = search(f"repo:acme/widgets is:pr updated:{low}..{high}", sort="updated", order="asc")
    newest = search("repo:acme/widgets is:pr", sort="created")

    assert merged["total_count"] == sum(p.merged for p in repo.pull_requests) == len(merged["items"])
    assert merged["incomplete_results"] is False
    assert all(i["pull_request"]["merged_at"] for i in merged["items"])
    assert [i["updated_at"] for i in window["items"]] == sorted(i["updated_at"] for i in window["items"])
    assert window["total_count"] == sum(times[10] <= t <= times[40] for t in times)
    assert [i["created_at"] for i in newest["items"]] == sorted(
        (i["created_at"] for i in newest["items"]), reverse=True
    )
    assert search("repo:acme/widgets is:issue")["total_count"] == 0
    assert {i["state"] for i in search("repo:acme/widgets is:open")["items"]} == {"open"}
    assert {i["state"] for i in search("repo:acme/widgets is:closed")["items"]} == {"closed"}
    assert http.get("/search/issues").status_code == 422
    unknown = http.get("/search/issues", params={"q": "repo:acme/nothing is:pr"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "q"


def test_search_serves_the_first_1000_results_only(make_simulator: Start) -> None:
    server = make_simulator({"acme/widgets": 1050})
    http = client(server)
    q = {"q": "repo:acme/widgets is:pr", "per_page": 100}

    first = http.get("/search/issues", params=q)
    tenth = http.get("/search/issues", params={**q, "page": 10})
    past = http.get("/search/issues", params={**q, "page": 11})

    assert first.json()["total_count"] == 1050  # the count tells the truth
    assert httpx.URL(links(first)["last"]).params["page"] == "10"
    assert len(tenth.json()["items"]) == 100 and "next" not in links(tenth)
    assert past.status_code == 422
    assert past.json()["message"] == "Only the first 1000 search results are available"
    assert server.simulator.stats.requests["search"] == 3  # search is its own API, with its own limit


# -- commits and reviewers ------------------------------------------------------------------------------


def test_repository_commits_are_the_merged_history_newest_first(simulator: SimulatorServer) -> None:
    http = client(simulator)
    repo = widgets(simulator)
    merged = [p for p in repo.pull_requests if p.merged]

    history = walk(http, "/repos/acme/widgets/commits?per_page=50")

    dates = [c["commit"]["committer"]["date"] for c in history]
    assert dates == sorted(dates, reverse=True)
    shas = {c["sha"] for c in history}
    assert {p.merge_commit_sha for p in merged if p.merge_commit_sha} <= shas
    assert {c.sha for p in merged for c in p.commits} <= shas
    assert not shas & {c.sha for p in repo.pull_requests if not p.merged for c in p.commits}
    pivot = history[len(history) // 2]
    from_pivot = walk(http, f"/repos/acme/widgets/commits?per_page=100&sha={pivot['sha']}")
    assert from_pivot == history[len(history) // 2 :]
    when = pivot["commit"]["committer"]["date"]
    since = walk(http, f"/repos/acme/widgets/commits?per_page=100&since={when}")
    until = walk(http, f"/repos/acme/widgets/commits?per_page=100&until={when}")
    assert {c["sha"] for c in since} == {
        c["sha"] for c in history if c["commit"]["committer"]["date"] >= when
    }
    assert {c["sha"] for c in until} == {
        c["sha"] for c in history if c["commit"]["committer"]["date"] <= when
    }
    login = next(c["author"]["login"] for c in history if c["author"])
    by_author = walk(http, f"/repos/acme/widgets/commits?per_page=100&author={login}")
    assert by_author and all(c["author"]["login"] == login for c in by_author)
    assert http.get("/repos/acme/widgets/commits", params={"sha": "f" * 40}).status_code == 404


def test_requested_reviewers_have_githubs_shape(simulator: SimulatorServer) -> None:
    http = client(simulator)

    answer = http.get("/repos/acme/widgets/pulls/1/requested_reviewers")

    assert answer.status_code == 200 and answer.json() == {"users": [], "teams": []}
    assert http.get("/repos/acme/widgets/pulls/9999/requested_reviewers").status_code == 404


# -- repositories by id, errors --------------------------------------------------------------------------


def test_every_repository_route_answers_under_repositories_id(simulator: SimulatorServer) -> None:
    repo = widgets(simulator)
    pr = max(
        repo.pull_requests, key=lambda p: len(p.review_comments) + len(p.issue_comments) + len(p.reviews)
    )
    paths = [
        "",
        "/pulls?state=all&per_page=5",
        f"/pulls/{pr.number}",
        f"/pulls/{pr.number}/reviews",
        f"/pulls/{pr.number}/reviews/{pr.reviews[0].id}",
        f"/pulls/{pr.number}/comments",
        f"/pulls/{pr.number}/files",
        f"/pulls/{pr.number}/commits",
        f"/pulls/{pr.number}/requested_reviewers",
        f"/issues/{pr.number}",
        f"/issues/{pr.number}/comments",
        "/issues?state=all&per_page=5",
        "/issues/comments?per_page=5",
        "/pulls/comments?per_page=5",
        "/commits?per_page=5",
        "/actions/workflows",
    ]
    for base in ("", "/api/v3"):
        http = client(simulator, base)
        for path in paths:
            by_name, by_id = (
                http.get(f"/repos/acme/widgets{path}"),
                http.get(f"/repositories/{repo.id}{path}"),
            )
            assert by_name.status_code == by_id.status_code == 200, (base, path, by_id.text)
            assert by_name.json() == by_id.json(), path
            assert by_name.headers.get("link") == by_id.headers.get("link"), path
    assert client(simulator).get("/repositories/1/pulls").json() == NOT_FOUND


@pytest.mark.parametrize("base", ["", "/api/v3"])
def test_unknown_paths_answer_githubs_json_404(simulator: SimulatorServer, base: str) -> None:
    http = client(simulator, base)
    for path in ("/nothing", "/repos/acme/widgets/nothing/at/all", "/repositories/abc", "/users/x/y/z"):
        answer = http.get(path)
        assert answer.status_code == 404 and answer.json() == NOT_FOUND, path
        assert answer.headers["content-type"].startswith("application/json")
    missing_repo = http.get("/repos/acme/nothing")
    assert missing_repo.json() == {
        **NOT_FOUND,
        "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
    }


# -- renamed and transferred repositories -----------------------------------------------------------------


def test_an_old_name_answers_301_to_the_same_route_by_id(simulator: SimulatorServer) -> None:
    http = client(simulator)
    repo = widgets(simulator)
    renamed = httpx.post(f"{simulator.url}/_simulator/rename/acme/widgets", json={"name": "gadgets"})

    moved = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 5})
    followed = http.get(
        "/repos/acme/widgets/pulls", params={"state": "all", "per_page": 5}, follow_redirects=True
    )

    assert renamed.json() == {"id": repo.id, "full_name": "acme/gadgets"}
    target = f"{simulator.url}/repositories/{repo.id}/pulls?state=all&per_page=5"
    assert moved.status_code == 301 and moved.headers["location"] == target
    assert moved.json() == {
        "message": "Moved Permanently",
        "url": target,
        "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
    }
    assert followed.status_code == 200 and len(followed.json()) == 5
    assert followed.json()[0]["base"]["repo"]["full_name"] == "acme/gadgets"
    assert http.get("/repos/acme/gadgets").json()["full_name"] == "acme/gadgets"
    prefixed = client(simulator, "/api/v3").get("/repos/acme/widgets")
    assert prefixed.headers["location"] == f"{simulator.url}/api/v3/repositories/{repo.id}"
    world = simulator.simulator.world
    assert world.moved("acme", "widgets") is repo and world.moved("acme", "gadgets") is None
    assert world.moved("acme", "never-was") is None


def test_a_transferred_repository_redirects_from_every_old_name(make_simulator: Start) -> None:
    server = make_simulator({"acme/widgets": 5})
    world = server.simulator.world
    repo = widgets(server)

    world.rename_repository(repo, "gadgets")
    world.rename_repository(repo, "gizmos", new_owner="newco")

    http = client(server)
    assert repo.full_name == "newco/gizmos" and repo.owner.login == "newco"
    for old in ("acme/widgets", "acme/gadgets"):
        answer = http.get(f"/repos/{old}/pulls/1")
        assert answer.status_code == 301, old
        assert answer.headers["location"].endswith(f"/repositories/{repo.id}/pulls/1")
    assert http.get("/repos/newco/gizmos/pulls/1").json()["base"]["repo"]["owner"]["login"] == "newco"
    # A new repository under an old name takes it over: that name no longer redirects.
    world.add_repository(generate_repository("acme", "widgets", 2, seed=9))
    assert http.get("/repos/acme/widgets").json()["id"] != repo.id
    bad = httpx.post(
        f"{server.url}/_simulator/rename/newco/gizmos", json={"name": "widgets", "owner": "acme"}
    )
    assert bad.status_code == 422


def test_renaming_while_requests_are_served_is_safe(make_simulator: Start) -> None:
    server = make_simulator({"acme/widgets": 20, "acme/other": 5})
    world = server.simulator.world
    repo = widgets(server)
    statuses: list[int] = []
    stop = threading.Event()

    def read() -> None:
        http = client(server)
        while not stop.is_set():
            statuses.append(http.get(f"/repositories/{repo.id}/pulls", params={"state": "all"}).status_code)
            statuses.append(http.get("/repos/acme/other/pulls/1").status_code)
            world.unique_repositories  # noqa: B018 - iterated while names change

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 10
        n = 0
        while (len(statuses) < 100 or n < 40) and time.monotonic() < deadline:
            world.rename_repository(repo, f"widgets-{n}", new_owner=f"org{n % 3}")
            n += 1
            time.sleep(0.002)
    finally:
        stop.set()
        for reader in readers:
            reader.join()

    assert statuses and set(statuses) == {200}
    assert world.moved("acme", "widgets") is repo and len(world.unique_repositories) == 2


# -- pagination and orders ----------------------------------------------------------------------------------


def test_link_header_names_the_repository_by_id_in_githubs_order(simulator: SimulatorServer) -> None:
    http = client(simulator)
    repo = widgets(simulator)

    middle = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 10, "page": 3})

    rels = re.findall(r'rel="(\w+)"', middle.headers["link"])
    assert rels == ["prev", "next", "last", "first"]
    for url in links(middle).values():
        assert httpx.URL(url).path == f"/repositories/{repo.id}/pulls"
    assert walk(http, links(middle)["first"]) == walk(http, "/repos/acme/widgets/pulls?state=all&per_page=10")


def test_pulls_direction_defaults_by_sort(simulator: SimulatorServer) -> None:
    http = client(simulator)

    def listed(**params: str) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = http.get(
            "/repos/acme/widgets/pulls", params={"state": "all", "per_page": 100, **params}
        ).json()
        return answer

    plain, created, updated = listed(), listed(sort="created"), listed(sort="updated")
    popular = listed(sort="popularity")

    assert [p["created_at"] for p in plain] == sorted((p["created_at"] for p in plain), reverse=True)
    assert created == plain
    assert [p["updated_at"] for p in updated] == sorted(p["updated_at"] for p in updated)  # asc
    assert listed(sort="updated", direction="desc") == updated[::-1]
    assert len(popular) == 60


@pytest.fixture
def shuffled(simulator: SimulatorServer) -> tuple[SimulatorServer, Any]:
    """acme/widgets whose busiest PR has comments created in the reverse order of their ids."""
    repo = widgets(simulator)
    pr = max(repo.pull_requests, key=lambda p: min(len(p.review_comments), len(p.issue_comments)))
    assert len(pr.review_comments) >= 2 and len(pr.issue_comments) >= 2
    for comments in (pr.review_comments, pr.issue_comments):
        ordered = sorted(comments, key=lambda c: c.id)
        base = max(c.updated_at for c in repo.pull_requests[0].issue_comments + ordered)
        for k, comment in enumerate(ordered):
            comment.created_at = base - timedelta(hours=k)
            comment.updated_at = base + timedelta(hours=k)
    repo.version += 1
    return simulator, pr


@pytest.mark.parametrize("listing", ["pulls/{n}/comments", "pulls/comments", "issues/comments"])
def test_comments_are_in_ascending_id_order_and_direction_needs_sort(
    shuffled: tuple[SimulatorServer, Any], listing: str
) -> None:
    server, pr = shuffled
    http = client(server)
    path = "/repos/acme/widgets/" + listing.format(n=pr.number)

    plain = walk(http, f"{path}?per_page=100")
    ignored = walk(http, f"{path}?per_page=100&direction=desc")
    created_desc = walk(http, f"{path}?per_page=100&sort=created&direction=desc")
    updated = walk(http, f"{path}?per_page=100&sort=updated")

    ids = [c["id"] for c in plain]
    assert ids == sorted(ids) and [c["id"] for c in ignored] == ids
    assert [(c["created_at"], c["id"]) for c in created_desc] == sorted(
        ((c["created_at"], c["id"]) for c in plain), reverse=True
    )
    assert [(c["updated_at"], c["id"]) for c in updated] == sorted((c["updated_at"], c["id"]) for c in plain)


def test_issue_comments_of_a_pull_request_are_in_ascending_id_order(
    shuffled: tuple[SimulatorServer, Any],
) -> None:
    server, pr = shuffled

    listed = client(server).get(f"/repos/acme/widgets/issues/{pr.number}/comments").json()

    assert [c["id"] for c in listed] == sorted(c.id for c in pr.issue_comments)
    assert listed[0]["created_at"] > listed[-1]["created_at"]  # not by creation


# -- Last-Modified -----------------------------------------------------------------------------------------


def test_single_objects_and_pages_carry_last_modified(simulator: SimulatorServer) -> None:
    http = client(simulator)
    repo = widgets(simulator)
    pr = max(
        repo.pull_requests, key=lambda p: len(p.reviews) + len(p.review_comments) + len(p.issue_comments)
    )

    def stamp(path: str, **params: Any) -> Any:
        answer = http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return parsedate_to_datetime(answer.headers["last-modified"])

    assert stamp("/repos/acme/widgets") == repo.updated_at
    assert stamp(f"/repos/acme/widgets/pulls/{pr.number}") == pr.updated_at
    review = pr.reviews[0]
    assert stamp(f"/repos/acme/widgets/pulls/{pr.number}/reviews/{review.id}") == review.submitted_at
    comment = pr.issue_comments[0]
    assert stamp(f"/repos/acme/widgets/issues/comments/{comment.id}") == comment.updated_at
    assert stamp(f"/users/{pr.user.login}").year == 2024
    page = http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 10, "page": 2})
    newest = max(p["updated_at"] for p in page.json())
    assert format_time(parsedate_to_datetime(page.headers["last-modified"])) == newest


def test_a_world_of_recorded_data_serves_old_names_as_redirects(make_simulator: Start) -> None:
    from fixtures_simulator import REAL_PAYLOADS
    from ghcapture.simulator.dataset import load_dataset, read_dataset

    world = World()
    load_dataset(read_dataset(REAL_PAYLOADS), world)
    server = make_simulator(world=world)
    new = world.repository("PyGithub", "PyGithub")
    assert new is not None

    answer = client(server).get("/repos/jacquev6/PyGithub/pulls/31")

    assert answer.status_code == 301
    assert answer.headers["location"].endswith(f"/repositories/{new.id}/pulls/31")
    followed = client(server).get("/repos/jacquev6/PyGithub/pulls/31", follow_redirects=True)
    assert followed.json()["number"] == 31


def test_the_ground_truth_gives_commits_the_parents_the_commit_listing_does(make_simulator: Start) -> None:
    server = make_simulator({"acme/widgets": 6})
    truth = httpx.get(f"{server.url}/_simulator/truth/acme/widgets").json()["repositories"][0]
    for pr in truth["pull_requests"]:
        listed = httpx.get(
            f"{server.url}/repos/acme/widgets/pulls/{pr['number']}/commits",
            params={"per_page": 100},
            headers={"authorization": "token t"},
        ).json()
        assert [c["parents"] for c in pr["commits"]][: len(listed)] == [c["parents"] for c in listed]
        assert all(c["parents"] for c in pr["commits"])
