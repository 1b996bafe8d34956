"""The schema the simulator serves (and the capture prices its queries with) is a subset of GitHub's."""

from __future__ import annotations

from graphql import GraphQLSchema, build_schema

from ghcapture.github.cost import SCHEMA_PATH

from .graphql_check import assert_schema_subset


def test_the_simulator_schema_is_a_subset_of_githubs(github_graphql_schema: GraphQLSchema) -> None:
    ours = build_schema(SCHEMA_PATH.read_text())

    assert_schema_subset(ours, github_graphql_schema)
