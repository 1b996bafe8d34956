"""The realistic profile: budgets per principal, GitHub's secondary-limit answers and waits, conditional
requests, search's own limit, server time and GitHub's timeouts, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.limits import FaultPlan, LimitSettings
from ghcapture.simulator.server import AppKeys, SimulatorServer, new_app_keys
from ghcapture.simulator.server_time import ServerTime

Start = Callable[..., SimulatorServer]
PAGE = """query($n: Int!) { rateLimit { cost used remaining }
  repository(owner: "acme", name: "widgets") { pullRequests(first: $n) { nodes {
    number reviews(first: 50) { nodes { id } } files(first: 100) { nodes { path } }
    comments(first: 50) { nodes { id } } } } } }"""


def client(server: SimulatorServer, token: str = "t1") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"token {token}"}, timeout=60)


def mint(server: SimulatorServer, keys: AppKeys) -> str:
    now = int(time.time())
    claims = {"iat": now - 60, "exp": now + 540, "iss": str(keys.identity.app_id)}
    answer = httpx.post(
        f"{server.url}/app/installations/{keys.identity.installation_id}/access_tokens",
        headers={"authorization": f"Bearer {jwt.encode(claims, keys.private_key_pem, algorithm='RS256')}"},
    )
    assert answer.status_code == 201
    return str(answer.json()["token"])


def realistic(start: Start, prs: int = 30, **options: Any) -> SimulatorServer:
    """The realistic profile on a clock 1,000 times faster than GitHub's."""
    return start({"acme/widgets": prs}, config=SimulatorConfig.realistic(0.001, **options))


def test_every_token_of_an_installation_spends_one_budget_kept_across_renewal(make_simulator: Start) -> None:
    keys = new_app_keys()
    limits = LimitSettings(installation_repositories=30)
    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(app=keys.identity, limits=limits))
    first, renewed = mint(server, keys), mint(server, keys)
    assert first != renewed

    a = client(server, first).get("/repos/acme/widgets")
    b = client(server, renewed).get("/repos/acme/widgets")

    # 5,000 plus 50 for each repository over 20 (GitHub's rule for installations).
    assert a.headers["x-ratelimit-limit"] == b.headers["x-ratelimit-limit"] == "5500"
    assert int(b.headers["x-ratelimit-used"]) == int(a.headers["x-ratelimit-used"]) + 1
    assert client(server, renewed).get("/rate_limit").json()["resources"]["core"]["used"] == 2


def test_installation_budgets_grow_with_repositories_up_to_12500(make_simulator: Start) -> None:
    keys = new_app_keys()
    limits = LimitSettings(installation_repositories=500, installation_users=500)
    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(app=keys.identity, limits=limits))

    answer = client(server, mint(server, keys)).get("/rate_limit").json()["resources"]

    assert answer["core"]["limit"] == answer["graphql"]["limit"] == 12_500


def secondary_answers(server: SimulatorServer, users: int) -> list[httpx.Response]:
    """The first refused answer of each of `users` users whose minute allows one REST request."""
    refused = []
    for n in range(users):
        http = client(server, f"user-{n}")
        assert http.get("/repos/acme/widgets").status_code == 200
        refused.append(http.get("/repos/acme/widgets"))
    return refused


def test_secondary_limits_are_403_or_429_with_or_without_retry_after(make_simulator: Start) -> None:
    users = {f"user-{n}": f"login{n}" for n in range(24)}
    limits = LimitSettings(rest_points_per_minute=1, window=3.6)
    server = realistic(make_simulator, limits=limits, token_users=users, seed=5)

    refused = secondary_answers(server, 24)

    assert {a.status_code for a in refused} == {403, 429}
    with_retry = [a for a in refused if "retry-after" in a.headers]
    assert 0 < len(with_retry) < len(refused)
    for answer in refused:
        assert "secondary rate limit" in answer.json()["message"]
        # GitHub sends the primary budget's headers too; it is not what ran out.
        assert int(answer.headers["x-ratelimit-remaining"]) > 0


def test_a_request_during_the_wait_is_refused_again_and_after_it_answered(make_simulator: Start) -> None:
    server = make_simulator(
        {"acme/widgets": 3}, config=SimulatorConfig(limits=LimitSettings(rest_points_per_minute=1, window=36))
    )
    http = client(server)
    assert http.get("/repos/acme/widgets").status_code == 200
    refused = http.get("/repos/acme/widgets")
    wait = int(refused.headers["retry-after"])

    during = http.get("/rate_limit")  # free of primary charge, but not of the wait
    time.sleep(wait + 0.1)

    assert refused.status_code == during.status_code == 403
    assert server.simulator.stats.limits["secondary_during_wait"] == 1
    # The minute's point was spent before the wait; the next minute starts afresh.
    deadline = time.monotonic() + 10
    while (answer := http.get("/rate_limit")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(float(answer.headers.get("retry-after", "1")))
    assert answer.status_code == 200


def test_the_cpu_limit_refuses_a_principal_with_too_much_server_time(make_simulator: Start) -> None:
    limits = LimitSettings(graphql_cpu_ms_per_minute=1.0, window=36.0)
    server = realistic(make_simulator, prs=20, limits=limits)
    http = client(server)

    first = http.post("/graphql", json={"query": PAGE, "variables": {"n": 5}})
    second = http.post("/graphql", json={"query": PAGE, "variables": {"n": 5}})

    assert first.status_code == 200 and "errors" not in first.json()
    assert second.status_code in (403, 429) and "secondary rate limit" in second.json()["message"]
    assert server.simulator.stats.limits["secondary_cpu"] == 1


def test_a_matching_etag_is_304_and_free_and_a_change_makes_a_new_etag(make_simulator: Start) -> None:
    server = make_simulator({"acme/widgets": 12})
    http = client(server)
    params = {"state": "all", "per_page": 100}
    first = http.get("/repos/acme/widgets/pulls", params=params)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')

    again = http.get("/repos/acme/widgets/pulls", params=params, headers={"if-none-match": etag})
    comments = http.get("/repos/acme/widgets/pulls/comments", params={"per_page": 100})
    unchanged = http.get(
        "/repos/acme/widgets/pulls/comments",
        params={"per_page": 100},
        headers={"if-none-match": comments.headers["etag"]},
    )
    httpx.post(f"{server.url}/_simulator/evolve/acme/widgets", json={"changed": 3, "seed": 2})
    changed = http.get("/repos/acme/widgets/pulls", params=params, headers={"if-none-match": etag})

    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert int(again.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"])
    assert unchanged.status_code == 304
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    stats = http.get("/_simulator/stats").json()
    assert stats["not_modified"] == 2 and stats["rest_requests_charged"] == 3


def test_if_modified_since_is_answered_from_last_modified(make_simulator: Start) -> None:
    http = client(make_simulator({"acme/widgets": 4}))
    first = http.get("/repos/acme/widgets/pulls/1")
    modified = first.headers["last-modified"]

    same = http.get("/repos/acme/widgets/pulls/1", headers={"if-modified-since": modified})
    older = http.get(
        "/repos/acme/widgets/pulls/1", headers={"if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )

    assert same.status_code == 304 and older.status_code == 200


def test_etags_differ_between_users(make_simulator: Start) -> None:
    server = make_simulator(
        {"acme/widgets": 4}, config=SimulatorConfig(token_users={"a": "alice", "b": "bob"})
    )
    alice = client(server, "a").get("/repos/acme/widgets")
    bob = client(server, "b").get("/repos/acme/widgets")

    assert alice.json() == bob.json() and alice.headers["etag"] != bob.headers["etag"]
    assert "Authorization" in alice.headers["vary"]


def test_search_has_its_own_budget_of_30_a_minute(make_simulator: Start) -> None:
    http = client(
        make_simulator({"acme/widgets": 5}, config=SimulatorConfig(limits=LimitSettings(window=3600)))
    )
    answers = [http.get("/search/issues", params={"q": "repo:acme/widgets is:pr"}) for _ in range(31)]

    assert [a.status_code for a in answers[:30]] == [200] * 30
    assert answers[30].status_code == 403
    assert answers[30].headers["x-ratelimit-resource"] == "search"
    assert (
        answers[30].headers["x-ratelimit-limit"] == "30"
        and answers[30].headers["x-ratelimit-remaining"] == "0"
    )
    # The core budget is untouched by searches.
    assert http.get("/rate_limit").json()["resources"]["core"]["used"] == 0


def test_a_large_files_page_times_out_as_githubs_do_and_keeps_its_points(make_simulator: Start) -> None:
    server = realistic(make_simulator, prs=120, seed=3)
    http = client(server)

    big = http.post("/graphql", json={"query": PAGE, "variables": {"n": 100}})
    small = http.post("/graphql", json={"query": PAGE, "variables": {"n": 10}})

    assert big.status_code in (502, 504)
    if big.status_code == 502:
        assert big.json()["errors"][0]["message"].startswith(
            "Something went wrong while executing your query"
        )
    else:
        assert big.json()["message"].startswith("We couldn't respond to your request in time")
    assert small.status_code == 200
    # The stopped query's points were spent: 1 + 3 x 100 connections to fill = 3 points, then 1 for 10 PRs.
    assert small.json()["data"]["rateLimit"]["used"] == 3 + 1
    assert server.simulator.stats.faults["timeout"] == 1


def test_the_server_time_model_follows_githubs_published_figures() -> None:
    model = ServerTime(seed=1)
    rest = sorted(model.rest_ms() for _ in range(4000))
    pages = {n: sorted(model.graphql_ms(nodes=n * 12, diffs=n) for _ in range(400)) for n in (25, 50, 100)}

    # A single REST object: median about 206 ms, a tenth over about 527 ms, some over a second.
    assert 180 < rest[2000] < 235
    assert 430 < rest[3600] < 650
    assert rest[-40] > 1000
    # Pages of PRs with their files: 25 pass, 50 mostly pass, 100 fail at GitHub's 10 s.
    assert pages[25][380] < 10_000
    assert pages[50][200] < 10_000
    assert pages[100][40] > 10_000


def test_a_fault_rate_is_kept_when_some_kinds_do_not_apply(make_simulator: Start) -> None:
    # An expired-token draw cannot apply to a personal token; another kind is served instead.
    plan = FaultPlan(rate=0.3, kinds=("expired-token", "502"), seed=4)
    http = client(make_simulator({"acme/widgets": 3}, config=SimulatorConfig(faults=plan)))

    statuses = [http.get("/repos/acme/widgets").status_code for _ in range(200)]

    assert 40 <= statuses.count(502) <= 80
    assert 401 not in statuses


@pytest.mark.parametrize("kind", ["headers-only", "reset"])
def test_a_connection_dropped_after_the_headers_is_a_transport_error(
    make_simulator: Start, kind: str
) -> None:
    server = make_simulator({"acme/widgets": 3})
    server.simulator.config.faults.queue(kind, "rest")

    with pytest.raises(httpx.TransportError):
        client(server).get("/repos/acme/widgets")
    assert client(server).get("/repos/acme/widgets").status_code == 200
