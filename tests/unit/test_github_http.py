"""GitHubClient against a scripted GitHub: classification, retries, renewals, waits, pagination."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ghcapture.config import Settings
from ghcapture.errors import ConfigError
from ghcapture.github.auth import AppInstallationAuth
from ghcapture.github.errors import (
    BadCredentials,
    Forbidden,
    GraphQLQueryError,
    GraphQLTimeoutError,
    NotFound,
    PermanentError,
    RateLimitedError,
    TransientError,
    Unprocessable,
)
from ghcapture.github.http import GitHubClient
from github_support import (  # noqa: F401
    API,
    START,
    FakeClock,
    ScriptedGitHub,
    anyio_backend,
    clock_fixture,
    reply,
    rsa_private_key_pem,
    settings,
    stamina_without_waits,
)

pytestmark = pytest.mark.anyio

TOKEN = "ghp_" + "A1b2" * 9


def client_for(
    github: ScriptedGitHub, clock: FakeClock, *, config: Settings | None = None, **kwargs: Any
) -> GitHubClient:
    return GitHubClient(
        config or settings(), transport=github.transport(), clock=clock, sleep=clock.sleep, **kwargs
    )


def limit_headers(remaining: int, *, reset_in: float = 1800, resource: str = "core") -> dict[str, str]:
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(5000 - remaining),
        "x-ratelimit-reset": str(int(START + reset_in)),
        "x-ratelimit-resource": resource,
    }


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def rate_limit(cost: int = 1, remaining: int = 4990, reset_in: float = 1800) -> dict[str, Any]:
    return {
        "cost": cost,
        "limit": 5000,
        "remaining": remaining,
        "used": 5000 - remaining,
        "resetAt": iso(START + reset_in),
        "nodeCount": 100,
    }


# -- requests as sent ----------------------------------------------------------------------------------


async def test_rest_sends_github_headers_and_parses_json(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(200, {"full_name": "acme/widgets"}, limit_headers(4999)))
    async with client_for(github, clock) as client:
        response = await client.rest("GET", "/repos/acme/widgets", params={"per_page": 100})
    request = github.requests[0]
    assert str(request.url) == "https://api.github.com/repos/acme/widgets?per_page=100"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"].startswith("ghcapture/")
    assert response.status == 200
    assert response.data == {"full_name": "acme/widgets"}
    assert response.next_url is None
    assert client.stats.rest_requests == 1
    assert client.monitor.snapshot()["core"]["remaining"] == 4999


async def test_enterprise_base_url_keeps_its_path_prefix(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(200, []), reply(200, {"data": {"viewer": {"login": "x"}}}))
    config = settings(
        github_api_url="https://ghe.example/api/v3", github_graphql_url="https://ghe.example/api/graphql"
    )
    async with client_for(github, clock, config=config) as client:
        await client.rest("GET", "repos/acme/widgets/pulls")
        await client.graphql("query { viewer { login } }")
    assert [str(r.url) for r in github.requests] == [
        "https://ghe.example/api/v3/repos/acme/widgets/pulls",
        "https://ghe.example/api/graphql",
    ]


async def test_no_content_gives_none(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(204))
    async with client_for(github, clock) as client:
        response = await client.rest("DELETE", "/repos/acme/widgets/subscription")
    assert response.data is None


# -- permanent errors ----------------------------------------------------------------------------------


async def test_404_names_the_repository(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(404, {"message": "Not Found"}), reply(404, {"message": "Not Found"}))
    async with client_for(github, clock) as client:
        with pytest.raises(NotFound) as caught:
            await client.rest("GET", "/repos/acme/nope")
        assert str(caught.value) == "repository acme/nope not found or not visible to this token"
        with pytest.raises(NotFound, match=r"/repos/acme/nope/pulls/7 not found .*acme/nope"):
            await client.rest("GET", "/repos/acme/nope/pulls/7")
    assert len(github.requests) == 2


async def test_422_carries_githubs_message_redacted(clock: FakeClock) -> None:
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": "Issue", "field": "title", "code": "missing"}],
        "echo": TOKEN,
    }
    github = ScriptedGitHub(clock, reply(422, body), reply(422, {"message": f"bad input {TOKEN}"}))
    async with client_for(github, clock) as client:
        with pytest.raises(Unprocessable, match=r"\(422\): Validation Failed: Issue.title missing"):
            await client.rest("POST", "/repos/acme/widgets/issues", json={})
        with pytest.raises(Unprocessable) as caught:
            await client.rest("POST", "/repos/acme/widgets/issues", json={})
    assert TOKEN not in str(caught.value)
    assert "bad input ***" in str(caught.value)


async def test_403_without_limit_signals_is_forbidden(clock: FakeClock) -> None:
    github = ScriptedGitHub(
        clock, reply(403, {"message": "Resource not accessible by integration"}, limit_headers(4000))
    )
    async with client_for(github, clock) as client:
        with pytest.raises(Forbidden, match="Resource not accessible by integration"):
            await client.rest("GET", "/repos/acme/widgets/pulls")
    assert len(github.requests) == 1
    assert clock.sleeps == []


async def test_other_4xx_is_permanent_and_not_retried(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(400, {"message": "Problems parsing JSON"}))
    async with client_for(github, clock) as client:
        with pytest.raises(PermanentError, match="400"):
            await client.rest("POST", "/markdown", json={})
    assert len(github.requests) == 1


# -- transient errors and retries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        reply(502, text="<html>bad gateway</html>"),
        reply(503, {"message": "Service Unavailable"}),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.ReadTimeout("timed out"),
        reply(200, text='{"truncated": '),
    ],
    ids=["502", "503", "connect", "protocol", "reset", "read-timeout", "malformed-json"],
)
async def test_transient_failure_is_retried_then_succeeds(clock: FakeClock, failure: Any) -> None:
    github = ScriptedGitHub(clock, failure, reply(200, {"ok": True}))
    async with client_for(github, clock) as client:
        response = await client.rest("GET", "/repos/acme/widgets")
    assert response.data == {"ok": True}
    assert len(github.requests) == 2
    assert client.stats.retries == 1
    assert sum(client.stats.by_kind.values()) == 1


async def test_retries_give_up_after_max_attempts(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, *[reply(500, {"message": "Server Error"}) for _ in range(4)])
    async with client_for(github, clock, max_attempts=4) as client:
        with pytest.raises(TransientError, match="GitHub answered 500") as caught:
            await client.rest("GET", "/repos/acme/widgets")
    assert caught.value.status == 500
    assert len(github.requests) == 4
    assert client.stats.retries == 3
    assert client.stats.by_kind == {"server_error": 4}


async def test_retries_are_logged_as_warnings_without_secrets(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    github = ScriptedGitHub(clock, reply(500, {"message": f"leaked {TOKEN}"}), reply(200, {}))
    caplog.set_level(logging.DEBUG, logger="ghcapture.github")
    async with client_for(github, clock) as client:
        await client.rest("GET", "/repos/acme/widgets")
    assert any(r.levelno == logging.WARNING and "attempt 2" in r.getMessage() for r in caplog.records)
    assert any(
        r.levelno == logging.DEBUG and "/repos/acme/widgets -> 200" in r.getMessage() for r in caplog.records
    )
    assert TOKEN not in caplog.text


# -- rate limits -----------------------------------------------------------------------------------------


async def test_403_with_retry_after_waits_then_resends_without_counting_a_failure(clock: FakeClock) -> None:
    limited = reply(403, {"message": "You have exceeded a secondary rate limit."}, {"retry-after": "30"})
    github = ScriptedGitHub(clock, limited, reply(200, {"ok": True}))
    async with client_for(github, clock, max_attempts=1) as client:
        response = await client.rest("GET", "/repos/acme/widgets/pulls")
    assert response.data == {"ok": True}
    assert github.times[1] >= github.times[0] + 30
    assert client.stats.retries == 0
    assert client.stats.waits == 1
    assert client.stats.by_kind == {"secondary_limit": 1}


async def test_primary_limit_spent_waits_until_reset(clock: FakeClock) -> None:
    spent = reply(
        403, {"message": "API rate limit exceeded for installation ID 1."}, limit_headers(0, reset_in=700)
    )
    github = ScriptedGitHub(clock, spent, reply(200, {}, limit_headers(4999, reset_in=4300)))
    async with client_for(github, clock) as client:
        await client.rest("GET", "/repos/acme/widgets/pulls")
    assert github.times[1] >= START + 700
    assert client.stats.by_kind == {"rate_limited": 1}


async def test_429_without_headers_waits_at_least_a_minute(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(429, {"message": "Too Many Requests"}), reply(200, {}))
    async with client_for(github, clock) as client:
        await client.rest("GET", "/repos/acme/widgets/pulls")
    assert github.times[1] - github.times[0] >= 60


async def test_no_request_is_sent_while_a_wait_is_owed(clock: FakeClock) -> None:
    limited = reply(403, {"message": "secondary rate limit"}, {"retry-after": "120"})
    github = ScriptedGitHub(clock, limited, reply(200, {}), reply(200, {}))
    async with client_for(github, clock) as client:
        await client.rest("GET", "/repos/acme/widgets/pulls")
        await client.rest("GET", "/repos/acme/widgets/issues")
    owed = START + 120
    assert github.times[0] == START
    assert all(t >= owed for t in github.times[1:])


async def test_rate_limit_waits_are_capped(clock: FakeClock) -> None:
    limited = [reply(429, {"message": "secondary rate limit"}, {"retry-after": "5"}) for _ in range(4)]
    github = ScriptedGitHub(clock, *limited)
    async with client_for(github, clock, max_rate_limit_waits=3) as client:
        with pytest.raises(RateLimitedError, match="still rate limited after 3 waits") as caught:
            await client.rest("GET", "/repos/acme/widgets/pulls")
    assert caught.value.resource == "core"
    assert len(github.requests) == 4


# -- credentials -----------------------------------------------------------------------------------------


def token_answer(token: str) -> httpx.Response:
    return reply(201, {"token": token, "expires_at": iso(START + 3600)})


def app_client(github: ScriptedGitHub, clock: FakeClock) -> GitHubClient:
    pem, _key = rsa_private_key_pem()
    auth = AppInstallationAuth("12", pem, "99", API, clock=clock)
    return client_for(github, clock, auth=auth)


async def test_401_renews_the_installation_token_once(clock: FakeClock) -> None:
    github = ScriptedGitHub(
        clock,
        token_answer("installation-token-one"),
        reply(401, {"message": "Bad credentials"}),
        token_answer("installation-token-two"),
        reply(200, {"ok": True}),
    )
    async with app_client(github, clock) as client:
        response = await client.rest("GET", "/repos/acme/widgets")
    assert response.data == {"ok": True}
    assert github.paths == ["/app/installations/99/access_tokens", "/repos/acme/widgets"] * 2
    assert github.requests[1].headers["authorization"] == "Bearer installation-token-one"
    assert github.requests[3].headers["authorization"] == "Bearer installation-token-two"


async def test_second_401_after_renewal_is_bad_credentials(clock: FakeClock) -> None:
    github = ScriptedGitHub(
        clock,
        token_answer("installation-token-one"),
        reply(401, {"message": "Bad credentials"}),
        token_answer("installation-token-two"),
        reply(401, {"message": "Bad credentials"}),
    )
    async with app_client(github, clock) as client:
        with pytest.raises(BadCredentials) as caught:
            await client.rest("GET", "/repos/acme/widgets")
    assert str(caught.value) == "GitHub rejected the credentials (401 Bad credentials)"
    assert caught.value.status == 401


async def test_401_with_a_fixed_token_is_bad_credentials_at_once(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(401, {"message": "Bad credentials"}))
    async with client_for(github, clock) as client:
        with pytest.raises(BadCredentials):
            await client.rest("GET", "/repos/acme/widgets")
    assert len(github.requests) == 1


async def test_app_without_installation_id_resolves_it_from_the_repository(clock: FakeClock) -> None:
    pem, _key = rsa_private_key_pem()
    github = ScriptedGitHub(
        clock, reply(200, {"id": 7}), token_answer("installation-token-x"), reply(200, [])
    )
    auth = AppInstallationAuth("12", pem, None, API, clock=clock)
    async with client_for(github, clock, auth=auth) as client:
        await client.rest("GET", "/repos/acme/widgets/pulls")
    assert github.paths == [
        "/repos/acme/widgets/installation",
        "/app/installations/7/access_tokens",
        "/repos/acme/widgets/pulls",
    ]


# -- pagination ------------------------------------------------------------------------------------------


async def test_rest_pages_follow_link_next(clock: FakeClock) -> None:
    def page(n: int, last: int = 3) -> httpx.Response:
        links = [f'<{API}/repositories/1/pulls?state=all&page={n + 1}>; rel="next"'] if n < last else []
        links.append(f'<{API}/repositories/1/pulls?state=all&page={last}>; rel="last"')
        return reply(200, [{"number": n}], {"link": ", ".join(links)})

    github = ScriptedGitHub(clock, page(1), page(2), page(3))
    async with client_for(github, clock) as client:
        numbers = [
            item["number"]
            async for p in client.rest_pages("/repos/acme/widgets/pulls", {"state": "all"})
            for item in p.data
        ]
    assert numbers == [1, 2, 3]
    assert [str(r.url) for r in github.requests] == [
        f"{API}/repos/acme/widgets/pulls?state=all",
        f"{API}/repositories/1/pulls?state=all&page=2",
        f"{API}/repositories/1/pulls?state=all&page=3",
    ]


# -- GraphQL ---------------------------------------------------------------------------------------------


async def test_graphql_returns_data_and_counts_points(clock: FakeClock) -> None:
    answer = {"data": {"repository": {"name": "widgets"}, "rateLimit": rate_limit(cost=3, remaining=4900)}}
    github = ScriptedGitHub(clock, reply(200, answer, limit_headers(4900, resource="graphql")))
    async with client_for(github, clock) as client:
        data = await client.graphql(
            "query($o: String!) { repository(owner: $o) { name } }", {"o": "acme"}, estimated_cost=3
        )
    assert data["repository"] == {"name": "widgets"}
    body = github.requests[0].read()
    assert b'"variables": {"o": "acme"}' in body or b'"variables":{"o":"acme"}' in body
    assert client.stats.graphql_requests == 1
    assert client.stats.graphql_points == 3
    assert client.monitor.snapshot()["graphql"]["remaining"] == 4900


async def test_graphql_rate_limited_waits_until_reset_then_resends(clock: FakeClock) -> None:
    limited = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
    github = ScriptedGitHub(
        clock,
        reply(200, limited, limit_headers(0, reset_in=900, resource="graphql")),
        reply(200, {"data": {"viewer": {"login": "x"}}}),
    )
    async with client_for(github, clock, max_attempts=1) as client:
        data = await client.graphql("query { viewer { login } }")
    assert data == {"viewer": {"login": "x"}}
    assert github.times[1] >= START + 900
    assert client.stats.by_kind == {"graphql_rate_limited": 1}


@pytest.mark.parametrize(
    "answer",
    [
        reply(502, text="<html>Bad gateway</html>"),
        reply(504, text="Gateway Timeout"),
        reply(
            200,
            {
                "data": None,
                "errors": [
                    {
                        "message": "Something went wrong while executing your query. "
                        "This may be the result of a timeout."
                    }
                ],
            },
        ),
        reply(
            200, {"data": {"repository": {"pullRequests": None}}, "errors": [{"message": "Internal error"}]}
        ),
        httpx.ReadTimeout("timed out"),
    ],
    ids=["502", "504", "something-went-wrong", "partial-data", "client-read-timeout"],
)
async def test_graphql_timeouts_are_raised_at_once(clock: FakeClock, answer: Any) -> None:
    github = ScriptedGitHub(clock, answer)
    async with client_for(github, clock) as client:
        with pytest.raises(GraphQLTimeoutError):
            await client.graphql("query { viewer { login } }")
    assert len(github.requests) == 1
    assert client.stats.by_kind == {"graphql_timeout": 1}


@pytest.mark.parametrize(
    ("error", "label"),
    [
        (
            {
                "type": "NOT_FOUND",
                "path": ["repository"],
                "message": "Could not resolve to a Repository with the name 'acme/nope'.",
            },
            "NOT_FOUND",
        ),
        (
            {
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": "This query requests up to 1,000,000 possible nodes",
            },
            "MAX_NODE_LIMIT_EXCEEDED",
        ),
        (
            {
                "message": "Field 'nope' doesn't exist on type 'Query'",
                "extensions": {"code": "undefinedField"},
            },
            "",
        ),
    ],
)
async def test_graphql_query_errors_are_permanent(
    clock: FakeClock, error: dict[str, Any], label: str
) -> None:
    github = ScriptedGitHub(clock, reply(200, {"data": {"repository": None}, "errors": [error]}))
    async with client_for(github, clock) as client:
        with pytest.raises(GraphQLQueryError) as caught:
            await client.graphql('query { repository(owner: "acme", name: "nope") { id } }')
    assert label in str(caught.value)
    assert error["message"][:20] in str(caught.value)
    assert len(github.requests) == 1


async def test_graphql_server_error_other_than_timeout_is_retried(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(500, {"message": "oops"}), reply(200, {"data": {"ok": 1}}))
    async with client_for(github, clock) as client:
        assert await client.graphql("query { ok }") == {"ok": 1}
    assert client.stats.retries == 1


async def test_graphql_tolerated_error_types_return_the_partial_data(clock: FakeClock) -> None:
    missing = {
        "type": "NOT_FOUND",
        "path": ["repository", "p9"],
        "message": "Could not resolve to a PullRequest",
    }
    answer = {"data": {"repository": {"p1": {"number": 1}, "p9": None}}, "errors": [missing]}
    github = ScriptedGitHub(clock, reply(200, answer), reply(200, answer))
    async with client_for(github, clock) as client:
        data = await client.graphql(
            "query ByNumber { repository { p1: pullRequest(number: 1) { number } } }",
            operation_name="ByNumber",
            tolerate=frozenset({"NOT_FOUND"}),
        )
        assert data == answer["data"]
        with pytest.raises(GraphQLQueryError, match="NOT_FOUND"):
            await client.graphql("query { x }")
    assert b'"operationName":"ByNumber"' in github.requests[0].read().replace(b" ", b"")


def test_reserve_comes_from_the_settings_file() -> None:
    client = GitHubClient(settings(extra={"rate_limit_reserve": "0.1"}))
    assert client.monitor.reserve_fraction == 0.1
    assert GitHubClient(settings()).monitor.reserve_fraction == 0.02
    with pytest.raises(ConfigError, match="rate_limit_reserve"):
        GitHubClient(settings(extra={"rate_limit_reserve": "lots"}))
