"""The simulator's GraphQL schema is a subset of GitHub's published one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema

from .graphql_check import assert_schema_subset


def simulator_schema_path() -> Path:
    # Located without importing the simulator package: its schema is data.
    spec = importlib.util.find_spec("ghcapture.simulator")
    if spec is None or spec.origin is None:
        pytest.skip("the ghcapture.simulator package does not exist yet")
    path = Path(spec.origin).parent / "schema.graphql"
    if not path.is_file():
        pytest.skip(f"the simulator has no GraphQL schema yet ({path})")
    return path


def test_the_simulator_schema_is_a_subset_of_githubs(github_graphql_schema: GraphQLSchema) -> None:
    ours = build_schema(simulator_schema_path().read_text())

    assert_schema_subset(ours, github_graphql_schema)
