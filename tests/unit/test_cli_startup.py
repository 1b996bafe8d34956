"""The command line imports what a command needs when it runs it: help and a detached sync stay light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from ghcapture.store.database import (
    VERSION_TABLE,
    _alembic_config,
    create_engine_for,
    current_revision,
    head_revision,
    open_database,
)

HEAVY = ["sqlalchemy", "alembic", "dbos", "httpx", "jinja2", "stamina", "starlette", "graphql"]

# Runs the entry point in a fresh interpreter and prints which of HEAVY it imported.
PROBE = """
import json, sys
heavy = set(sys.argv.pop(1).split(","))
from ghcapture.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)), file=sys.stderr)
"""


def imported(args: list[str], tmp_path: Path) -> list[str]:
    env = dict(os.environ, GHCAPTURE_DATABASE_URL=f"sqlite:///{tmp_path / 'ghcapture.db'}")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sync", "--help"], ["capture", "--help"]])
def test_help_imports_no_database_or_http_library(args: list[str], tmp_path: Path) -> None:
    assert imported(args, tmp_path) == []


def test_detached_sync_on_a_current_database_imports_neither_alembic_nor_dbos(tmp_path: Path) -> None:
    open_database(f"sqlite:///{tmp_path / 'ghcapture.db'}").dispose()
    found = imported(["sync", "acme/widgets", "--detach"], tmp_path)
    assert "sqlalchemy" in found  # it did record the job
    assert not {"alembic", "dbos", "httpx", "jinja2", "stamina"} & set(found)


def test_head_and_current_revision_read_without_alembic_agree_with_alembic(tmp_path: Path) -> None:
    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()
    engine = create_engine_for(f"sqlite:///{tmp_path / 'ghcapture.db'}")
    assert current_revision(engine) is None
    engine.dispose()
    engine = open_database(f"sqlite:///{tmp_path / 'ghcapture.db'}")
    with engine.connect() as connection:
        alembic_says = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
    assert current_revision(engine) == alembic_says == head_revision()
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0001'"))
    assert current_revision(engine) == "0001"
    engine.dispose()


def test_every_name_of_the_github_package_resolves_to_what_its_module_defines() -> None:
    import importlib
    import types

    import ghcapture.github as package

    for name in package.__all__:
        value = getattr(package, name)
        assert not isinstance(value, types.ModuleType), name
        assert getattr(importlib.import_module(value.__module__), name) is value
