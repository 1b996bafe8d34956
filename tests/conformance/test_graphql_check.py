"""graphql_check on small schemas: a true subset passes; every kind of difference is reported together."""

from __future__ import annotations

import pytest
from graphql import build_schema

from .graphql_check import assert_schema_subset

GITHUB = build_schema(
    """
    interface Node { id: ID! }
    interface Comment { body: String! }
    enum PullRequestState { OPEN CLOSED MERGED }
    input PullRequestOrder { field: String! direction: String! }
    type PullRequest implements Node & Comment {
      id: ID!
      body: String!
      number: Int!
      state: PullRequestState!
      reviews(first: Int, last: Int, after: String): PullRequestReviewConnection
      labels: [String!]
    }
    type PullRequestReviewConnection { totalCount: Int! nodes: [PullRequest] }
    type Issue implements Node { id: ID! }
    union IssueOrPullRequest = Issue | PullRequest
    type Repository implements Node {
      id: ID!
      pullRequests(
        first: Int, orderBy: PullRequestOrder, states: [PullRequestState!]
      ): PullRequestReviewConnection!
      issueOrPullRequest(number: Int!): IssueOrPullRequest
    }
    type Query { repository(owner: String!, name: String!): Repository node(id: ID!): Node }
    """
)


def test_a_subset_passes() -> None:
    ours = build_schema(
        """
        interface Node { id: ID! }
        enum PullRequestState { OPEN MERGED }
        input PullRequestOrder { field: String! direction: String! }
        type PullRequest implements Node { id: ID! number: Int! state: PullRequestState! }
        type Issue implements Node { id: ID! }
        union IssueOrPullRequest = PullRequest
        type Repository implements Node { id: ID! issueOrPullRequest(number: Int!): IssueOrPullRequest }
        type Query { repository(owner: String!, name: String!): Repository }
        """
    )

    assert_schema_subset(ours, GITHUB)


def test_a_field_of_another_type_fails() -> None:
    ours = build_schema("type PullRequest { number: String! }\ntype Query { node(id: ID!): PullRequest }")

    with pytest.raises(AssertionError) as raised:
        assert_schema_subset(ours, GITHUB)

    assert "PullRequest.number: ours is String!, GitHub's is Int!" in str(raised.value)


def test_every_difference_is_reported_at_once() -> None:
    ours = build_schema(
        """
        interface Node { id: ID! }
        interface Closable { closed: Boolean! }
        enum PullRequestState { OPEN DRAFT }
        input PullRequestOrder { field: String direction: String! since: String }
        type PullRequest implements Node & Closable {
          id: ID!
          closed: Boolean!
          reviews(first: Int!, before: String): PullRequestReviewConnection
          labels: [String]
        }
        type PullRequestReviewConnection { totalCount: Int! }
        type Issue { id: ID! }
        union IssueOrPullRequest = Issue | PullRequest | Repository
        type Repository { id: ID! }
        type Query { repository(owner: String!, name: String!): Repository }
        """
    )

    with pytest.raises(AssertionError) as raised:
        assert_schema_subset(ours, GITHUB)

    message = str(raised.value)
    for expected in (
        "type Closable: GitHub has no such type",
        "PullRequest implements Closable: GitHub's does not",
        "PullRequest.closed: GitHub has no such field",
        "PullRequest.reviews(first:): ours is Int!, GitHub's is Int",
        "PullRequest.reviews(before:): GitHub has no such argument",
        "PullRequest.labels: ours is [String], GitHub's is [String!]",
        "PullRequestState.DRAFT: GitHub's enum has no such value",
        "PullRequestOrder.field: ours is String, GitHub's is String!",
        "PullRequestOrder.since: GitHub has no such field",
        "IssueOrPullRequest | Repository: not a member of GitHub's union",
    ):
        assert expected in message
    assert message.startswith("10 difference(s)")


def test_a_type_of_another_kind_fails() -> None:
    ours = build_schema("scalar PullRequest\ntype Query { pr: PullRequest }")

    with pytest.raises(
        AssertionError, match="type PullRequest: ours is a scalar, GitHub's is an object type"
    ):
        assert_schema_subset(ours, GITHUB)


def test_a_root_field_github_lacks_fails() -> None:
    ours = build_schema("type Query { repository(owner: String!, name: String!): Repository id: ID! }"
                        "\ntype Repository { id: ID! }")

    with pytest.raises(AssertionError, match=r"Query.id: GitHub has no such field"):
        assert_schema_subset(ours, GITHUB)


def test_a_changed_default_a_dropped_required_argument_and_an_own_directive_fail() -> None:
    github = build_schema(
        """
        input Order { field: String! direction: String = "ASC" }
        type Query { repository(owner: String!, name: String!, followRenames: Boolean = true, o: Order): ID }
        directive @preview(toggledBy: String!) on FIELD
        """
    )
    ours = build_schema(
        """
        input Order { field: String! direction: String = "DESC" }
        type Query { repository(name: String!, followRenames: Boolean = false, o: Order): ID }
        directive @preview(toggledBy: String!) on FIELD | QUERY
        directive @cached on FIELD
        """
    )

    with pytest.raises(AssertionError) as raised:
        assert_schema_subset(ours, github)

    message = str(raised.value)
    for expected in (
        "Query.repository(followRenames:): ours defaults to false, GitHub's to true",
        "Query.repository(owner:): GitHub requires this argument; ours lacks it",
        'Order.direction: ours defaults to "DESC", GitHub\'s to "ASC"',
        "directive @cached: GitHub has no such directive",
        "directive @preview: GitHub's does not apply on QUERY",
    ):
        assert expected in message
    assert message.startswith("5 difference(s)")
