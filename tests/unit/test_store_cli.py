from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ghcapture.cli import main
from ghcapture.store.database import create_engine_for, head_revision
from ghcapture.store.tables import repositories
from ghcapture.store.upsert import upsert_rows


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GHCAPTURE_CONFIG", raising=False)


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_upgrade_then_status(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", database_url)
    assert run(["db", "upgrade"]) == 0
    assert head_revision() in capsys.readouterr().out
    engine = create_engine_for(database_url)
    with engine.begin() as conn:
        upsert_rows(
            conn,
            repositories,
            [{"github_id": 1, "owner": "o", "name": "r", "full_name": "o/r"}],
            key=["github_id"],
        )
        assert conn.execute(select(repositories.c.full_name)).scalar_one() == "o/r"
    engine.dispose()
    assert run(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert f"revision: {head_revision()} (latest)" in out
    lines = {line.split()[0]: line.split()[-1] for line in out.splitlines() if len(line.split()) == 2}
    assert lines["repositories"] == "1"
    assert lines["pull_requests"] == "0"


def test_status_of_a_fresh_database_says_not_migrated(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", sqlite_url)
    assert run(["db", "status"]) == 0
    assert "not migrated" in capsys.readouterr().out


def test_database_from_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GHCAPTURE_DATABASE_URL", raising=False)
    (tmp_path / "ghcapture.toml").write_text(
        f'[ghcapture]\ndatabase_url = "sqlite:///{tmp_path}/from-file.db"\n'
    )
    assert run(["db", "upgrade"]) == 0
    assert (tmp_path / "from-file.db").exists()


def test_unreachable_database_is_one_line_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", "postgresql://ghcapture:s3cret-pw@127.0.0.1:1/capture")
    assert run(["db", "upgrade"]) != 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("ghcapture: error:")
    assert "s3cret-pw" not in captured.err + captured.out


def test_malformed_url_exits_with_config_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", "mysql://root:hunter2@localhost/db")
    assert run(["db", "status"]) == 2
    err = capsys.readouterr().err
    assert "unsupported database" in err and "hunter2" not in err
