"""Settings from the environment and ghcapture.toml."""

from __future__ import annotations

import pytest

from ghcapture.config import derive_graphql_url, load_settings
from ghcapture.errors import ConfigError


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
    key = tmp_path / "app.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nSECRETMATERIAL\n-----END PRIVATE KEY-----\n")
    env = {"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY_PATH": str(key), "GITHUB_TOKEN": "ghp_abcdef"}
    settings = load_settings(env=env, cwd=tmp_path)
    assert "SECRETMATERIAL" in (settings.github_app_private_key or "")
    assert "SECRETMATERIAL" not in repr(settings)
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
