"""Each injected fault looks as GitHub's does on the wire; over-long queries fail as GitHub's do."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import jwt
import pytest

from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.limits import FAULT_KINDS, REST_ONLY, FaultPlan
from ghcapture.simulator.server import SimulatorServer, new_app_keys

Start = Callable[..., SimulatorServer]
QUERY = '{ repository(owner: "acme", name: "widgets") { pullRequests(first: 5) { nodes { number } } } }'


def client(server: SimulatorServer, token: str = "t") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"token {token}"}, timeout=30)


def graphql(http: httpx.Client, query: str = QUERY) -> httpx.Response:
    return http.post("/graphql", json={"query": query})


@pytest.fixture
def server(make_simulator: Start) -> SimulatorServer:
    return make_simulator({"acme/widgets": 8}, config=SimulatorConfig(faults=FaultPlan(slow_seconds=0.4)))


def queue(server: SimulatorServer, kind: str, api: str) -> None:
    # Through the control endpoint, as a demo or another process would.
    answer = httpx.post(f"{server.url}/_simulator/faults", json={"next": [{"kind": kind, "api": api}]})
    assert answer.status_code == 200


@pytest.mark.parametrize("api", ["rest", "graphql"])
@pytest.mark.parametrize("kind", ["502", "504"])
def test_gateway_errors_have_an_empty_body(server: SimulatorServer, kind: str, api: str) -> None:
    queue(server, kind, api)
    http = client(server)

    answer = graphql(http) if api == "graphql" else http.get("/repos/acme/widgets/pulls")

    assert answer.status_code == int(kind) and answer.content == b""
    retried = graphql(http) if api == "graphql" else http.get("/repos/acme/widgets/pulls")
    assert retried.status_code == 200  # a queued fault is served once


def test_502_can_be_an_html_page(server: SimulatorServer) -> None:
    queue(server, "502-html", "rest")

    answer = client(server).get("/repos/acme/widgets")

    assert answer.status_code == 502 and answer.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_something_went_wrong_is_200_with_null_data(server: SimulatorServer) -> None:
    queue(server, "something-went-wrong", "graphql")

    answer = graphql(client(server))

    body = answer.json()
    assert answer.status_code == 200 and body["data"] is None
    assert body["errors"][0]["message"].startswith("Something went wrong while executing your query")


def test_partial_is_data_with_an_error_at_a_path(server: SimulatorServer) -> None:
    queue(server, "partial", "graphql")

    body = graphql(client(server)).json()

    assert body["data"] == {"repository": None}
    assert body["errors"][0]["path"] == ["repository"]


def test_graphql_only_faults_never_reach_rest(server: SimulatorServer) -> None:
    queue(server, "partial", "graphql")
    http = client(server)

    assert http.get("/repos/acme/widgets").status_code == 200
    assert graphql(http).json()["data"] == {"repository": None}


@pytest.mark.parametrize("api", ["rest", "graphql"])
def test_secondary_is_403_with_retry_after(server: SimulatorServer, api: str) -> None:
    queue(server, "secondary", api)
    http = client(server)

    answer = graphql(http) if api == "graphql" else http.get("/repos/acme/widgets")

    assert answer.status_code == 403 and answer.headers["retry-after"] == "1"
    assert "secondary rate limit" in answer.json()["message"]


@pytest.mark.parametrize("api", ["rest", "graphql"])
def test_reset_drops_the_connection(server: SimulatorServer, api: str) -> None:
    queue(server, "reset", api)
    http = client(server)

    with pytest.raises(httpx.TransportError):
        graphql(http) if api == "graphql" else http.get("/repos/acme/widgets")
    assert client(server).get("/repos/acme/widgets").status_code == 200


def test_slow_delays_the_real_answer(server: SimulatorServer) -> None:
    queue(server, "slow", "graphql")
    http = client(server)

    started = time.monotonic()
    answer = graphql(http)
    elapsed = time.monotonic() - started

    assert answer.status_code == 200 and answer.json()["data"]["repository"]["pullRequests"]["nodes"]
    assert elapsed >= 0.4  # the configured delay is a lower bound, not a speed claim
    with pytest.raises(httpx.ReadTimeout):
        queue(server, "slow", "rest")
        httpx.get(f"{server.url}/repos/acme/widgets", timeout=0.1)


@pytest.mark.parametrize("api", ["rest", "graphql"])
def test_malformed_json_is_a_truncated_200(server: SimulatorServer, api: str) -> None:
    queue(server, "malformed", api)
    http = client(server)

    answer = graphql(http) if api == "graphql" else http.get("/repos/acme/widgets")

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_expired_token_is_401_for_an_installation_token_only(make_simulator: Start) -> None:
    keys = new_app_keys()
    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(app=keys.identity))
    now = int(time.time())
    app_jwt = jwt.encode(
        {"iat": now - 30, "exp": now + 300, "iss": str(keys.identity.app_id)},
        keys.private_key_pem,
        algorithm="RS256",
    )
    minted = httpx.post(
        f"{server.url}/app/installations/{keys.identity.installation_id}/access_tokens",
        headers={"authorization": f"Bearer {app_jwt}"},
    ).json()["token"]

    server.simulator.config.faults.queue("expired-token", "rest")
    personal = client(server, "personal").get("/repos/acme/widgets")
    server.simulator.config.faults.queue("expired-token", "rest")
    expired = client(server, minted).get("/repos/acme/widgets")

    assert personal.status_code == 200  # a personal token does not expire mid-run
    assert expired.status_code == 401 and expired.json()["message"] == "Bad credentials"
    assert client(server, minted).get("/repos/acme/widgets").status_code == 401  # and stays expired


def test_every_fault_kind_is_counted(make_simulator: Start) -> None:
    server = make_simulator({"acme/widgets": 40})
    http = client(server)
    skipped = ("reset", "headers-only", "slow", "expired-token", "moved")
    for kind in FAULT_KINDS:
        if kind in skipped:
            continue
        api = "rest" if kind in REST_ONLY else "graphql"
        queue(server, kind, api)
        if api == "rest":
            http.get("/repos/acme/widgets/pulls", params={"state": "all", "per_page": 5, "page": 2})
        else:
            graphql(http)
        if kind.startswith("secondary"):
            time.sleep(1.05)  # an injected secondary limit refuses everything for a second

    faults = http.get("/_simulator/stats").json()["faults"]

    assert {k for k in FAULT_KINDS if k not in skipped} <= set(faults)


def test_a_fault_rate_mixes_faults_with_good_answers(make_simulator: Start) -> None:
    plan = FaultPlan(rate=0.5, kinds=("502", "504", "502-html"), seed=3)
    http = client(make_simulator({"acme/widgets": 3}, config=SimulatorConfig(faults=plan)))

    statuses = [http.get("/repos/acme/widgets").status_code for _ in range(40)]

    assert 5 <= statuses.count(200) <= 35
    assert set(statuses) <= {200, 502, 504} and len(set(statuses)) >= 3


def test_unknown_fault_kinds_are_refused(server: SimulatorServer) -> None:
    with pytest.raises(ValueError, match="unknown"):
        FaultPlan(kinds=("502", "teapot"))
    answer = httpx.post(f"{server.url}/_simulator/faults", json={"next": [{"kind": "teapot"}]})
    assert answer.status_code == 422


BIG = """{ repository(owner: "acme", name: "widgets") { pullRequests(first: 100) { nodes {
  number files(first: 100) { nodes { path } } comments(first: 100) { nodes { id } }
  reviews(first: 100) { nodes { id } } } } } }"""
SMALL = '{ repository(owner: "acme", name: "widgets") { pullRequests(first: 2) { nodes { number } } } }'


def test_a_query_over_githubs_time_limit_fails_as_githubs_do(make_simulator: Start) -> None:
    # 1 simulated second per node, played 1,000 times faster: 10 nodes pass, hundreds take over 10 s.
    config = SimulatorConfig(latency_ms_per_node=1000.0, time_scale=0.001)
    server = make_simulator({"acme/widgets": 120}, config=config)
    http = client(server)

    big = graphql(http, BIG)
    small = graphql(http, SMALL)

    assert big.status_code == 200
    assert big.json()["data"] is None
    assert big.json()["errors"][0]["message"].startswith("Something went wrong while executing your query")
    assert small.status_code == 200 and len(small.json()["data"]["repository"]["pullRequests"]["nodes"]) == 2
    assert server.simulator.stats.faults["timeout"] == 1
