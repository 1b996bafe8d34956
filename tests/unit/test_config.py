"""Settings from the environment and ghcapture.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghcapture.config import derive_graphql_url, load_settings
from ghcapture.errors import ConfigError
from ghcapture.jobs.actions_settings import load_actions_settings
from ghcapture.jobs.settings import load_job_settings
from github_support import rsa_private_key_pem


def test_defaults(tmp_path):
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.github_api_url == "https://api.github.com"
    assert settings.github_graphql_url == "https://api.github.com/graphql"
    assert settings.database_url == "sqlite:///ghcapture.db"
    assert settings.github_token is None


@pytest.mark.parametrize(
    ("api", "graphql"),
    [
        ("https://api.github.com", "https://api.github.com/graphql"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765/graphql"),
    ],
)
def test_graphql_url_is_derived(api, graphql):
    assert derive_graphql_url(api) == graphql


def test_environment_wins_over_the_file(tmp_path):
    (tmp_path / "ghcapture.toml").write_text(
        '[ghcapture]\ndatabase_url = "postgresql://db/file"\ngithub_api_url = "https://ghe.example.com/api/v3"\n'
    )
    settings = load_settings(env={"GHCAPTURE_DATABASE_URL": "sqlite:///env.db"}, cwd=tmp_path)
    assert settings.database_url == "sqlite:///env.db"
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.github_graphql_url == "https://ghe.example.com/api/graphql"


def test_app_key_from_a_path_and_secrets_never_in_repr(tmp_path):
    pem, _key = rsa_private_key_pem()
    key = tmp_path / "app.pem"
    key.write_text(pem)
    material = pem.splitlines()[1]
    env = {"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY_PATH": str(key), "GITHUB_TOKEN": "ghp_abcdef"}
    settings = load_settings(env=env, cwd=tmp_path)
    assert material in (settings.github_app_private_key or "")
    assert material not in repr(settings)
    assert "ghp_abcdef" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "files", "fragment"),
    [
        ({}, {"ghcapture.toml": "not = [valid"}, "not valid TOML"),
        ({"GITHUB_API_URL": "api.github.com"}, {}, "GITHUB_API_URL"),
        ({"GITHUB_APP_ID": "1"}, {}, "GITHUB_APP_PRIVATE_KEY"),
        ({"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY_PATH": "/nonexistent/key.pem"}, {}, "cannot read"),
        ({"GHCAPTURE_CONFIG": "/nonexistent/ghcapture.toml"}, {}, "does not exist"),
    ],
)
def test_bad_settings_are_one_clear_error(tmp_path, env, files, fragment):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env, cwd=tmp_path)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


# The defects of settings read three ways: each names the key and the place it really came from.


def _one_line(caught: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_misspelt_key_of_the_file_is_refused_with_the_key_it_means(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ghcapture.toml").write_text('[ghcapture]\ndatabse_url = "postgresql://db/analytics"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, cwd=tmp_path)
    assert _one_line(caught) == "ghcapture.toml: databse_url: unknown key (did you mean database_url?)"


@pytest.mark.parametrize(
    ("toml", "load", "expected"),
    [
        (
            'github_api_url = "api.github.com"',
            load_settings,
            "github_api_url: must start with http:// or https://",
        ),
        ('job_max_attempts = "abc"', load_settings, "job_max_attempts: not an integer"),
        (
            'job_max_attempts = "abc"',
            lambda env: load_job_settings(load_settings(env), env),
            "job_max_attempts:",
        ),
        ('actions_prs_per_chunk = "many"', load_actions_settings, "actions_prs_per_chunk: not an integer"),
        (
            "actions_price_per_minute = 12",
            load_actions_settings,
            "actions_price_per_minute: must be below 10",
        ),
        ('actions_repository = "nope"', load_actions_settings, "actions_repository: must be OWNER/NAME"),
    ],
)
def test_a_bad_value_of_the_file_is_reported_as_the_file_key_not_the_variable(
    tmp_path, monkeypatch, toml, load, expected
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ghcapture.toml").write_text(f"[ghcapture]\n{toml}\n")
    with pytest.raises(ConfigError) as caught:
        load({})
    message = _one_line(caught)
    assert message.startswith(f"ghcapture.toml: {expected}")
    assert "GHCAPTURE_" not in message and "GITHUB_" not in message


def test_an_unreadable_key_file_is_reported_under_the_path_variable(tmp_path):
    missing = tmp_path / "missing.pem"
    env = {"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY_PATH": str(missing)}
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env, cwd=tmp_path)
    assert _one_line(caught) == (
        f"GITHUB_APP_PRIVATE_KEY_PATH={missing}: cannot read the key file (No such file or directory)"
    )


@pytest.mark.parametrize(
    "text",
    ["not a key at all\n", "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n"],
)
def test_a_bad_key_read_through_the_path_is_reported_under_the_path_variable(tmp_path, text):
    key = tmp_path / "app.pem"
    key.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY_PATH": str(key)}, cwd=tmp_path)
    assert _one_line(caught) == f"GITHUB_APP_PRIVATE_KEY_PATH={key}: not a PEM private key"


def test_a_bad_key_given_in_the_file_names_the_file_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.pem").write_text("not a key\n")
    (tmp_path / "ghcapture.toml").write_text('github_app_id = 1\ngithub_app_private_key_path = "app.pem"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, cwd=tmp_path)
    assert _one_line(caught) == "ghcapture.toml: github_app_private_key_path: not a PEM private key"


def test_the_command_line_prints_a_bad_setting_in_one_line_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    from ghcapture.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("GHCAPTURE_CONFIG", "GHCAPTURE_DATABASE_URL", "GHCAPTURE_JOB_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "ghcapture.toml").write_text(f'[ghcapture]\ndatabse_url = "sqlite:///{tmp_path}/x.db"\n')
    with pytest.raises(SystemExit) as exited:
        main(["db", "status"])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert err == "ghcapture: error: ghcapture.toml: databse_url: unknown key (did you mean database_url?)\n"
    assert not Path(tmp_path / "ghcapture.db").exists()
