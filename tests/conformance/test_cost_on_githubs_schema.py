"""The cost rules on GitHub's real schema: the rate-limit page's worked examples, figure for figure."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from graphql import GraphQLSchema, parse, validate

from ghcapture.github.cost import QueryCost, QueryLimitError, query_cost

from .graphql_check import assert_schema_subset

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
import test_cost as unit  # noqa: E402  (the unit tests' queries and schema are the ones checked here)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (unit.POINTS_EXAMPLE, QueryCost(requests=5101, points=51, nodes=305_100)),
        (unit.NODES_SIMPLE_EXAMPLE, QueryCost(requests=51, points=1, nodes=550)),
        (unit.NODES_COMPLEX_EXAMPLE, QueryCost(requests=2102, points=21, nodes=22_060)),
    ],
    ids=["points-5101-requests", "nodes-simple-550", "nodes-complex-22060"],
)
def test_githubs_worked_examples(
    query: str, expected: QueryCost, github_graphql_schema: GraphQLSchema
) -> None:
    assert validate(github_graphql_schema, parse(query)) == []

    assert query_cost(query, github_graphql_schema) == expected


def test_the_unit_tests_schema_is_a_slice_of_githubs(github_graphql_schema: GraphQLSchema) -> None:
    assert_schema_subset(unit.SCHEMA, github_graphql_schema)


def test_a_pull_request_page_as_the_capture_asks_for_it(github_graphql_schema: GraphQLSchema) -> None:
    # 50 PRs with reviews, files, comments and a commit count: 1 + 50 + 50 + 50 requests, 2 points.
    query = """
    query($owner: String!, $name: String!) {
      repository(owner: $owner, name: $name) {
        pullRequests(first: 50, orderBy: {field: UPDATED_AT, direction: DESC}) {
          nodes {
            number
            reviews(first: 50) { totalCount nodes { id state } }
            files(first: 100) { totalCount nodes { path additions deletions } }
            comments(first: 50) { totalCount nodes { id body } }
            commits { totalCount }
          }
        }
      }
      rateLimit { cost remaining resetAt }
    }
    """
    assert validate(github_graphql_schema, parse(query)) == []

    cost = query_cost(query, github_graphql_schema, {"owner": "o", "name": "r"})

    assert cost == QueryCost(requests=151, points=2, nodes=50 + 2500 + 5000 + 2500)


def test_a_missing_page_size_on_githubs_schema(github_graphql_schema: GraphQLSchema) -> None:
    with pytest.raises(QueryLimitError) as raised:
        query_cost(
            '{ repository(owner: "o", name: "r") { releases { nodes { name } } } }', github_graphql_schema
        )

    assert raised.value.errors[0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert raised.value.errors[0]["path"] == ["repository", "releases"]
