"""Fakes shared by the GitHub client tests: a clock whose sleep moves time, a scripted GitHub, an App key."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ghcapture.config import Settings

START = 1_700_000_000.0
API = "https://api.github.com"


class FakeClock:
    """time.time and asyncio.sleep in one: sleeping only advances the clock, and is recorded."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class ScriptedGitHub:
    """A MockTransport handler that answers from a script, in order, and records each request and its time."""

    def __init__(self, clock: FakeClock, *answers: Answer) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(self.clock())
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            if isinstance(answer, httpx.RequestError):
                answer.request = request
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def reply(
    status: int = 200, body: Any = None, headers: dict[str, str] | None = None, text: str | None = None
) -> httpx.Response:
    """A GitHub-shaped answer with JSON body (or raw text)."""
    content = text.encode() if text is not None else (b"" if body is None else json.dumps(body).encode())
    all_headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}
    return httpx.Response(status, content=content, headers=all_headers)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "github_token": "ghp_" + "A1b2" * 9,
        "github_api_url": API,
        "github_graphql_url": API + "/graphql",
    }
    values.update(overrides)
    return Settings(**values)


@functools.cache
def rsa_private_key_pem() -> tuple[str, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def stamina_without_waits() -> Iterator[None]:
    # Keep each client's own max_attempts, with zero backoff.
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock()
