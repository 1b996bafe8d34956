"""Running the simulator: in a background thread on a free port (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ghcapture.simulator.app import GitHubAppIdentity, Simulator, SimulatorConfig
from ghcapture.simulator.world import World


class _QuietDrops(logging.Filter):
    """Dropped connections are injected on purpose; they are not server errors worth a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


@dataclass
class AppKeys:
    identity: GitHubAppIdentity
    private_key_pem: str


def new_app_keys(app_id: int = 424242, installation_id: int = 1) -> AppKeys:
    """A fresh RSA key pair for the simulator's GitHub App."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppKeys(
        GitHubAppIdentity(app_id=app_id, public_key_pem=public, installation_id=installation_id), private
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SimulatorServer:
    """A simulator served by uvicorn in a daemon thread; `url` is its REST base."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port or free_port(host)
        logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
        config = uvicorn.Config(
            simulator.asgi(),
            host=host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="github-simulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the GitHub simulator could not start on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextmanager
def running_simulator(world: World, config: SimulatorConfig | None = None) -> Iterator[SimulatorServer]:
    server = SimulatorServer(Simulator(world, config)).start()
    try:
        yield server
    finally:
        server.stop()


def serve_forever(simulator: Simulator, sock: socket.socket) -> None:
    """Serves on a socket already listening, so that whoever bound it could announce it first."""
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    config = uvicorn.Config(simulator.asgi(), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
