"""Primary budgets, secondary limits and GraphQL query limits, as GitHub applies them, over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.limits import FaultPlan, LimitSettings
from ghcapture.simulator.server import SimulatorServer

Start = Callable[..., SimulatorServer]
SMALL_QUERY = '{ repository(owner: "acme", name: "widgets") { pullRequests(first: 1) { nodes { number } } } }'


def client(server: SimulatorServer, token: str = "t1") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"token {token}"}, timeout=30)


def graphql(http: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return http.post("/graphql", json={"query": query, "variables": variables or {}})


def limited(start: Start, token_users: dict[str, str] | None = None, **settings: Any) -> SimulatorServer:
    config = SimulatorConfig(limits=LimitSettings(**settings), token_users=token_users or {})
    return start({"acme/widgets": 5}, config=config)


def test_rest_budget_exhaustion_is_403_with_remaining_zero(make_simulator: Start) -> None:
    http = client(limited(make_simulator, rest_budget=3))

    answers = [http.get("/repos/acme/widgets/pulls") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 403]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert (
        answers[0].headers["x-ratelimit-limit"] == "3"
        and answers[0].headers["x-ratelimit-resource"] == "core"
    )
    assert answers[3].headers["x-ratelimit-used"] == "3"
    assert int(answers[3].headers["x-ratelimit-reset"]) > time.time()
    assert "rate limit exceeded" in answers[3].json()["message"]
    assert "retry-after" not in answers[3].headers  # the primary limit says when it resets instead


def test_graphql_budget_exhaustion_is_http_200_with_rate_limited(make_simulator: Start) -> None:
    http = client(limited(make_simulator, graphql_budget=2))

    answers = [graphql(http, SMALL_QUERY) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "errors" not in answers[1].json()
    body = answers[2].json()
    assert body["errors"][0]["type"] == "RATE_LIMIT"
    assert body["errors"][0]["code"] == "graphql_rate_limit"
    assert "data" not in body or body["data"] is None
    assert answers[2].headers["x-ratelimit-remaining"] == "0"
    assert answers[2].headers["x-ratelimit-resource"] == "graphql"


def test_budgets_are_per_user_and_rest_and_graphql_are_separate(make_simulator: Start) -> None:
    users = {"first": "alice", "second": "bob", "first-again": "alice"}
    server = limited(make_simulator, token_users=users, rest_budget=1, graphql_budget=1)
    first, second = client(server, "first"), client(server, "second")
    same_user = client(server, "first-again")

    assert first.get("/repos/acme/widgets").status_code == 200
    assert first.get("/repos/acme/widgets").status_code == 403
    # A second token of the same user spends the same budget, as on GitHub.
    assert same_user.get("/repos/acme/widgets").status_code == 403
    # The other pool, and the other user, are untouched.
    assert "errors" not in graphql(first, SMALL_QUERY).json()
    assert graphql(same_user, SMALL_QUERY).json()["errors"][0]["type"] == "RATE_LIMIT"
    assert second.get("/repos/acme/widgets").status_code == 200
    assert "errors" not in graphql(second, SMALL_QUERY).json()
    limits = first.get("/rate_limit").json()["resources"]
    assert limits["core"]["remaining"] == 0 and limits["graphql"]["remaining"] == 0


def test_tokens_nobody_mapped_belong_to_one_user(make_simulator: Start) -> None:
    server = limited(make_simulator, rest_budget=2)

    assert client(server, "one").get("/repos/acme/widgets").status_code == 200
    assert client(server, "two").get("/repos/acme/widgets").status_code == 200
    third = client(server, "three").get("/repos/acme/widgets")

    assert third.status_code == 403 and third.headers["x-ratelimit-remaining"] == "0"
    assert "for user ID" in third.json()["message"]


def test_rate_limit_endpoint_is_free_and_reports_both_pools(make_simulator: Start) -> None:
    http = client(limited(make_simulator, rest_budget=10, graphql_budget=20))
    graphql(http, SMALL_QUERY)

    for _ in range(3):
        body = http.get("/rate_limit").json()

    assert body["resources"]["core"] == {**body["resources"]["core"], "limit": 10, "used": 0, "remaining": 10}
    assert body["resources"]["graphql"]["used"] == 1 and body["resources"]["graphql"]["remaining"] == 19
    assert body["rate"] == body["resources"]["core"]


def test_the_window_resets_the_budget(make_simulator: Start) -> None:
    http = client(limited(make_simulator, rest_budget=1, graphql_budget=1, window=2))
    assert http.get("/repos/acme/widgets").status_code == 200
    denied = http.get("/repos/acme/widgets")
    assert denied.status_code == 403
    assert graphql(http, SMALL_QUERY).json().get("errors") is None
    assert graphql(http, SMALL_QUERY).json()["errors"][0]["type"] == "RATE_LIMIT"

    time.sleep(max(0.0, int(denied.headers["x-ratelimit-reset"]) - time.time()) + 0.2)

    again = http.get("/repos/acme/widgets")
    assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "0"
    assert graphql(http, SMALL_QUERY).json().get("errors") is None


def test_rest_points_per_minute_is_a_secondary_403_with_retry_after(make_simulator: Start) -> None:
    http = client(limited(make_simulator, rest_points_per_minute=3))

    answers = [http.get("/repos/acme/widgets/pulls") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 403]
    assert int(answers[3].headers["retry-after"]) >= 1
    assert "secondary rate limit" in answers[3].json()["message"]
    assert int(answers[3].headers["x-ratelimit-remaining"]) > 0  # the primary budget is not what ran out


def test_graphql_points_per_minute_is_a_secondary_403_not_charged(make_simulator: Start) -> None:
    # A primary window of 120 s makes its secondary-limit minute 2 s.
    http = client(limited(make_simulator, graphql_points_per_minute=2, window=120.0))

    answers = [graphql(http, SMALL_QUERY) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 403]
    assert int(answers[2].headers["retry-after"]) >= 1
    time.sleep(int(answers[2].headers["retry-after"]))  # GitHub refuses every request during the wait
    assert http.get("/rate_limit").json()["resources"]["graphql"]["used"] == 2


def test_too_many_concurrent_requests_is_a_secondary_403(make_simulator: Start) -> None:
    config = SimulatorConfig(
        limits=LimitSettings(concurrent_requests=2),
        faults=FaultPlan(slow_seconds=1.5),
        token_users={"someone-else": "hubot"},
    )
    server = make_simulator({"acme/widgets": 3}, config=config)
    config.faults.queue("slow", "rest", 2)
    held: list[int] = []

    def hold() -> None:
        held.append(client(server).get("/repos/acme/widgets").status_code)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while server.simulator.stats.faults["slow"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

    refused = client(server).get("/repos/acme/widgets")
    other_token = client(server, "someone-else").get("/repos/acme/widgets")
    for thread in threads:
        thread.join()
    time.sleep(int(refused.headers["retry-after"]))
    after = client(server).get("/repos/acme/widgets")

    assert refused.status_code == 403 and int(refused.headers["retry-after"]) >= 1
    assert "secondary rate limit" in refused.json()["message"]
    assert other_token.status_code == 200  # the limit is per user
    assert held == [200, 200]
    assert after.status_code == 200
    assert server.simulator.stats.limits["secondary_concurrency"] == 1


def test_query_limits_are_githubs_errors(make_simulator: Start) -> None:
    http = client(make_simulator({"acme/widgets": 3}))
    missing = graphql(
        http, '{ repository(owner: "acme", name: "widgets") { pullRequests { nodes { number } } } }'
    )
    excessive = graphql(
        http,
        '{ repository(owner: "acme", name: "widgets") { pullRequests(first: 101) { nodes { number } } } }',
    )
    huge = graphql(
        http,
        '{ repository(owner: "acme", name: "widgets") { pullRequests(first: 100) { nodes {'
        " reviews(first: 100) { nodes { comments(first: 100) { nodes { id } } } } } } } }",
    )

    for answer, kind in (
        (missing, "MISSING_PAGINATION_BOUNDARIES"),
        (excessive, "EXCESSIVE_PAGINATION"),
        (huge, "MAX_NODE_LIMIT_EXCEEDED"),
    ):
        assert answer.status_code == 200
        body = answer.json()
        assert "data" not in body or body["data"] is None
        assert body["errors"][0]["type"] == kind, body
    assert "101" in excessive.json()["errors"][0]["message"]
    assert "500,000" in huge.json()["errors"][0]["message"]
    # A refused query costs nothing.
    assert http.get("/rate_limit").json()["resources"]["graphql"]["used"] == 0


def test_cost_follows_githubs_rule_and_rate_limit_reports_it(make_simulator: Start) -> None:
    http = client(make_simulator({"acme/widgets": 3}))
    query = """{ rateLimit { cost remaining used nodeCount limit resetAt }
      repository(owner: "acme", name: "widgets") { pullRequests(first: 50) { nodes {
        reviews(first: 50) { nodes { id } } files(first: 100) { nodes { path } }
        comments(first: 50) { nodes { id } } commits(first: 1) { totalCount } } } } }"""

    first = graphql(http, query).json()["data"]["rateLimit"]
    second = graphql(http, query).json()["data"]["rateLimit"]

    # 1 + 50 + 50 + 50 + 50 requests to fill, 2 points.
    assert first["cost"] == 2 and first["used"] == 2 and first["remaining"] == 4998
    assert second["used"] == 4 and second["limit"] == 5000
    assert graphql(http, "{ rateLimit { cost used } }").json()["data"]["rateLimit"] == {"cost": 1, "used": 5}


def test_anonymous_requests_have_their_own_small_budget_and_graphql_needs_a_token(
    make_simulator: Start,
) -> None:
    server = make_simulator({"acme/widgets": 3})
    anonymous = httpx.Client(base_url=server.url)

    answer = anonymous.get("/repos/acme/widgets")
    refused = anonymous.post("/graphql", json={"query": SMALL_QUERY})

    assert answer.status_code == 200 and answer.headers["x-ratelimit-limit"] == "60"
    assert refused.status_code == 401


def test_an_unknown_token_is_bad_credentials(make_simulator: Start) -> None:
    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(tokens=frozenset({"good"})))

    assert client(server, "good").get("/repos/acme/widgets").status_code == 200
    bad = client(server, "bad").get("/repos/acme/widgets")
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    assert graphql(client(server, "bad"), SMALL_QUERY).status_code == 401
