"""Credentials for GitHub: a fixed token, or a GitHub App acting as one of its installations."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ghcapture.config import Settings
from ghcapture.errors import ConfigError
from ghcapture.github.errors import (
    BadCredentials,
    ConnectionFailed,
    Forbidden,
    NotFound,
    PermanentError,
    TokenExchangeLimited,
    TransientError,
    definitive_connect_reason,
    origin_of,
)
from ghcapture.github.redact import register_secret

log = logging.getLogger("ghcapture.github")

# GitHub refuses App JWTs that live longer than 10 minutes; iat is backdated for clock drift.
JWT_BACKDATE = 60
JWT_LIFETIME = 540
# Renew an installation token this long before GitHub says it expires.
RENEW_BEFORE = 300
# GitHub's installation tokens last an hour; assumed when an answer omits expires_at.
DEFAULT_TOKEN_LIFETIME = 3600
API_VERSION_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


@runtime_checkable
class Auth(Protocol):
    """What the client needs from credentials: a header value, and a way to drop a rejected one."""

    renewable: bool

    async def authorization(self, http: httpx.AsyncClient) -> str: ...

    def invalidate(self) -> None: ...


class TokenAuth:
    """A personal access token, or an installation token made elsewhere (GITHUB_TOKEN in Actions)."""

    renewable = False

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token:
            raise ConfigError("GITHUB_TOKEN is empty")
        register_secret(token)
        self._token = token

    async def authorization(self, http: httpx.AsyncClient) -> str:
        return f"Bearer {self._token}"

    def invalidate(self) -> None:
        """A fixed token cannot be renewed; the client reports the 401."""

    def __repr__(self) -> str:
        return "TokenAuth(***)"


def load_private_key(private_key: str) -> rsa.RSAPrivateKey:
    """The App's PEM key, or a one-line ConfigError that does not repeat it."""
    register_secret(private_key)
    for line in private_key.splitlines():
        if len(line.strip()) >= 16 and not line.startswith("-----"):
            register_secret(line)
    try:
        key = serialization.load_pem_private_key(private_key.strip().encode(), password=None)
    except (ValueError, TypeError, UnicodeError):
        raise ConfigError(
            "GITHUB_APP_PRIVATE_KEY is not a readable PEM private key "
            "(expected -----BEGIN RSA PRIVATE KEY-----)"
        ) from None
    except Exception:  # cryptography raises its own types for some malformed keys
        raise ConfigError("GITHUB_APP_PRIVATE_KEY is not a readable PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("GITHUB_APP_PRIVATE_KEY must be an RSA key (GitHub signs App JWTs with RS256)")
    return key


def make_app_jwt(app_id: str, private_key: str | rsa.RSAPrivateKey, now: float) -> str:
    """A GitHub App JWT: RS256, iat backdated 60 s, expiring 9 minutes from now, iss = app id or client id."""
    key = load_private_key(private_key) if isinstance(private_key, str) else private_key
    issued = int(now)
    claims = {"iat": issued - JWT_BACKDATE, "exp": issued + JWT_LIFETIME, "iss": str(app_id)}
    token = jwt.encode(claims, key, algorithm="RS256")
    register_secret(token)
    return token


def _parse_expires_at(value: object, now: float) -> float:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return now + DEFAULT_TOKEN_LIFETIME


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""


class AppJwtAuth:
    """The GitHub App itself (not an installation): a fresh JWT on every request, for the App's own
    endpoints such as its webhook deliveries (`/app/hook/deliveries`)."""

    renewable = False

    def __init__(self, app_id: str, private_key: str, *, clock: Callable[[], float] = time.time) -> None:
        self.app_id = str(app_id)
        self._key = load_private_key(private_key)
        self.clock = clock

    async def authorization(self, http: httpx.AsyncClient) -> str:
        return f"Bearer {make_app_jwt(self.app_id, self._key, self.clock())}"

    def invalidate(self) -> None:
        """A JWT is made anew for each request; a 401 is the App's key or id, reported as it is."""

    def __repr__(self) -> str:
        return f"AppJwtAuth(app_id={self.app_id!r})"


class AppInstallationAuth:
    """A GitHub App acting as an installation: JWT -> installation token, renewed before it expires."""

    renewable = True

    def __init__(
        self,
        app_id: str,
        private_key: str,
        installation_id: str | int | None,
        api_url: str,
        *,
        clock: Callable[[], float] = time.time,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.app_id = str(app_id)
        self._key = load_private_key(private_key)
        self.installation_id = str(installation_id) if installation_id else None
        self.api_url = api_url.rstrip("/")
        self.clock = clock
        self.http = http
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.exchanges = 0

    def __repr__(self) -> str:
        return f"AppInstallationAuth(app_id={self.app_id!r}, installation_id={self.installation_id!r})"

    def app_jwt(self) -> str:
        return make_app_jwt(self.app_id, self._key, self.clock())

    @property
    def expires_at(self) -> float:
        return self._expires_at

    async def authorization(self, http: httpx.AsyncClient) -> str:
        async with self._lock:
            if self._token is None or self.clock() >= self._expires_at - RENEW_BEFORE:
                await self._exchange(http)
            assert self._token is not None
            return f"Bearer {self._token}"

    def invalidate(self) -> None:
        """GitHub answered 401: the next request gets a new installation token."""
        self._token = None
        self._expires_at = 0.0

    async def resolve_installation(self, owner: str, repo: str, http: httpx.AsyncClient | None = None) -> str:
        """Find the installation id for owner/repo (GET /repos/{owner}/{repo}/installation with the JWT)."""
        client = http or self.http
        if client is None:
            async with httpx.AsyncClient() as temporary:
                return await self.resolve_installation(owner, repo, temporary)
        path = f"/repos/{owner}/{repo}/installation"
        response = await self._send(client, "GET", path)
        if response.status_code == 404:
            raise NotFound(f"the GitHub App {self.app_id} is not installed on {owner}/{repo}", status=404)
        self._raise_for_status(response, "GET", path)
        try:
            installation = str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise TransientError(
                f"GitHub's answer to GET {path} is not an installation", status=200
            ) from None
        if installation != self.installation_id:
            self.invalidate()
        self.installation_id = installation
        return installation

    async def _send(self, http: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
        headers = {**API_VERSION_HEADERS, "Authorization": f"Bearer {self.app_jwt()}"}
        try:
            return await http.request(method, self.api_url + path, headers=headers)
        except httpx.ConnectError as exc:
            reason = definitive_connect_reason(exc)
            raise ConnectionFailed(
                f"{method} {path}: connection failed ({reason or type(exc).__name__})",
                origin=origin_of(self.api_url),
                reason=reason,
            ) from None
        except httpx.TransportError as exc:
            raise TransientError(f"{method} {path}: {type(exc).__name__}") from None

    def _raise_for_status(self, response: httpx.Response, method: str, path: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status == 401:
            raise BadCredentials(
                f"GitHub rejected the App's JWT (401 {_message(response) or 'Bad credentials'}); "
                "check GITHUB_APP_ID and the private key"
            )
        if status in (403, 429):
            message = _message(response)
            retry_after = response.headers.get("retry-after")
            # A secondary limit on the exchange is a wait, not a refusal (GitHub answers 403 or 429).
            if status == 429 or retry_after is not None or "rate limit" in message.lower():
                try:
                    seconds = max(float(retry_after), 0.0) if retry_after is not None else None
                except ValueError:
                    seconds = None
                raise TokenExchangeLimited(
                    f"{method} {path}: rate limited ({status})", retry_after=seconds, status=status
                )
            raise Forbidden(f"GitHub refused {method} {path} (403): {message}", status=403)
        if status == 404:
            raise NotFound(f"GitHub App installation {self.installation_id} not found", status=404)
        if status >= 500:
            raise TransientError(f"{method} {path}: GitHub answered {status}", status=status)
        raise PermanentError(f"{path}: GitHub answered {status}: {_message(response)}", status=status)

    async def _exchange(self, http: httpx.AsyncClient) -> None:
        if self.http is None:
            self.http = http
        if self.installation_id is None:
            raise ConfigError(
                "GITHUB_APP_INSTALLATION_ID is not set "
                "(or resolve it from a repository before the first call)"
            )
        path = f"/app/installations/{self.installation_id}/access_tokens"
        response = await self._send(http, "POST", path)
        self._raise_for_status(response, "POST", path)
        try:
            body = response.json()
            token = str(body["token"])
        except (ValueError, KeyError, TypeError):
            raise TransientError(
                f"GitHub's answer to POST {path} holds no token", status=response.status_code
            ) from None
        register_secret(token)
        self._token = token
        self._expires_at = _parse_expires_at(body.get("expires_at"), self.clock())
        self.exchanges += 1
        log.debug("installation %s: new token, expires at %s", self.installation_id, body.get("expires_at"))


def auth_from_settings(settings: Settings, *, clock: Callable[[], float] = time.time) -> Auth:
    """GITHUB_TOKEN if set; else the GitHub App; else a ConfigError naming what to set."""
    if settings.github_token:
        return TokenAuth(settings.github_token)
    if settings.github_app_id and settings.github_app_private_key:
        return AppInstallationAuth(
            settings.github_app_id,
            settings.github_app_private_key,
            settings.github_app_installation_id,
            settings.github_api_url,
            clock=clock,
        )
    if settings.github_app_id:
        raise ConfigError(
            "GITHUB_APP_ID is set without GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_PATH)"
        )
    raise ConfigError(
        "no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY "
        "(or GITHUB_APP_PRIVATE_KEY_PATH) and GITHUB_APP_INSTALLATION_ID"
    )
