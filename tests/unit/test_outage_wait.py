"""Waiting out a lost database: only connection errors are waited for, with one line when the database goes
and one when it is back, and an outage longer than allowed is given up on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError, OperationalError

from ghcapture.jobs.outage import database_came_back


def lost_connection() -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly"))


def test_a_lost_connection_is_waited_out_when_the_database_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/x.db")
    with caplog.at_level(logging.WARNING, logger="ghcapture"):
        assert database_came_back(lost_connection(), engine, 5.0, who="acme/widgets")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0] == "acme/widgets: the database is unreachable; waiting up to 5 s for it"
    assert lines[1].startswith("acme/widgets: the database is back after")


def test_other_errors_are_not_waited_for(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/x.db")
    conflict = IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))
    with caplog.at_level(logging.WARNING, logger="ghcapture"):
        assert not database_came_back(conflict, engine, 5.0, who="acme/widgets")
        assert not database_came_back(ValueError("no"), engine, 5.0, who="acme/widgets")
    assert caplog.records == []


def test_an_outage_longer_than_allowed_is_given_up(caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/x", connect_args={"connect_timeout": 2})
    with caplog.at_level(logging.WARNING, logger="ghcapture"):
        assert not database_came_back(lost_connection(), engine, 0.3, who="acme/widgets")
    assert [r.getMessage() for r in caplog.records] == [
        "acme/widgets: the database is unreachable; waiting up to 0.3 s for it"
    ]
