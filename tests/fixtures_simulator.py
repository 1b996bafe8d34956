"""Fixtures that start the GitHub simulator on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.generator import Shape, generate_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World

REAL_PAYLOADS = str(Path(__file__).parent / "data" / "real-github-payloads.json")


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., SimulatorServer]]:
    """make_simulator(repos={"acme/widgets": 40}, config=SimulatorConfig(...), shape=Shape(...), world=World())"""
    servers: list[SimulatorServer] = []

    def start(repos: dict[str, int] | None = None, *, config: SimulatorConfig | None = None, seed: int = 1,
              shape: Shape | None = None, world: World | None = None) -> SimulatorServer:
        world = world or World()
        for full_name, prs in (repos or {}).items():
            owner, name = full_name.split("/")
            world.add_repository(generate_repository(owner, name, prs, seed=seed, shape=shape))
        server = SimulatorServer(Simulator(world, config)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def simulator(make_simulator: Callable[..., SimulatorServer]) -> SimulatorServer:
    """A simulator holding acme/widgets with 60 generated pull requests."""
    return make_simulator({"acme/widgets": 60})
