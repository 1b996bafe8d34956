"""Every fault the simulator serves, alone and mixed, against the realistic profile on a compressed clock.

Each capture ends equal to the ground truth with no row stored twice, or, where the fault is permanent (a
token revoked mid-run), stops with one clear error and keeps what it had stored. No request is sent while
GitHub's answer still has a wait owed, and 5xx answers never cost a reset-length wait.

The default run takes each kind alone on a small repository and one 10% mix; `pytest -m reliability` runs
the full matrix (both rates, several seeds, larger repositories).
"""

from __future__ import annotations

import pytest

from reliability.scenarios import (
    PERMANENT_KINDS,
    SERVER_ERROR_KINDS,
    SINGLE_KINDS,
    Outcome,
    Scenario,
    run_scenario,
)

# Kinds that only bite on a larger repository: a deep page needs a second page of a repository-wide
# listing; a revoked token needs a capture still running after its first pull requests are stored.
LARGER = {"deep-page": 150, "revoked-token": 150}
# 5xx answers are retried at once (with a short backoff), never by waiting for a budget's reset; the
# compressed hour is 7.2 s, a minute 0.12 s.
SMALL_WAIT = 0.5


def assert_complete(outcome: Outcome) -> None:
    assert outcome.outcome == "completed", outcome.error
    assert outcome.equal, outcome.differences
    assert outcome.duplicate_count == 0, outcome.duplicates
    assert outcome.early_requests == 0, "requests sent while a wait was owed"
    assert outcome.refused_during_waits == 0, "requests sent during a secondary-limit wait"


def assert_stopped_keeping_what_it_stored(outcome: Outcome) -> None:
    assert outcome.outcome == "stopped"
    assert outcome.error is not None and "\n" not in outcome.error
    assert outcome.error.startswith("BadCredentials:"), outcome.error
    assert "Traceback" not in outcome.error
    # What it stored is there, and right: nothing mismatched or unexpected, only what it never reached.
    assert outcome.stored_prs > 0
    assert "mismatched" not in outcome.differences and "unexpected" not in outcome.differences
    assert outcome.duplicate_count == 0, outcome.duplicates
    assert outcome.early_requests == 0


@pytest.mark.parametrize("kind", [*SINGLE_KINDS, *PERMANENT_KINDS])
def test_each_fault_kind_alone(kind, tmp_path):
    count = 1 if kind == "graphql-rate-limit" else 2  # each one costs a reset of about 3 s
    scenario = Scenario(kinds=(kind,), count=count, prs=LARGER.get(kind, 40))

    outcome = run_scenario(scenario, f"sqlite:///{tmp_path}/faults.db")

    if kind in PERMANENT_KINDS:
        assert_stopped_keeping_what_it_stored(outcome)
        return
    assert_complete(outcome)
    assert outcome.faults.get(kind, 0) >= 1, f"the simulator never served {kind}: {outcome.faults}"
    if kind in SERVER_ERROR_KINDS:
        assert outcome.waited_seconds < SMALL_WAIT, outcome.waited_seconds
    if kind == "moved":
        assert outcome.repository == "acme/widgets-moved"


def test_a_revoked_token_stops_and_a_rerun_with_good_credentials_completes(tmp_path):
    from reliability.scenarios import _capture, start_simulator

    scenario = Scenario(kinds=("revoked-token",), prs=150)
    server, keys = start_simulator(scenario)
    url = f"sqlite:///{tmp_path}/revoked.db"
    try:
        first = _capture(server, keys, scenario, url)
        assert_stopped_keeping_what_it_stored(first)
        server.simulator.config.tokens = None  # the user sets a new token
        second = _capture(server, keys, Scenario(kinds=(), prs=150), url)
    finally:
        server.stop()
    assert_complete(second)
    assert second.result is not None and second.result.resumed


def test_a_mix_of_every_kind_at_10_percent(tmp_path):
    scenario = Scenario(kinds=SINGLE_KINDS[:-1], rate=0.1, prs=150, seed=1)

    outcome = run_scenario(scenario, f"sqlite:///{tmp_path}/mix.db")

    assert_complete(outcome)
    assert sum(n for kind, n in outcome.faults.items() if kind != "timeout") >= 3


def test_only_5xx_faults_never_wait_for_a_reset(tmp_path):
    scenario = Scenario(kinds=SERVER_ERROR_KINDS, rate=0.3, prs=150, seed=3)

    outcome = run_scenario(scenario, f"sqlite:///{tmp_path}/5xx.db")

    assert_complete(outcome)
    assert sum(outcome.faults.get(kind, 0) for kind in SERVER_ERROR_KINDS) >= 3
    assert outcome.waited_seconds < SMALL_WAIT, outcome.waited_seconds


MATRIX_SEEDS = (1, 2, 3)


@pytest.mark.reliability
@pytest.mark.parametrize("prs", [300, 600])
@pytest.mark.parametrize("seed", MATRIX_SEEDS)
@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_matrix_mix_of_every_kind(rate, seed, prs, tmp_path):
    # Every kind but the rename (drawn only on request); "expired-token" makes the capture an App's.
    scenario = Scenario(kinds=SINGLE_KINDS[:-1], rate=rate, prs=prs, seed=seed)

    outcome = run_scenario(scenario, f"sqlite:///{tmp_path}/matrix.db")

    assert_complete(outcome)


@pytest.mark.reliability
@pytest.mark.parametrize("seed", MATRIX_SEEDS)
@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_matrix_5xx_only(rate, seed, tmp_path):
    scenario = Scenario(kinds=SERVER_ERROR_KINDS, rate=rate, prs=400, seed=seed)

    outcome = run_scenario(scenario, f"sqlite:///{tmp_path}/5xx.db")

    assert_complete(outcome)
    assert outcome.waited_seconds < SMALL_WAIT, outcome.waited_seconds


@pytest.mark.reliability
@pytest.mark.parametrize("kind", [*SINGLE_KINDS, *PERMANENT_KINDS])
def test_matrix_each_kind_alone_on_a_larger_repository(kind, tmp_path):
    scenario = Scenario(kinds=(kind,), count=4, prs=400, seed=2)

    outcome = run_scenario(scenario, f"sqlite:///{tmp_path}/kind.db")

    if kind in PERMANENT_KINDS:
        assert_stopped_keeping_what_it_stored(outcome)
    else:
        assert_complete(outcome)
        assert outcome.faults.get(kind, 0) >= 1
