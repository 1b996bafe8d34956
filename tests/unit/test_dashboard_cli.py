"""`ghcapture dashboard` refuses what it must before it listens: beyond loopback without a token, a short
token, and a database that does not exist (which it must not create)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghcapture.cli.dashboard import is_loopback
from unit.test_cli_surface import assert_one_line, run


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "dash.db"
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.delenv("GHCAPTURE_CONFIG", raising=False)
    monkeypatch.delenv("GHCAPTURE_DASHBOARD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return database


def test_beyond_loopback_without_a_token_it_refuses_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["dashboard", "--host", "0.0.0.0", "--port", "18201"], capsys)

    assert code == 2 and "http://" not in out
    assert assert_one_line(err).startswith(
        "--host 0.0.0.0: listening beyond this machine needs GHCAPTURE_DASHBOARD_TOKEN"
    )


def test_a_short_token_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHCAPTURE_DASHBOARD_TOKEN", "tiny-secret")

    code, _, err = run(["dashboard", "--port", "18202"], capsys)

    assert code == 2 and "at least 16 characters" in assert_one_line(err) and "tiny-secret" not in err


def test_a_missing_database_is_one_line_and_is_not_created(
    capsys: pytest.CaptureFixture[str], environment: Path
) -> None:
    code, out, err = run(["dashboard", "--port", "18203"], capsys)

    assert code == 1 and "http://" not in out
    assert assert_one_line(err) == (
        f"no database at sqlite:///{environment} (check GHCAPTURE_DATABASE_URL, or create it with: "
        "ghcapture db upgrade)"
    )
    assert not environment.exists() and list(environment.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("dashboard.example", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
