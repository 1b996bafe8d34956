"""`ghcapture verify`: the database against GitHub's own counts, a table or JSON, exit 1 on differences,
`--repair` capturing again exactly the pull requests that differ."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from capture_support import assert_one_line_error, compare, ghcapture, run_capture, simulator_env
from ghcapture.store.database import open_database
from ghcapture.store.tables import comments, pr_commits, pr_files, pull_requests, reviews


def test_differences_are_listed_and_repaired(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 40})
    engine = open_database(sqlite_url)
    run_capture(server, engine, "acme/widgets")
    env = simulator_env(server, sqlite_url)
    clean = ghcapture("verify", "acme/widgets", env=env)
    assert clean.returncode == 0, clean.stderr
    assert "40 of GitHub's 40 pull requests held" in clean.stdout and "No differences." in clean.stdout
    repo = server.simulator.world.repository("acme", "widgets")
    assert repo is not None
    prs = repo.pull_requests
    lost_pr = prs[3]
    lost_files = next(p for p in prs[4:] if p.files)
    lost_commit = next(p for p in prs[4:] if p.commits and p is not lost_files)
    deleted = next(p for p in prs[4:] if p.issue_comments and p not in (lost_files, lost_commit))
    with engine.begin() as conn:
        for table in (pr_files, pr_commits, comments, reviews):
            conn.execute(delete(table).where(table.c.pull_request_id == lost_pr.id))
        conn.execute(delete(pull_requests).where(pull_requests.c.github_id == lost_pr.id))
        conn.execute(delete(pr_files).where(pr_files.c.pull_request_id == lost_files.id))
        one = conn.execute(select(pr_commits.c.sha).where(pr_commits.c.pull_request_id == lost_commit.id))
        conn.execute(delete(pr_commits).where(pr_commits.c.sha == one.scalars().first()))
        # A live comment wrongly held as deleted is one issue comment fewer.
        conn.execute(
            update(comments)
            .where(comments.c.github_id == deleted.issue_comments[0].id)
            .values(deleted_at=datetime(2026, 1, 1, tzinfo=UTC))
        )

    listed = ghcapture("verify", "acme/widgets", "--json", env=env)
    assert listed.returncode == 1, listed.stderr
    report = json.loads(listed.stdout)
    differing = sorted([lost_pr.number, lost_files.number, lost_commit.number, deleted.number])
    assert report["numbers"] == differing
    whats = {(d["number"], d["what"]) for d in report["differences"]}
    assert (None, "pull requests") in whats and (lost_pr.number, "pull request") in whats
    assert (lost_files.number, "files") in whats and (lost_commit.number, "commits") in whats
    assert (deleted.number, "issue comments") in whats
    assert report["points_used"] >= 1

    table = ghcapture("verify", "acme/widgets", env={**env, "COLUMNS": "80"})
    assert table.returncode == 1
    assert f"#{lost_files.number}" in table.stdout and max(map(len, table.stdout.splitlines())) <= 80

    before = server.simulator.stats.as_dict()["graphql_pull_requests"]
    repaired = ghcapture("verify", "acme/widgets", "--repair", "--json", env=env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    again = json.loads(repaired.stdout)["repair"]
    assert again["after"]["equal"] and again["capture"]["pull_requests"] == len(differing)
    # Exactly those that differed were read again (besides the counts, which list every PR twice).
    read = server.simulator.stats.as_dict()["graphql_pull_requests"] - before
    assert read <= 2 * 40 + len(differing)
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


def test_verify_refuses_bad_input(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 5})
    env = simulator_env(server, sqlite_url)
    assert_one_line_error(ghcapture("verify", "not a repo", env=env), "OWNER/NAME")
    missing = ghcapture("verify", "acme/widgets", env=env)
    assert_one_line_error(missing, "acme/widgets is not in the database")
    assert missing.returncode == 1
