"""The schema the simulator serves (and the capture prices its queries with) is a subset of GitHub's."""

from __future__ import annotations

from graphql import GraphQLSchema, build_schema

from ghcapture.github.cost import SCHEMA_PATH

from .graphql_check import assert_schema_subset


def test_the_simulator_schema_is_a_subset_of_githubs(github_graphql_schema: GraphQLSchema) -> None:
    ours = build_schema(SCHEMA_PATH.read_text())

    assert_schema_subset(ours, github_graphql_schema)


def test_the_simulators_list_of_mutations_is_githubs(github_graphql_schema: GraphQLSchema) -> None:
    from ghcapture.simulator.graphql_mutations import MUTATION_FIELDS

    mutation = github_graphql_schema.mutation_type
    assert mutation is not None
    assert MUTATION_FIELDS == frozenset(mutation.fields)
