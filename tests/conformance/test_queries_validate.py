"""Every GraphQL document the client sends is valid against GitHub's schema and the simulator's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from .test_simulator_schema import simulator_schema_path


def query_files() -> list[Path]:
    spec = importlib.util.find_spec("ghcapture")
    assert spec is not None and spec.origin is not None
    return sorted((Path(spec.origin).parent / "github" / "queries").glob("*.graphql"))


QUERIES = query_files()
needs_queries = pytest.mark.skipif(not QUERIES, reason="src/ghcapture/github/queries/ holds no .graphql yet")


def errors_against(schema: GraphQLSchema, path: Path) -> list[str]:
    return [
        f"{path.name}: {error.message} {error.locations}"
        for error in validate(schema, parse(path.read_text()))
    ]


@needs_queries
@pytest.mark.parametrize("path", QUERIES, ids=[path.name for path in QUERIES])
def test_the_query_validates_against_githubs_schema(path: Path, github_graphql_schema: GraphQLSchema) -> None:
    assert errors_against(github_graphql_schema, path) == []


@needs_queries
@pytest.mark.parametrize("path", QUERIES, ids=[path.name for path in QUERIES])
def test_the_query_validates_against_the_simulators_schema(path: Path) -> None:
    simulator = build_schema(simulator_schema_path().read_text())

    assert errors_against(simulator, path) == []
