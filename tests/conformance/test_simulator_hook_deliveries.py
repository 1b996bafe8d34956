"""The simulator's App deliveries API has GitHub's shapes: `GET /app/hook/deliveries` and
`POST /app/hook/deliveries/{delivery_id}/attempts`, checked against GitHub's OpenAPI description."""

from __future__ import annotations

import time
from typing import Any

import httpx

from ghcapture.github.auth import make_app_jwt
from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.evolve import Changes, apply_changes
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.server import SimulatorServer, new_app_keys
from ghcapture.simulator.webhooks import DeliveryOptions, attach_deliverer
from ghcapture.simulator.world import World

from .openapi_check import validate_response


def test_the_app_deliveries_api_matches_openapi(github_openapi: dict[str, Any]) -> None:
    keys = new_app_keys()
    world = World()
    repo = world.add_repository(generate_repository("acme", "widgets", 10, seed=2))
    server = SimulatorServer(Simulator(world, SimulatorConfig(app=keys.identity))).start()
    answers = iter([503, 202])
    receiver = httpx.MockTransport(lambda _request: httpx.Response(next(answers, 202)))
    deliverer = attach_deliverer(
        server.simulator, DeliveryOptions(url="http://receiver.test/", secret="s"), transport=receiver
    )
    try:
        apply_changes(world, repo, Changes({"closed": 1, "edited_bodies": 1}, None, 3))
        assert deliverer.wait_idle(10)
        jwt = make_app_jwt(str(keys.identity.app_id), keys.private_key_pem, time.time())
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {jwt}"}) as http:
            listed = http.get("/app/hook/deliveries", params={"per_page": 1})
            validate_response(
                github_openapi, "get", "/app/hook/deliveries", listed.status_code, listed.json()
            )
            assert 'rel="next"' in listed.headers["link"]
            everything = http.get("/app/hook/deliveries").json()
            failed = [d for d in everything if d["status_code"] >= 300]
            assert len(failed) == 1 and failed[0]["status"] == "Invalid HTTP Response: 503"

            again = http.post(f"/app/hook/deliveries/{failed[0]['id']}/attempts")
            validate_response(
                github_openapi,
                "post",
                "/app/hook/deliveries/{delivery_id}/attempts",
                again.status_code,
                again.json(),
            )
            assert deliverer.wait_idle(10)
            latest = http.get("/app/hook/deliveries").json()[0]
            assert (latest["guid"], latest["redelivery"], latest["status_code"]) == (
                failed[0]["guid"],
                True,
                202,
            )
            assert http.post("/app/hook/deliveries/999999/attempts").status_code == 404
            assert httpx.get(server.url + "/app/hook/deliveries").status_code == 401
    finally:
        deliverer.close()
        server.stop()
