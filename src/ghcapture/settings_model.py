"""The typed settings model: a pydantic-settings field for each key of `config.KEYS`, filled from two sources,
the environment first and the settings file second, with every error naming the key and the source that
gave the bad value (`GHCAPTURE_JOB_MAX_ATTEMPTS=abc: not an integer`, `ghcapture.toml: databse_url: ...`).

Imported only when settings are read: pydantic costs about a tenth of a second, which `--help` should not pay.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ghcapture.config import CONFIG_ENV, CONFIG_FILE, KEY_BY_NAME, KEYS, Key
from ghcapture.errors import ConfigError

_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_TABLE = "ghcapture"


def runner_database_url_problem(url: str) -> str | None:
    """Why runners on other machines cannot use this database URL, or None when they can."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        return "not a database URL"
    if backend == "sqlite":
        return "a SQLite file, which Actions runners cannot reach; use PostgreSQL (postgresql://...)"
    if backend != "postgresql":
        return f"unsupported database {backend!r}; use postgresql://"
    return None


def database_url_problem(url: str) -> str | None:
    """Why this is not a database ghcapture can use, or None when it is."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from ghcapture.store.database import redact_url

    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        return f"not a database URL: {redact_url(url)!r} (expected sqlite:///path.db or postgresql://...)"
    if backend not in ("sqlite", "postgresql"):
        return f"unsupported database {backend!r} (expected sqlite:///path.db or postgresql://...)"
    return None


def _database_url(value: str) -> str:
    problem = database_url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


def _repository(value: str) -> str:
    if not _REPOSITORY.fullmatch(value):
        raise ValueError("must be OWNER/NAME")
    return value


def _runner_database_url(value: str) -> str:
    problem = runner_database_url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# Rules beyond a key's type and bounds.
_RULES = {
    "github_api_url": _http_url,
    "github_graphql_url": _http_url,
    "actions_repository": _repository,
    "actions_database_url": _runner_database_url,
    "alert_webhook_url": _http_url,
    "database_url": _database_url,
    "dbos_database_url": _database_url,
}

# What one read hands to the sources: pydantic-settings builds sources from the class, so the environment
# mapping and the file's table of this read (callers and tests pass their own) reach them through here.
_READING: ContextVar[tuple[dict[str, Any], dict[str, Any]]] = ContextVar("ghcapture_settings_reading")


class _Given(PydanticBaseSettingsSource):
    """Values one place gave, already keyed by field name."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class _SettingsBase(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        # App and installation ids are numbers in a toml file and strings in the environment.
        coerce_numbers_to_str=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environment, file = _READING.get()
        return _Given(settings_cls, environment), _Given(settings_cls, file)


def _field(key: Key) -> tuple[Any, Any]:
    annotation: Any = key.kind
    rule = _RULES.get(key.toml)
    if rule is not None:
        annotation = Annotated[annotation, AfterValidator(rule)]
    if key.default is None:
        annotation = annotation | None
    return annotation, Field(default=key.default, description=key.help_line, ge=key.at_least, lt=key.below)


@functools.cache
def settings_model() -> type[BaseSettings]:
    """The model, one field per key (its name the toml key), built from KEYS once."""
    fields: dict[str, Any] = {key.toml: _field(key) for key in KEYS if key.toml}
    model: type[BaseSettings] = create_model("GhcaptureSettings", __base__=_SettingsBase, **fields)
    return model


@dataclass(frozen=True)
class SettingValues:
    """Every key's checked value, and where each came from, so that a later check can name its source."""

    values: Mapping[str, Any] = field(repr=False)
    environment: Mapping[str, str] = field(repr=False)  # the raw text of each key the environment set
    from_file: frozenset[str]
    file_label: str

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def source(self, name: str) -> str:
        if name in self.environment:
            return "environment"
        return "file" if name in self.from_file else "default"

    def first_set(self, *names: str) -> str | None:
        """The first of these keys the environment sets, else the first the file sets."""
        for place in ("environment", "file"):
            for name in names:
                if self.source(name) == place:
                    return name
        return None

    def error(self, name: str, problem: str) -> ConfigError:
        """A one-line ConfigError naming the key as its source spells it."""
        return ConfigError(
            _located(KEY_BY_NAME[name], problem, self.source(name), self.environment, self.file_label)
        )


def _located(key: Key, problem: str, source: str, environment: Mapping[str, str], file_label: str) -> str:
    if source == "file":
        return f"{file_label}: {key.toml}: {problem}"
    if source == "environment" and not key.secret:
        return f"{key.env}={environment[key.toml]}: {problem}"
    return f"{key.env}: {problem}"


def _problem(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "not an integer"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "not a number"
    if kind == "string_type":
        return "not a string"
    if kind == "greater_than_equal":
        return f"must be at least {context['ge']:g}"
    if kind == "less_than":
        return f"must be below {context['lt']:g}"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    message = str(error["msg"])
    return message[:1].lower() + message[1:]


def _suggestion(name: str) -> str:
    spelled = name.strip().lower()
    by_env = {key.env.lower(): key.toml for key in KEYS if key.toml}
    if spelled in KEY_BY_NAME:
        match: str | None = spelled
    elif spelled in by_env:
        match = by_env[spelled]
    else:
        close = difflib.get_close_matches(spelled, KEY_BY_NAME, n=1, cutoff=0.75)
        match = close[0] if close else None
    return f" (did you mean {match}?)" if match else ""


def _file_label(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_file(path: Path, label: str) -> dict[str, Any]:
    """The [ghcapture] table of the file (or its top level), each key known; blank strings left out."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML ({' '.join(str(exc).split())})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not valid TOML (not UTF-8 text)") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the settings file ({exc.strerror or exc})") from None
    problems: list[str] = []
    section: Any = data
    if _TABLE in data:
        section = data[_TABLE]
        if not isinstance(section, dict):
            raise ConfigError(f"{label}: [{_TABLE}] is not a table")
        problems += [f"{label}: {name}: outside the [{_TABLE}] table" for name in data if name != _TABLE]
    problems += [
        f"{label}: {name}: unknown key{_suggestion(name)}" for name in section if name not in KEY_BY_NAME
    ]
    if problems:
        raise ConfigError("; ".join(problems))
    values: dict[str, Any] = {}
    for name, value in section.items():
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
        values[name] = value
    return values


def read_values(env: Mapping[str, str], cwd: Path) -> SettingValues:
    """Every key's checked value: the environment's if set, else the settings file's, else the default."""
    environment = {key.toml: text for key in KEYS if key.toml and (text := (env.get(key.env) or "").strip())}
    named = (env.get(CONFIG_ENV) or "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if not path.exists():
            raise ConfigError(f"{CONFIG_ENV}={named}: the file does not exist")
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={named}: not a file")
        label = named
    else:
        path = cwd / CONFIG_FILE
        label = _file_label(path)
    file_values = _read_file(path, label) if path.exists() else {}
    reading = _READING.set((dict(environment), file_values))
    try:
        model = settings_model()()
    except ValidationError as exc:
        raise ConfigError("; ".join(_translated(exc, environment, label))) from None
    finally:
        _READING.reset(reading)
    return SettingValues(
        values=model.model_dump(),
        environment=environment,
        from_file=frozenset(name for name in file_values if name not in environment),
        file_label=label,
    )


def _translated(exc: ValidationError, environment: Mapping[str, str], label: str) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        key = KEY_BY_NAME.get(name)
        if key is None:
            lines.append(f"{label}: {name}: unknown key{_suggestion(name)}")
            continue
        source = "environment" if name in environment else "file"
        lines.append(_located(key, _problem(error), source, environment, label))
    return lines
