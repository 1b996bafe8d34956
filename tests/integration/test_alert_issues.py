"""Alerts as issues in the jobs repository, through the GitHub client, against the simulator."""

from __future__ import annotations

from datetime import timedelta

from capture_support import settings_for
from ghcapture.monitor.alert_delivery import IssueChannel, deliver
from ghcapture.monitor.alerts import Alert
from ghcapture.store.database import open_database
from monitor_support import NOW

STUCK = Alert("error", "job_stuck", "job-7", "prs job for acme/widgets running with no heartbeat for 45 min")


def test_a_firing_alert_opens_one_issue_and_its_clearing_closes_it(make_simulator, sqlite_url):
    server = make_simulator({"acme/jobs": 2})
    engine = open_database(sqlite_url)
    channel = IssueChannel(settings_for(server), "acme/jobs", engine)
    cooldown = timedelta(minutes=60)

    fired = deliver(engine, [STUCK], NOW, cooldown, [channel])
    repeated = deliver(engine, [STUCK], NOW + timedelta(hours=2), cooldown, [channel])
    [issue] = server.simulator.issues.in_repository("acme", "jobs")
    open_state = issue.state
    cleared = deliver(engine, [], NOW + timedelta(hours=3), cooldown, [channel])

    assert (len(fired.sent), len(repeated.sent), len(cleared.sent)) == (1, 1, 1)
    assert issue.title == "ghcapture alert: job_stuck job-7" and issue.labels == ["ghcapture-alert"]
    assert "no heartbeat for 45 min" in (issue.body or "") and issue.number == 3  # after PRs 1 and 2
    assert open_state == "open" and issue.state == "closed"
    assert len(server.simulator.issues.in_repository("acme", "jobs")) == 1  # the repeat opened none


def test_a_missing_jobs_repository_is_a_failed_delivery_sent_again_later(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 1})
    engine = open_database(sqlite_url)
    channel = IssueChannel(settings_for(server), "acme/nowhere", engine)

    report = deliver(engine, [STUCK], NOW, timedelta(minutes=60), [channel])

    [(notice, problem)] = report.failed
    assert notice.alert == STUCK and problem.startswith("alert issue in acme/nowhere:")
    assert "ghp_testtoken" not in problem
