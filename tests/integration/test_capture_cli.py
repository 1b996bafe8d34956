"""`ghcapture capture` and `ghcapture demo` from the command line: summaries, one clear line on bad input."""

from __future__ import annotations

import json

import pytest

from capture_support import assert_one_line_error, ghcapture, simulator_env
from ghcapture.simulator.app import SimulatorConfig


def test_capture_prints_a_json_summary(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 30})
    result = ghcapture("capture", "prs", "acme/widgets", "--json", env=simulator_env(server, sqlite_url))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["pull_requests"] == 30
    assert summary["points_used"] >= 1
    assert summary["budget_units"] == summary["points_used"] + summary["rest_requests"]


def test_malformed_repository_name(sqlite_url):
    result = ghcapture("capture", "prs", "not a repo", env={"GHCAPTURE_DATABASE_URL": sqlite_url})
    assert_one_line_error(result, "OWNER/NAME")


def test_missing_repository(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 3})
    result = ghcapture("capture", "prs", "acme/nope", env=simulator_env(server, sqlite_url))
    assert_one_line_error(result, "acme/nope")


def test_bad_token_is_one_line_and_never_echoed(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 3}, config=SimulatorConfig(tokens=frozenset({"ghp_thegoodone"})))
    bad = "ghp_" + "x" * 36
    result = ghcapture("capture", "prs", "acme/widgets", env=simulator_env(server, sqlite_url, token=bad))
    assert_one_line_error(result, "credentials")
    assert bad not in result.stderr + result.stdout


def test_unreachable_database_keeps_nothing_half_done(make_simulator):
    server = make_simulator({"acme/widgets": 3})
    url = "postgresql://capture:s3cretpass@127.0.0.1:1/nowhere"
    result = ghcapture("capture", "prs", "acme/widgets", env=simulator_env(server, url))
    assert_one_line_error(result)
    assert "s3cretpass" not in result.stderr


def test_bad_scope_options(sqlite_url):
    env = {"GHCAPTURE_DATABASE_URL": sqlite_url}
    assert_one_line_error(
        ghcapture("capture", "prs", "acme/widgets", "--days", "3", "--since", "2026-01-01", env=env),
        "not both",
    )
    assert_one_line_error(
        ghcapture("capture", "prs", "acme/widgets", "--since", "yesterday", env=env), "--since"
    )
    assert_one_line_error(ghcapture("capture", "pr-details", "acme/widgets", env=env), "--pr-numbers")
    assert_one_line_error(
        ghcapture("capture", "prs", "acme/widgets", "--pr-numbers", "3,x", env=env), "--pr-numbers"
    )


@pytest.mark.slow
def test_demo_captures_into_the_default_database(tmp_path):
    env = {"GHCAPTURE_DATABASE_URL": "", "GITHUB_TOKEN": "", "GITHUB_API_URL": ""}
    result = ghcapture("demo", "--prs", "300", "--json", env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["equals_ground_truth"] is True
    assert report["stored"]["pull_requests"] == 300
    assert (tmp_path / "ghcapture.db").exists()
    again = json.loads(
        ghcapture("demo", "--prs", "300", "--json", env=env, cwd=str(tmp_path))
        .stdout.strip()
        .splitlines()[-1]
    )
    assert again["pull_requests"] == 0
    assert again["budget_units_per_pr"] < report["budget_units_per_pr"]
