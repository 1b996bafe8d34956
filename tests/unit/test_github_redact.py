"""Secrets never reach a log line or an error message."""

from __future__ import annotations

import io
import logging

import pytest

from ghcapture.github.errors import GitHubError, NotFound
from ghcapture.github.redact import RedactingFilter, install_log_redaction, redact, register_secret
from github_support import rsa_private_key_pem

SECRETS = {
    "classic token": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "oauth token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "user-to-server token": "ghu_16C7e42F292c6912E7710c838347Ae178B4a",
    "installation token": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "refresh token": "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498",
    "fine-grained token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW",
    "old installation token": "v1.1f699f1069f60aaa4c0e2cda8b9d7f0fe1ab4b3e",
    "jwt": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIxMjM0NSJ9.c2lnbmF0dXJlLXBhcnQtaGVyZQ",
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_github_token_kinds_are_masked(kind: str) -> None:
    secret = SECRETS[kind]
    text = f"request failed with {secret} in it"
    assert redact(text) == "request failed with *** in it"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer s3cr3t-value", "Authorization: Bearer ***"),
        ("authorization: token abc123def456", "authorization: token ***"),
        ("{'Authorization': 'opaque'}", "{'Authorization': '***'}"),
        ("sent token 0123456789abcdef to GitHub", "sent token *** to GitHub"),
        ("Bearer 9f8e7d6c5b4a39281706", "Bearer ***"),
        ("postgresql://capture:hunter2@db.example:5432/gh", "postgresql://capture:***@db.example:5432/gh"),
        (
            "https://x-access-token:abc@github.com/acme/widgets.git",
            "https://x-access-token:***@github.com/acme/widgets.git",
        ),
    ],
)
def test_header_scheme_and_url_credentials_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_pem_private_key_block_is_masked() -> None:
    pem, _key = rsa_private_key_pem()
    text = f"key was:\n{pem}\nend"
    out = redact(text)
    assert "PRIVATE KEY" not in out
    assert pem.splitlines()[1] not in out
    assert out.startswith("key was:\n***")


def test_truncated_pem_is_masked_to_the_end() -> None:
    assert redact("oops -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq") == "oops ***"


def test_registered_secret_without_any_shape_is_masked() -> None:
    # The simulator's installation tokens have no prefix and no fixed length.
    register_secret("Zq7ymPcW")
    assert redact("token=Zq7ymPcW; again Zq7ymPcW") == "token=***; again ***"


def test_ordinary_text_is_left_alone() -> None:
    text = "the token expired; see https://api.github.com/repos/acme/widgets/pulls?page=2 (Bearer auth)"
    assert redact(text) == text


def test_log_records_are_redacted_in_message_args_and_traceback() -> None:
    secret = SECRETS["installation token"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("ghcapture.test.redact")
    logger.propagate = False
    logger.addHandler(handler)
    install_log_redaction(logger)
    install_log_redaction(logger)
    try:
        logger.warning("sending %s with %s", "Authorization: token abc123def456", secret)
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert secret not in output
    assert "abc123def456" not in output
    assert "sending Authorization: token *** with ***" in output
    assert "RuntimeError: boom ***" in output
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1


def test_github_errors_are_redacted_and_one_line() -> None:
    secret = SECRETS["classic token"]
    error = NotFound(f"nothing at\n/repos/acme/x for {secret}", status=404)
    assert isinstance(error, GitHubError)
    assert str(error) == "nothing at /repos/acme/x for ***"
    assert error.status == 404
