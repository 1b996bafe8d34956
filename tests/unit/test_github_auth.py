"""Credentials: App JWT claims, installation tokens renewed before expiry, settings, malformed keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import jwt
import pytest

from ghcapture.errors import ConfigError
from ghcapture.github.auth import AppInstallationAuth, TokenAuth, auth_from_settings, make_app_jwt
from ghcapture.github.errors import BadCredentials, NotFound
from ghcapture.github.redact import redact
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
)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def token_answer(token: str, expires_at: float) -> httpx.Response:
    return reply(
        201, {"token": token, "expires_at": iso(expires_at), "permissions": {"pull_requests": "read"}}
    )


def test_app_jwt_claims_and_signature() -> None:
    pem, key = rsa_private_key_pem()
    token = make_app_jwt("12345", pem, START)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    claims = jwt.decode(
        token, key.public_key(), algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {"iat": int(START) - 60, "exp": int(START) + 540, "iss": "12345"}
    assert claims["exp"] - claims["iat"] <= 600


def test_app_jwt_accepts_a_client_id_as_issuer() -> None:
    pem, key = rsa_private_key_pem()
    token = make_app_jwt("Iv23liAbCdEf", pem, START)
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], options={"verify_exp": False})
    assert claims["iss"] == "Iv23liAbCdEf"


def test_app_jwt_is_redacted() -> None:
    pem, _key = rsa_private_key_pem()
    token = make_app_jwt("1", pem, START)
    assert token not in redact(f"Authorization: {token} and bare {token}")


@pytest.mark.parametrize(
    "bad_key",
    [
        "-----BEGIN RSA PRIVATE KEY-----\nTm90QUtleUF0QWxsQnV0TG9uZ0Vub3VnaA==\n"
        "-----END RSA PRIVATE KEY-----",
        "not a pem at all, just Zm9vYmFyYmF6cXV4cXV1eA",
        "",
    ],
)
def test_malformed_private_key_gives_one_line_without_the_key(bad_key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        auth_from_settings(
            settings(github_token=None, github_app_id="12", github_app_private_key=bad_key or " ")
        )
    message = str(caught.value)
    assert "\n" not in message
    assert "GITHUB_APP_PRIVATE_KEY" in message
    assert "Tm90QUtleUF0" not in message
    assert "Zm9vYmFy" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_settings_choose_the_token_first_then_the_app() -> None:
    pem, _key = rsa_private_key_pem()
    both = settings(github_app_id="12", github_app_private_key=pem)
    assert isinstance(auth_from_settings(both), TokenAuth)
    app = auth_from_settings(
        settings(
            github_token=None, github_app_id="12", github_app_private_key=pem, github_app_installation_id="99"
        )
    )
    assert isinstance(app, AppInstallationAuth)
    assert app.installation_id == "99"
    assert app.renewable


def test_settings_without_credentials_say_what_to_set() -> None:
    with pytest.raises(ConfigError) as caught:
        auth_from_settings(settings(github_token=None))
    assert "GITHUB_TOKEN" in str(caught.value)
    assert "GITHUB_APP_ID" in str(caught.value)


def test_token_auth_never_shows_its_token() -> None:
    auth = TokenAuth("ghp_" + "Z9" * 18)
    assert "Z9Z9" not in repr(auth)
    assert not auth.renewable


@pytest.mark.anyio
async def test_token_auth_sends_a_bearer_header() -> None:
    async with httpx.AsyncClient() as http:
        assert await TokenAuth("opaque-token-1").authorization(http) == "Bearer opaque-token-1"


@pytest.mark.anyio
async def test_installation_token_is_cached_then_renewed_five_minutes_before_expiry(clock: FakeClock) -> None:
    pem, key = rsa_private_key_pem()
    github = ScriptedGitHub(
        clock,
        token_answer("first-installation-token", START + 3600),
        token_answer("second-installation-token", START + 7200),
    )
    auth = AppInstallationAuth("12", pem, 99, API, clock=clock)
    async with httpx.AsyncClient(transport=github.transport()) as http:
        assert await auth.authorization(http) == "Bearer first-installation-token"
        clock.now = START + 3600 - 301
        assert await auth.authorization(http) == "Bearer first-installation-token"
        assert len(github.requests) == 1
        clock.now = START + 3600 - 299
        assert await auth.authorization(http) == "Bearer second-installation-token"
    assert github.paths == ["/app/installations/99/access_tokens"] * 2
    assert all(r.method == "POST" for r in github.requests)
    sent = github.requests[1].headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(
        sent, key.public_key(), algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims["iat"] == int(START + 3600 - 299) - 60
    # Installation tokens have no recognisable shape; they are registered as secrets when seen.
    assert redact("x second-installation-token y") == "x *** y"


@pytest.mark.anyio
async def test_invalidate_forces_a_new_token(clock: FakeClock) -> None:
    pem, _key = rsa_private_key_pem()
    github = ScriptedGitHub(
        clock, token_answer("tok-one-abcdef", START + 3600), token_answer("tok-two-abcdef", START + 3600)
    )
    auth = AppInstallationAuth("12", pem, "99", API, clock=clock)
    async with httpx.AsyncClient(transport=github.transport()) as http:
        await auth.authorization(http)
        auth.invalidate()
        assert await auth.authorization(http) == "Bearer tok-two-abcdef"
    assert auth.exchanges == 2


@pytest.mark.anyio
async def test_rejected_jwt_is_bad_credentials(clock: FakeClock) -> None:
    pem, _key = rsa_private_key_pem()
    github = ScriptedGitHub(clock, reply(401, {"message": "A JSON web token could not be decoded"}))
    auth = AppInstallationAuth("12", pem, "99", API, clock=clock)
    async with httpx.AsyncClient(transport=github.transport()) as http:
        with pytest.raises(BadCredentials, match="GITHUB_APP_ID"):
            await auth.authorization(http)


@pytest.mark.anyio
async def test_installation_is_resolved_from_a_repository(clock: FakeClock) -> None:
    pem, _key = rsa_private_key_pem()
    github = ScriptedGitHub(
        clock,
        reply(200, {"id": 4242, "app_id": 12}),
        token_answer("tok-abcdef", START + 3600),
        reply(404, {"message": "Not Found"}),
    )
    auth = AppInstallationAuth("12", pem, None, "https://ghe.example/api/v3", clock=clock)
    async with httpx.AsyncClient(transport=github.transport()) as http:
        with pytest.raises(ConfigError, match="GITHUB_APP_INSTALLATION_ID"):
            await auth.authorization(http)
        assert await auth.resolve_installation("acme", "widgets", http) == "4242"
        assert await auth.authorization(http) == "Bearer tok-abcdef"
        with pytest.raises(NotFound, match="not installed on acme/private"):
            await auth.resolve_installation("acme", "private", http)
    assert github.paths == [
        "/api/v3/repos/acme/widgets/installation",
        "/api/v3/app/installations/4242/access_tokens",
        "/api/v3/repos/acme/private/installation",
    ]


@pytest.mark.anyio
async def test_concurrent_requests_share_one_token_exchange(clock: FakeClock) -> None:
    pem, _key = rsa_private_key_pem()
    github = ScriptedGitHub(clock, token_answer("shared-token-abc", START + 3600))
    auth = AppInstallationAuth("12", pem, "99", API, clock=clock)
    async with httpx.AsyncClient(transport=github.transport()) as http:
        headers = await asyncio.gather(*(auth.authorization(http) for _ in range(5)))
    assert set(headers) == {"Bearer shared-token-abc"}
    assert auth.exchanges == 1
