from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ghcapture.errors import ConfigError, GhcaptureError
from ghcapture.store.database import (
    VERSION_TABLE,
    DatabaseUnavailableError,
    create_engine_for,
    current_revision,
    head_revision,
    open_database,
    redact_url,
    upgrade,
)
from ghcapture.store.tables import metadata


def test_migrations_create_every_table(store_engine: Engine) -> None:
    names = set(inspect(store_engine).get_table_names())
    assert set(metadata.tables) <= names
    assert VERSION_TABLE in names
    assert current_revision(store_engine) == head_revision()


def test_migrations_match_the_table_definitions(store_engine: Engine) -> None:
    with store_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, metadata) == []


def test_upgrade_is_idempotent(store_engine: Engine, database_url: str) -> None:
    with store_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO repositories (github_id, owner, name, full_name) VALUES (1, 'o', 'r', 'o/r')")
        )
    upgrade(store_engine)
    again = open_database(database_url)
    try:
        assert current_revision(again) == head_revision()
        with again.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM repositories")).scalar_one() == 1
    finally:
        again.dispose()


def test_fresh_database_has_no_revision(database_url: str) -> None:
    engine = create_engine_for(database_url)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_sqlite_pragmas_and_directory(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path}/new/dir/ghcapture.db")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30_000
        assert (tmp_path / "new" / "dir" / "ghcapture.db").exists()
    finally:
        engine.dispose()


def test_sqlite_transaction_rolls_back_ddl(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path}/ghcapture.db")
    try:
        with pytest.raises(RuntimeError), engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
            raise RuntimeError("abandon")
        assert "scratch" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgres://u:p@db.example/x", "postgresql+psycopg"),
        ("postgresql://u:p@db.example/x", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db.example/x", "postgresql+psycopg"),
        ("sqlite:///relative.db", "sqlite+pysqlite"),
    ],
)
def test_url_schemes(url: str, driver: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine_for(url)
    assert engine.url.drivername == driver
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "mysql://root:hunter2@localhost/db",
        "postgresql+psycopg2://u:hunter2@h/d",
        "postgresql://u:hunter2@host:notaport/db",
        "",
    ],
)
def test_malformed_or_unsupported_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_engine_for(url)
    message = str(caught.value)
    assert "\n" not in message
    assert "hunter2" not in message


def test_unreachable_postgres_is_one_line_without_password() -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        open_database("postgresql://ghcapture:s3cret-pw@127.0.0.1:1/capture")
    message = str(caught.value)
    assert isinstance(caught.value, GhcaptureError)
    assert "\n" not in message
    assert "s3cret-pw" not in message
    assert "127.0.0.1" in message and "capture" in message


def test_unwritable_sqlite_directory_is_a_ghcapture_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseUnavailableError):
        open_database(f"sqlite:///{blocker}/sub/ghcapture.db")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:pw@host:5432/db", "postgresql://user:***@host:5432/db"),
        ("postgres://user@host/db", "postgres://user@host/db"),
        (
            "postgresql://host/db?password=pw&sslmode=require",
            "postgresql://host/db?password=***&sslmode=require",
        ),
        ("postgresql://user:pw@host:notaport/db", "postgresql://user:***@host:notaport/db"),
        ("sqlite:///ghcapture.db", "sqlite:///ghcapture.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
