"""Every GraphQL document the capture sends is valid against GitHub's real schema and the simulator's."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, parse, validate

from ghcapture.capture.audit import COUNTS_QUERY
from ghcapture.capture.queries import by_number_query, follow_up_query, review_threads_query
from ghcapture.github.cost import known_schema

QUERIES = sorted((Path(__file__).parents[2] / "src" / "ghcapture" / "github" / "queries").glob("*.graphql"))


def documents() -> list[tuple[str, str]]:
    """The static files, and one instance of each query the capture composes from their fragments."""
    composed = [
        (
            "follow-ups",
            follow_up_query(
                [("PR_a", "reviews", "c1"), ("PR_b", "comments", "c2"), ("PR_c", "files", "c3")], 100
            )[0],
        ),
        ("by-number", by_number_query([1, 2, 99])),
        ("commit follow-ups", follow_up_query([("PR_d", "commits", "c4")], 100)[0]),
        ("review threads", review_threads_query([("PR_a", 3), ("PR_b", 250)])[0]),
        ("verify's counts", COUNTS_QUERY),
    ]
    return [(p.name, p.read_text()) for p in QUERIES] + composed


DOCUMENTS = documents()


def errors_against(schema: GraphQLSchema, text: str) -> list[str]:
    return [f"{error.message} {error.locations}" for error in validate(schema, parse(text))]


def test_there_are_static_queries() -> None:
    assert QUERIES, "src/ghcapture/github/queries/ holds no .graphql"


@pytest.mark.parametrize(("name", "text"), DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_the_query_validates_against_githubs_schema(
    name: str, text: str, github_graphql_schema: GraphQLSchema
) -> None:
    assert errors_against(github_graphql_schema, text) == []


@pytest.mark.parametrize(("name", "text"), DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_the_query_validates_against_the_simulators_schema(name: str, text: str) -> None:
    assert errors_against(known_schema(), text) == []
