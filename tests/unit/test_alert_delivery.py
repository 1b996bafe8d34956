"""Alerts that reach someone: sent once, again after the cool-down, cleared once, retried with backoff,
and released for the next run when a destination does not take them; against a local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from ghcapture.monitor.alert_delivery import DeliveryFailed, LogChannel, WebhookChannel, deliver
from ghcapture.monitor.alert_state import Notice
from ghcapture.monitor.alerts import Alert, evaluate
from ghcapture.store.database import open_database
from ghcapture.store.tables import alert_states
from monitor_support import NOW, WebhookReceiver, add_job

COOLDOWN = timedelta(minutes=60)
FAILED = Alert("error", "job_failed", "job-1", "prs job, acme/widgets, failed: boom")
STUCK = Alert("error", "job_stuck", "job-2", "prs job for acme/widgets running with no heartbeat for 45 min")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path}/a.db")


def webhook(receiver: WebhookReceiver, attempts: int = 4) -> WebhookChannel:
    return WebhookChannel(receiver.url, attempts=attempts, wait_initial=0.01, wait_max=0.05)


def test_an_alert_is_sent_once_again_after_the_cooldown_and_its_clearing_once(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    channels = [LogChannel(), webhook(receiver)]

    first = deliver(engine, [STUCK], NOW, COOLDOWN, channels)
    quiet = deliver(engine, [STUCK], NOW + timedelta(minutes=59), COOLDOWN, channels)
    again = deliver(engine, [STUCK], NOW + timedelta(minutes=61), COOLDOWN, channels)
    cleared = deliver(engine, [], NOW + timedelta(minutes=62), COOLDOWN, channels)
    after = deliver(engine, [], NOW + timedelta(minutes=200), COOLDOWN, channels)

    assert [len(r.sent) for r in (first, quiet, again, cleared, after)] == [1, 0, 1, 1, 0]
    assert [(b["status"], b["repeat"]) for b in receiver.bodies] == [
        ("firing", False),
        ("firing", True),
        ("resolved", False),
    ]
    body = receiver.bodies[0]
    assert (body["rule"], body["subject"], body["job_id"], body["severity"]) == (
        "job_stuck",
        "job-2",
        "job-2",
        "error",
    )
    assert body["text"] == "[FIRING] error job_stuck job-2: " + STUCK.message
    assert receiver.bodies[2]["fired_at"] == NOW.isoformat()  # the clearing names when it began
    with engine.connect() as connection:
        rows = connection.execute(select(alert_states).order_by(alert_states.c.destination)).all()
    assert [row.destination for row in rows] == ["log", channels[1].destination]
    assert {(row.firing, row.cleared_at) for row in rows} == {(False, NOW + timedelta(minutes=62))}
    assert receiver.url not in channels[1].destination


def test_an_alert_that_fires_again_after_clearing_is_new(engine: Engine, receiver: WebhookReceiver) -> None:
    channels = [webhook(receiver)]
    deliver(engine, [STUCK], NOW, COOLDOWN, channels)
    deliver(engine, [], NOW + timedelta(minutes=1), COOLDOWN, channels)

    back = deliver(engine, [STUCK], NOW + timedelta(minutes=2), COOLDOWN, channels)

    assert [n.status for n in back.sent] == ["firing"] and not back.sent[0].repeat
    assert back.sent[0].fired_at == NOW + timedelta(minutes=2)


def test_a_failed_job_is_sent_once_and_not_again_nor_when_it_leaves_the_window(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    channels = [webhook(receiver)]

    reports = [
        deliver(engine, [FAILED], NOW, COOLDOWN, channels),
        deliver(engine, [FAILED], NOW + timedelta(hours=5), COOLDOWN, channels),
        deliver(engine, [], NOW + timedelta(hours=25), COOLDOWN, channels),
    ]

    assert [len(r.sent) for r in reports] == [1, 0, 0]
    assert [(b["status"], b["rule"]) for b in receiver.bodies] == [("firing", "job_failed")]
    with engine.connect() as connection:
        assert connection.execute(select(alert_states.c.firing)).scalar_one() is False


def test_each_destination_keeps_its_own_record(engine: Engine) -> None:
    down = WebhookReceiver([503, 503])
    try:
        # A run that only logs takes nothing from the webhook; a failing webhook is retried by the next run
        # without the log repeating what it already wrote.
        only_log = deliver(engine, [STUCK], NOW, COOLDOWN, [LogChannel()])
        failing = deliver(engine, [STUCK], NOW, COOLDOWN, [LogChannel(), webhook(down, attempts=2)])
        retried = deliver(
            engine, [STUCK], NOW + timedelta(minutes=1), COOLDOWN, [LogChannel(), webhook(down)]
        )
    finally:
        down.close()

    assert list(only_log.sent_to) == ["log"] and failing.sent_to == {} and len(failing.failed) == 1
    assert list(retried.sent_to) == ["webhook"] and [b["status"] for b in down.bodies[2:]] == ["firing"]


def test_a_failing_receiver_is_retried_with_backoff(engine: Engine) -> None:
    receiver = WebhookReceiver([503, 429, 200])
    try:
        report = deliver(engine, [FAILED], NOW, COOLDOWN, [webhook(receiver)])
    finally:
        receiver.close()

    assert receiver.answers == [503, 429, 200] and len(report.sent) == 1 and not report.failed


def test_an_undelivered_alert_is_released_and_sent_by_the_next_run(engine: Engine) -> None:
    down = WebhookReceiver([503, 503])
    try:
        failed = deliver(engine, [FAILED], NOW, COOLDOWN, [webhook(down, attempts=2)])
        retried = deliver(engine, [FAILED], NOW + timedelta(minutes=1), COOLDOWN, [webhook(down, attempts=2)])
    finally:
        down.close()

    assert not failed.sent and "503 after 2 attempts" in failed.failed[0][1]
    assert "ghcapture-secret-path" not in failed.failed[0][1]  # the URL's path may be its credential
    assert [n.status for n in retried.sent] == ["firing"] and len(down.bodies) == 3


def test_a_refusal_is_not_retried(engine: Engine) -> None:
    receiver = WebhookReceiver([400])
    try:
        with pytest.raises(DeliveryFailed, match="refused the alert: 400"):
            webhook(receiver).send(Notice("firing", FAILED, NOW, NOW))
    finally:
        receiver.close()
    assert receiver.answers == [400]


def test_an_unreachable_receiver_fails_after_its_attempts(engine: Engine) -> None:
    receiver = WebhookReceiver()
    receiver.close()  # nothing listens there any more

    report = deliver(engine, [FAILED], NOW, COOLDOWN, [webhook(receiver, attempts=2)])

    assert "unreachable" in report.failed[0][1] and not report.sent
    with engine.connect() as connection:
        assert connection.execute(select(alert_states)).all() == []  # released: the next run sends it


def test_a_second_process_evaluating_the_same_moment_does_not_send_it_again(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    one, two = open_database(url), open_database(url)

    first = deliver(one, [FAILED], NOW, COOLDOWN, [webhook(receiver)])
    second = deliver(two, [FAILED], NOW, COOLDOWN, [webhook(receiver)])

    assert (len(first.sent), len(second.sent), len(receiver.bodies)) == (1, 0, 1)


def test_the_rules_and_delivery_together_over_a_store(engine: Engine, receiver: WebhookReceiver) -> None:
    add_job(
        engine,
        id="gone",
        status="cancelled",
        error="interrupted (Ctrl-C) during ghcapture sync",
        completed_at=NOW - timedelta(minutes=5),
    )
    add_job(
        engine,
        id="stopped",
        status="cancelled",
        error="cancelled by request",
        completed_at=NOW - timedelta(minutes=5),
    )

    found = evaluate(engine, NOW)
    report = deliver(engine, found, NOW, COOLDOWN, [webhook(receiver)])

    assert sorted((b["rule"], b["job_id"]) for b in receiver.bodies) == [
        ("job_cancelled", "stopped"),
        ("job_interrupted", "gone"),
    ]
    assert len(report.sent) == 2


def test_alerts_watch_sends_to_the_webhook_and_stops_cleanly_on_ctrl_c(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from ghcapture.store.tables import utc_now

    add_job(engine, id="broke", status="failed", error="boom", completed_at=utc_now())
    env = {
        **os.environ,
        "GHCAPTURE_DATABASE_URL": str(engine.url),
        "GHCAPTURE_ALERT_WEBHOOK_URL": receiver.url,
    }
    env.pop("GHCAPTURE_CONFIG", None)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "ghcapture", "alerts", "--watch", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not receiver.bodies and time.monotonic() < deadline and watcher.poll() is None:
            time.sleep(0.1)
        time.sleep(1.5)  # at least one more round, which must not send the same alert again
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()

    assert [(b["rule"], b["job_id"]) for b in receiver.bodies] == [("job_failed", "broke")]
    assert watcher.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "ghcapture: interrupted"
    assert "[FIRING] error job_failed broke" in err  # the log line of the notice
    assert receiver.url not in err + out and "every 1 s" in out
