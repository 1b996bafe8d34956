"""The one settings model: every key from either source alike, the environment first, unknown keys refused,
and each error naming the key as its source spells it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ghcapture.config import CONFIG_ENV, KEY_BY_NAME, KEYS, Key, load_settings, read_setting_values
from ghcapture.errors import ConfigError
from ghcapture.jobs.actions_settings import load_actions_settings
from ghcapture.jobs.settings import load_job_settings
from github_support import rsa_private_key_pem

# A value of each key other than its default, as a toml file would hold it.
SAMPLES: dict[str, Any] = {
    "github_token": "ghp_sample",
    "github_app_id": 12,  # a number in the file, a string in the environment
    "github_app_private_key": "PEM",  # replaced by a real key in the fixture below
    "github_app_private_key_path": "PATH",  # likewise
    "github_app_installation_id": 34,
    "github_api_url": "https://ghe.example.com/api/v3",
    "github_graphql_url": "https://ghe.example.com/api/graphql",
    "database_url": "postgresql://capture@db.example.com/analytics",
    "rate_limit_reserve": 0.1,
    "actions_repository": "acme/jobs",
    "actions_ref": "release",
    "actions_token": "ghp_dispatch",
    "actions_database_url": "postgresql://runner@db.example.com/analytics",
    "actions_price_per_minute": 0.008,
    "webhook_secret": "s3cret",
    "dashboard_token": "a-dashboard-token-0123",
    "actions_prs_per_chunk": 500,
    "realtime_max_days": 2.5,
    "realtime_max_items": 10,
    "realtime_max_repo_prs": 200,
    "dbos_database_url": "postgresql://capture@db.example.com/jobs",
    "db_outage_seconds": 15.0,
    "heartbeat_seconds": 5.0,
    "stuck_after_seconds": 300.0,
    "actions_stuck_after_seconds": 3600.0,
    "job_max_attempts": 5,
    "pages_per_step": 2,
    "token_concurrency": 2,
    "token_jobs_per_minute": 10,
    "budget_name": "shared",
    "poll_seconds": 0.5,
    "reconcile_seconds": 30.0,
    "webhook_coalesce_seconds": 2.0,
    "redeliver_seconds": 120.0,
    "rate_limit_sample_seconds": 15.0,
    "rate_limit_samples_keep_days": 2.0,
    "alert_failure_rate": 0.5,
    "alert_window_hours": 6.0,
    "alert_stuck_minutes": 10.0,
    "alert_backlog": 20,
    "alert_bulk_wait_hours": 2.0,
    "alert_stale_hours": 12.0,
    "alert_missing_prs": 5,
    "alert_budget_reserve": 0.2,
    "alert_cooldown_minutes": 15.0,
    "alert_webhook_url": "https://hooks.example.com/ghcapture",
    "alert_issues": True,
    "actions_free_minutes": 3000.0,
    "hosted_monthly_fee": 10.0,
    "hosted_included_usd": 10.0,
    "hosted_price_per_run": 0.00005,
    "hosted_price_per_second": 0.0000338,
}
NUMBERS = [key for key in KEYS if key.kind in (int, float)]


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own, so that error messages read `ghcapture.toml: ...`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def samples(place: Path) -> dict[str, Any]:
    pem, _key = rsa_private_key_pem()
    (place / "app.pem").write_text(pem)
    return {**SAMPLES, "github_app_private_key": pem, "github_app_private_key_path": str(place / "app.pem")}


def toml_text(values: dict[str, Any]) -> str:
    # JSON's strings and numbers are TOML's basic strings and numbers.
    return "[ghcapture]\n" + "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())


def env_text(value: Any) -> str:
    return str(value)


def refused(place: Path, env: dict[str, str] | None = None, toml: str | None = None) -> str:
    if toml is not None:
        (place / "ghcapture.toml").write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env or {}, cwd=place)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_every_key_has_a_sample_and_a_help_line() -> None:
    assert set(SAMPLES) == set(KEY_BY_NAME)
    for key in KEYS:
        assert key.help_line and key.env
        assert SAMPLES.get(key.toml, key.default) != key.default or not key.toml


@pytest.mark.parametrize("key", [key for key in KEYS if key.toml], ids=lambda key: key.env)
def test_every_key_is_read_alike_from_the_environment_and_from_the_file(
    place: Path, samples: dict[str, Any], key: Key
) -> None:
    from_env = read_setting_values({key.env: env_text(samples[key.toml])}, place)
    (place / "ghcapture.toml").write_text(toml_text({key.toml: samples[key.toml]}))
    from_file = read_setting_values({}, place)
    assert from_env[key.toml] == from_file[key.toml] != key.default
    assert (from_env.source(key.toml), from_file.source(key.toml)) == ("environment", "file")


def test_every_public_accessor_gives_the_same_settings_from_either_source(
    place: Path, samples: dict[str, Any]
) -> None:
    env = {key.env: env_text(samples[key.toml]) for key in KEYS if key.toml}
    from_env = (
        load_settings(env, place),
        load_job_settings(load_settings(env, place), env),
        load_actions_settings(env),
    )
    (place / "ghcapture.toml").write_text(toml_text(samples))
    from_file = (
        load_settings({}, place),
        load_job_settings(load_settings({}, place), {}),
        load_actions_settings({}),
    )
    assert from_env == from_file
    settings, jobs, actions = from_file
    assert settings.github_app_id == "12" and settings.github_app_installation_id == "34"
    assert settings.extra["rate_limit_reserve"] == 0.1
    assert (jobs.max_attempts, jobs.router.realtime_max_days, jobs.budget_name) == (5, 2.5, "shared")
    assert (actions.repository, actions.prs_per_chunk, actions.price_per_minute) == ("acme/jobs", 500, 0.008)


@pytest.mark.parametrize(
    ("name", "env_value", "file_value"),
    [
        ("database_url", "sqlite:///env.db", "postgresql://db/file"),
        ("job_max_attempts", "7", 2),
        ("actions_repository", "acme/from-env", "acme/from-file"),
        ("rate_limit_reserve", "0.3", 0.2),
    ],
)
def test_the_environment_wins_over_the_file(place: Path, name: str, env_value: str, file_value: Any) -> None:
    (place / "ghcapture.toml").write_text(toml_text({name: file_value}))
    values = read_setting_values({KEY_BY_NAME[name].env: env_value}, place)
    assert str(values[name]) == env_value and values.source(name) == "environment"


def test_a_blank_variable_leaves_the_file_value(place: Path) -> None:
    (place / "ghcapture.toml").write_text(toml_text({"job_max_attempts": 2}))
    assert read_setting_values({"GHCAPTURE_JOB_MAX_ATTEMPTS": "  "}, place)["job_max_attempts"] == 2


def test_ghcapture_config_names_the_file(place: Path) -> None:
    (place / "ghcapture.toml").write_text(toml_text({"job_max_attempts": 2}))
    (place / "other.toml").write_text('job_max_attempts = "x"\n')
    assert refused(place, {CONFIG_ENV: "other.toml"}) == "other.toml: job_max_attempts: not an integer"
    missing = str(place / "nowhere.toml")
    assert refused(place, {CONFIG_ENV: missing}) == f"{CONFIG_ENV}={missing}: the file does not exist"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("databse_url", "database_url"),
        ("job_max_attempt", "job_max_attempts"),
        ("Database_URL", "database_url"),
        ("GHCAPTURE_DATABASE_URL", "database_url"),
        ("github_app_private_key_pth", "github_app_private_key_path"),
    ],
)
def test_an_unknown_key_is_refused_with_the_key_it_means(place: Path, written: str, meant: str) -> None:
    message = refused(place, toml=f'[ghcapture]\n{written} = "x"\n')
    assert message == f"ghcapture.toml: {written}: unknown key (did you mean {meant}?)"


def test_an_unknown_key_far_from_any_is_refused_plainly(place: Path) -> None:
    assert refused(place, toml="colour = 3\n") == "ghcapture.toml: colour: unknown key"


def test_every_unknown_key_is_named_at_once(place: Path) -> None:
    message = refused(place, toml="[ghcapture]\nfoo = 1\nbar = 2\n")
    assert message == "ghcapture.toml: foo: unknown key; ghcapture.toml: bar: unknown key"


def test_a_key_beside_the_ghcapture_table_is_refused(place: Path) -> None:
    message = refused(place, toml='database_url = "sqlite:///x.db"\n[ghcapture]\njob_max_attempts = 2\n')
    assert message == "ghcapture.toml: database_url: outside the [ghcapture] table"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not = [valid", "ghcapture.toml: not valid TOML ("),
        ("ghcapture = 3\n", "ghcapture.toml: [ghcapture] is not a table"),
        (b"job_max_attempts = '\xff'\n", "ghcapture.toml: not valid TOML (not UTF-8 text)"),
    ],
)
def test_a_bad_settings_file_is_one_line_naming_it(place: Path, text: str | bytes, expected: str) -> None:
    path = place / "ghcapture.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    assert refused(place).startswith(expected)


@pytest.mark.parametrize("key", NUMBERS, ids=lambda key: key.env)
def test_a_value_of_the_wrong_type_names_the_variable_that_gave_it(place: Path, key: Key) -> None:
    problem = "not an integer" if key.kind is int else "not a number"
    assert refused(place, {key.env: "abc"}) == f"{key.env}=abc: {problem}"


@pytest.mark.parametrize("key", NUMBERS, ids=lambda key: key.env)
def test_a_value_of_the_wrong_type_names_the_file_key_that_gave_it(place: Path, key: Key) -> None:
    problem = "not an integer" if key.kind is int else "not a number"
    assert refused(place, toml=toml_text({key.toml: "abc"})) == f"ghcapture.toml: {key.toml}: {problem}"


def test_a_string_key_given_something_else_in_the_file(place: Path) -> None:
    assert refused(place, toml="actions_ref = true\n") == "ghcapture.toml: actions_ref: not a string"
    assert (
        refused(place, toml="[ghcapture.budget_name]\nx = 1\n") == "ghcapture.toml: budget_name: not a string"
    )


def test_bounds_are_checked_from_either_source(place: Path) -> None:
    assert (
        refused(place, {"GHCAPTURE_JOB_MAX_ATTEMPTS": "0"})
        == "GHCAPTURE_JOB_MAX_ATTEMPTS=0: must be at least 1"
    )
    assert (
        refused(place, toml="rate_limit_reserve = 1.5\n")
        == "ghcapture.toml: rate_limit_reserve: must be below 1"
    )


def test_a_secret_is_never_repeated_in_an_error(place: Path) -> None:
    message = refused(place, {"GHCAPTURE_ACTIONS_DATABASE_URL": "mysql://runner:hunter2@db/x"})
    assert message == "GHCAPTURE_ACTIONS_DATABASE_URL: unsupported database 'mysql'; use postgresql://"
    message = refused(place, {"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "hunter2-not-a-key"})
    assert message == "GITHUB_APP_PRIVATE_KEY: not a PEM private key"


def test_a_key_beats_a_path_and_the_environment_beats_the_file_for_the_app_key(
    place: Path, samples: dict[str, Any]
) -> None:
    (place / "ghcapture.toml").write_text('github_app_private_key_path = "nowhere.pem"\n')
    settings = load_settings(
        {"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": samples["github_app_private_key"]}, place
    )
    assert settings.uses_app
    one_line = samples["github_app_private_key"].replace("\n", "\\n")
    assert load_settings({"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": one_line}, place).uses_app


def test_the_help_lists_every_key_without_importing_the_model() -> None:
    code = (
        "import sys\n"
        "from ghcapture.cli import app\n"
        "from ghcapture.config import KEYS\n"
        "assert all(key.env in app.info.epilog for key in KEYS)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'ghcapture.settings_model'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
