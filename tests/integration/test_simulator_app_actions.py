"""The GitHub App flow (JWT, installation tokens, expiry) and the Actions API the bulk lane drives."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.server import AppKeys, SimulatorServer, new_app_keys

Start = Callable[..., SimulatorServer]
WORKFLOW = """name: capture
run-name: capture ${{ inputs.chunk }}
on:
  workflow_dispatch:
    inputs:
      chunk:
        description: which chunk
        required: true
      note:
        required: false
        default: none
jobs:
  capture:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ inputs.chunk }}"
"""


@pytest.fixture(scope="module")
def keys() -> AppKeys:
    return new_app_keys()


def app_jwt(keys: AppKeys, private_key: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now - 60, "exp": now + 540, "iss": str(keys.identity.app_id), **claims}
    return jwt.encode(payload, private_key or keys.private_key_pem, algorithm="RS256")


def mint(server: SimulatorServer, keys: AppKeys, prefix: str = "") -> httpx.Response:
    return httpx.post(
        f"{server.url}{prefix}/app/installations/{keys.identity.installation_id}/access_tokens",
        headers={"authorization": f"Bearer {app_jwt(keys)}", "accept": "application/vnd.github+json"},
    )


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
def test_an_installation_token_is_minted_from_a_valid_jwt(
    make_simulator: Start, keys: AppKeys, prefix: str
) -> None:
    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(app=keys.identity))
    bearer = {"authorization": f"Bearer {app_jwt(keys)}"}

    installation = httpx.get(f"{server.url}{prefix}/repos/acme/widgets/installation", headers=bearer)
    answer = mint(server, keys, prefix)

    assert installation.status_code == 200 and installation.json()["id"] == keys.identity.installation_id
    assert installation.json()["access_tokens_url"].startswith(f"{server.url}{prefix}/app/installations/")
    assert answer.status_code == 201
    token = answer.json()["token"]
    assert token.startswith("ghs_") and answer.json()["expires_at"].endswith("Z")
    used = httpx.get(f"{server.url}{prefix}/repos/acme/widgets", headers={"authorization": f"token {token}"})
    assert used.status_code == 200
    query = '{ repository(owner: "acme", name: "widgets") { name } }'
    graphql_path = "/api/graphql" if prefix else "/graphql"
    answered = httpx.post(
        f"{server.url}{graphql_path}", json={"query": query}, headers={"authorization": f"bearer {token}"}
    )
    assert answered.json() == {"data": {"repository": {"name": "widgets"}}}


def test_a_jwt_signed_with_another_key_or_for_another_app_is_401(
    make_simulator: Start, keys: AppKeys
) -> None:
    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(app=keys.identity))
    url = f"{server.url}/app/installations/{keys.identity.installation_id}/access_tokens"
    stranger = new_app_keys().private_key_pem
    now = int(time.time())

    forged = httpx.post(url, headers={"authorization": f"Bearer {app_jwt(keys, stranger)}"})
    other_app = httpx.post(url, headers={"authorization": f"Bearer {app_jwt(keys, iss='999')}"})
    too_long = httpx.post(url, headers={"authorization": f"Bearer {app_jwt(keys, exp=now + 3600)}"})
    expired = httpx.post(
        url, headers={"authorization": f"Bearer {app_jwt(keys, iat=now - 900, exp=now - 300)}"}
    )
    missing = httpx.post(url)
    personal = httpx.post(url, headers={"authorization": "token ghp_personal"})

    for answer in (forged, other_app, too_long, expired, missing, personal):
        assert answer.status_code == 401, answer.text
        assert answer.json()["message"]
    assert forged.json()["message"] == "A JSON web token could not be decoded"
    assert other_app.json()["message"] == "Integration not found"
    wrong = httpx.post(
        f"{server.url}/app/installations/999/access_tokens",
        headers={"authorization": f"Bearer {app_jwt(keys)}"},
    )
    assert wrong.status_code == 404


def test_installation_tokens_have_no_fixed_length(make_simulator: Start, keys: AppKeys) -> None:
    server = make_simulator({"acme/widgets": 1}, config=SimulatorConfig(app=keys.identity))

    tokens = [mint(server, keys).json()["token"] for _ in range(12)]

    assert len(set(tokens)) == 12
    assert len({len(token) for token in tokens}) >= 3


def test_an_installation_token_expires(make_simulator: Start, keys: AppKeys) -> None:
    server = make_simulator({"acme/widgets": 1}, config=SimulatorConfig(app=keys.identity, token_lifetime=1))
    token = mint(server, keys).json()["token"]
    headers = {"authorization": f"token {token}"}
    assert httpx.get(f"{server.url}/repos/acme/widgets", headers=headers).status_code == 200

    time.sleep(1.1)

    rest = httpx.get(f"{server.url}/repos/acme/widgets", headers=headers)
    graphql = httpx.post(f"{server.url}/graphql", headers=headers, json={"query": "{ rateLimit { cost } }"})
    assert rest.status_code == 401 and rest.json()["message"] == "Bad credentials"
    assert graphql.status_code == 401
    fresh = mint(server, keys).json()["token"]
    assert (
        httpx.get(f"{server.url}/repos/acme/widgets", headers={"authorization": f"token {fresh}"}).status_code
        == 200
    )


# -- Actions ------------------------------------------------------------------------------------------


def put_workflow(
    http: httpx.Client, path: str = ".github/workflows/capture.yml", content: str = WORKFLOW
) -> httpx.Response:
    return http.put(
        f"/repos/acme/widgets/contents/{path}",
        json={"message": "add workflow", "content": base64.b64encode(content.encode()).decode()},
    )


def dispatch(http: httpx.Client, inputs: dict[str, Any], **extra: Any) -> httpx.Response:
    return http.post(
        "/repos/acme/widgets/actions/workflows/capture.yml/dispatches",
        json={"ref": "main", "inputs": inputs, **extra},
    )


@pytest.fixture(params=["", "/api/v3"])
def actions(request: pytest.FixtureRequest, make_simulator: Start) -> httpx.Client:
    server = make_simulator({"acme/widgets": 2})
    http = httpx.Client(base_url=server.url + request.param, headers={"authorization": "token t"}, timeout=30)
    assert put_workflow(http).status_code == 201
    return http


def test_a_workflow_file_is_put_and_read_back_through_the_contents_api(actions: httpx.Client) -> None:
    got = actions.get("/repos/acme/widgets/contents/.github/workflows/capture.yml")
    flows = actions.get("/repos/acme/widgets/actions/workflows").json()

    assert got.status_code == 200
    assert base64.b64decode(got.json()["content"]).decode() == WORKFLOW
    assert got.json()["url"].startswith(str(actions.base_url).rstrip("/"))
    assert [f["path"] for f in flows["workflows"]] == [".github/workflows/capture.yml"]
    assert flows["workflows"][0]["name"] == "capture"
    stale = put_workflow(actions, content=WORKFLOW + "\n")
    assert stale.status_code == 409  # updating needs the current blob sha
    updated = actions.put(
        "/repos/acme/widgets/contents/.github/workflows/capture.yml",
        json={
            "message": "edit",
            "sha": got.json()["sha"],
            "content": base64.b64encode(b"name: x\n").decode(),
        },
    )
    assert updated.status_code == 200
    assert actions.get("/repos/acme/widgets/contents/missing.txt").status_code == 404


def test_dispatch_with_return_run_details_gives_the_run_id(actions: httpx.Client) -> None:
    answer = dispatch(actions, {"chunk": "7"}, return_run_details=True)
    quiet = dispatch(actions, {"chunk": "8"})

    assert answer.status_code == 200
    run_id = answer.json()["workflow_run_id"]
    assert answer.json()["run_url"].endswith(f"/actions/runs/{run_id}")
    assert quiet.status_code == 204 and quiet.content == b""
    run = actions.get(f"/repos/acme/widgets/actions/runs/{run_id}").json()
    assert run["id"] == run_id and run["display_title"] == "capture 7"
    assert run["status"] == "queued" and run["conclusion"] is None and run["event"] == "workflow_dispatch"
    assert run["path"] == ".github/workflows/capture.yml" and run["head_branch"] == "main"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"chunk": "1", "surprise": "x"}, "Unexpected inputs provided"),
        ({"note": "x"}, "Required input 'chunk'"),
        ({f"i{k}": "x" for k in range(26)}, "25"),
    ],
)
def test_dispatch_refuses_inputs_that_do_not_fit(
    actions: httpx.Client, inputs: dict[str, str], message: str
) -> None:
    answer = dispatch(actions, inputs, return_run_details=True)

    assert answer.status_code == 422
    assert message in answer.json()["message"]
    assert actions.get("/repos/acme/widgets/actions/runs").json()["total_count"] == 0


def test_dispatch_needs_a_known_workflow_and_ref(actions: httpx.Client) -> None:
    missing = actions.post("/repos/acme/widgets/actions/workflows/nope.yml/dispatches", json={"ref": "main"})
    no_ref = actions.post("/repos/acme/widgets/actions/workflows/capture.yml/dispatches", json={})
    bad_ref = actions.post(
        "/repos/acme/widgets/actions/workflows/capture.yml/dispatches",
        json={"ref": "nope", "inputs": {"chunk": "1"}},
    )

    assert missing.status_code == 404 and no_ref.status_code == 422 and bad_ref.status_code == 422


def test_runs_list_get_timing_and_cancel(actions: httpx.Client) -> None:
    ids = [
        dispatch(actions, {"chunk": str(k)}, return_run_details=True).json()["workflow_run_id"]
        for k in range(3)
    ]
    server_url = str(actions.base_url).removesuffix("/").removesuffix("/api/v3")
    httpx.post(f"{server_url}/_simulator/actions/runs/{ids[0]}", json={"status": "in_progress"})
    httpx.post(f"{server_url}/_simulator/actions/runs/{ids[0]}", json={"conclusion": "success"})

    listed = actions.get("/repos/acme/widgets/actions/runs", params={"event": "workflow_dispatch"}).json()
    done = actions.get("/repos/acme/widgets/actions/runs", params={"status": "completed"}).json()
    timing = actions.get(f"/repos/acme/widgets/actions/runs/{ids[0]}/timing").json()
    cancelled = actions.post(f"/repos/acme/widgets/actions/runs/{ids[1]}/cancel")
    again = actions.post(f"/repos/acme/widgets/actions/runs/{ids[0]}/cancel")

    assert listed["total_count"] == 3 and [r["id"] for r in listed["workflow_runs"]] == sorted(
        ids, reverse=True
    )
    assert [r["id"] for r in done["workflow_runs"]] == [ids[0]]
    assert done["workflow_runs"][0]["conclusion"] == "success"
    assert (
        set(timing) >= {"billable", "run_duration_ms"} and timing["billable"]["UBUNTU"]["total_ms"] >= 60_000
    )
    assert cancelled.status_code == 202
    assert actions.get(f"/repos/acme/widgets/actions/runs/{ids[1]}").json()["conclusion"] == "cancelled"
    assert again.status_code == 409
    assert actions.get("/repos/acme/widgets/actions/runs/1").status_code == 404
