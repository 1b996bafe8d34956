"""GitHub's GraphQL cost rules, on the worked examples of GitHub's rate-limit page and beyond."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import build_schema
from hypothesis import given
from hypothesis import strategies as st

from ghcapture.github.cost import QueryCost, QueryLimitError, points_for, query_cost


def connection(item: str, name: str = "") -> str:
    edge = f"type {item}Edge {{ cursor: String! node: {item} }}" if not name else ""
    return f"""
    type {name or item + "Connection"} {{
      totalCount: Int! edges: [{item}Edge] nodes: [{item}] pageInfo: PageInfo!
    }}
    {edge}
    """


PAGE = "first: Int, last: Int, after: String, before: String"
# The slice of GitHub's schema that the rate-limit page's examples touch, field for field.
SCHEMA = build_schema(
    f"""
    scalar HTML
    scalar DateTime
    interface Node {{ id: ID! }}
    type PageInfo {{ hasNextPage: Boolean! endCursor: String }}
    type RateLimit {{ cost: Int! remaining: Int! resetAt: DateTime! }}
    type User implements Node {{
      id: ID! login: String!
      repositories({PAGE}): RepositoryConnection!
      followers({PAGE}): FollowerConnection!
    }}
    type Repository implements Node {{
      id: ID! name: String!
      issues({PAGE}): IssueConnection!
      pullRequests({PAGE}): PullRequestConnection!
    }}
    type Issue implements Node {{
      id: ID! title: String! bodyHTML: HTML!
      labels({PAGE}): LabelConnection
      comments({PAGE}): IssueCommentConnection!
    }}
    type PullRequest implements Node {{
      id: ID! title: String!
      comments({PAGE}): IssueCommentConnection!
      reviews({PAGE}): PullRequestReviewConnection
      files({PAGE}): PullRequestChangedFileConnection
    }}
    type Label implements Node {{ id: ID! name: String! }}
    type IssueComment implements Node {{ id: ID! bodyHTML: HTML! }}
    type PullRequestReview implements Node {{ id: ID! comments({PAGE}): PullRequestReviewCommentConnection! }}
    type PullRequestReviewComment implements Node {{ id: ID! }}
    type PullRequestChangedFile {{ path: String! }}
    enum SearchType {{ DISCUSSION ISSUE REPOSITORY USER }}
    union SearchResultItem = Issue | PullRequest
    type SearchResultItemConnection {{ issueCount: Int! nodes: [SearchResultItem] pageInfo: PageInfo! }}
    {connection("User")}{connection("User", "FollowerConnection")}
    {connection("Repository")}{connection("Issue")}{connection("PullRequest")}
    {connection("Label")}{connection("IssueComment")}{connection("PullRequestReview")}
    {connection("PullRequestChangedFile")}{connection("PullRequestReviewComment")}
    type Query {{
      viewer: User!
      repository(owner: String!, name: String!): Repository
      node(id: ID!): Node
      nodes(ids: [ID!]!): [Node]!
      search({PAGE}, query: String!, type: SearchType!): SearchResultItemConnection!
      rateLimit: RateLimit
    }}
    """
)

# docs.github.com, "Rate limits and query limits for the GraphQL API": predicting the point value.
POINTS_EXAMPLE = """
query {
  viewer {
    login
    repositories(first: 100) {
      edges { node { id
        issues(first: 50) {
          edges { node { id
            labels(first: 60) { edges { node { id name } } }
          } }
        }
      } }
    }
  }
}
"""

# The same page, "Calculating nodes in a call": the simple query.
NODES_SIMPLE_EXAMPLE = """
query {
  viewer {
    repositories(first: 50) {
      edges { repository:node { name
        issues(first: 10) { totalCount edges { node { title bodyHTML } } }
      } }
    }
  }
}
"""

# The same page: the complex query.
NODES_COMPLEX_EXAMPLE = """
query {
  viewer {
    repositories(first: 50) {
      edges { repository:node { name
        pullRequests(first: 20) {
          edges { pullRequest:node { title
            comments(first: 10) { edges { comment:node { bodyHTML } } }
          } }
        }
        issues(first: 20) {
          totalCount
          edges { issue:node { title bodyHTML
            comments(first: 10) { edges { comment:node { bodyHTML } } }
          } }
        }
      } }
    }
    followers(first: 10) { edges { follower:node { login } } }
  }
}
"""


def limit_errors(query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with pytest.raises(QueryLimitError) as raised:
        query_cost(query, SCHEMA, variables)
    return raised.value.errors


def test_the_docs_point_example_needs_5101_requests_for_51_points() -> None:
    # 1 (repositories) + 100 (issues, one per repository) + 5,000 (labels, one per issue).
    cost = query_cost(POINTS_EXAMPLE, SCHEMA)

    assert cost == QueryCost(requests=5101, points=51, nodes=100 + 100 * 50 + 100 * 50 * 60)


def test_the_docs_simple_node_example_has_550_nodes() -> None:
    assert query_cost(NODES_SIMPLE_EXAMPLE, SCHEMA) == QueryCost(requests=1 + 50, points=1, nodes=550)


def test_the_docs_complex_node_example_has_22060_nodes() -> None:
    # Requests: repositories 1, pullRequests 50, their comments 1,000, issues 50, their comments 1,000,
    # followers 1.
    assert query_cost(NODES_COMPLEX_EXAMPLE, SCHEMA) == QueryCost(requests=2102, points=21, nodes=22_060)


@pytest.mark.parametrize(
    ("requests", "points"),
    [
        (0, 1),
        (1, 1),
        (49, 1),
        (101, 1),
        (149, 1),
        (150, 2),
        (151, 2),
        (249, 2),
        (250, 3),
        (5101, 51),
        (5150, 52),
    ],
)
def test_points_are_requests_over_100_rounded_to_nearest_halves_up_at_least_1(
    requests: int, points: int
) -> None:
    assert points_for(requests) == points


def test_a_query_without_connections_costs_one_point() -> None:
    assert query_cost("{ viewer { login } }", SCHEMA) == QueryCost(requests=0, points=1, nodes=0)


def test_a_query_for_the_rate_limit_alone_costs_one_point_like_any_query() -> None:
    # "The minimum point value of a call to the GraphQL API is 1" (GitHub's GraphQL rate-limit docs).
    assert query_cost("{ rateLimit { cost remaining } }", SCHEMA).points == 1
    assert query_cost("{ viewer { login } rateLimit { cost } }", SCHEMA).points == 1


def test_variables_and_their_defaults_set_the_page_size() -> None:
    query = """
    query($repos: Int = 50, $issues: Int!) {
      viewer { repositories(first: $repos) { nodes { issues(last: $issues) { nodes { id } } } } }
    }
    """

    assert query_cost(query, SCHEMA, {"issues": 10}) == QueryCost(requests=51, points=1, nodes=550)
    assert query_cost(query, SCHEMA, {"repos": 100, "issues": 100}).nodes == 100 + 10_000


def test_named_and_inline_fragments_count_like_the_fields_they_hold() -> None:
    inline = """
    { viewer { repositories(first: 50) { nodes {
      ... on Repository { issues(first: 10) { nodes { id } } }
    } } } }
    """
    named = """
    query { viewer { repositories(first: 50) { ...Repos } } }
    fragment Repos on RepositoryConnection { nodes { ...Issues } }
    fragment Issues on Repository { issues(first: 10) { nodes { id } } }
    """

    expected = QueryCost(requests=51, points=1, nodes=550)
    assert query_cost(inline, SCHEMA) == expected
    assert query_cost(named, SCHEMA) == expected


def test_two_aliases_of_one_connection_count_twice() -> None:
    query = """
    { viewer {
      open: repositories(first: 50) { nodes { issues(first: 10) { nodes { id } } } }
      closed: repositories(first: 50) { nodes { issues(first: 10) { nodes { id } } } }
    } }
    """

    assert query_cost(query, SCHEMA) == QueryCost(requests=102, points=1, nodes=1100)


def test_only_the_dearest_type_of_a_union_is_charged() -> None:
    # Each search result is an Issue or a PullRequest, never both: 100 parents, the PR branch is dearer.
    query = """
    { search(query: "x", type: ISSUE, first: 100) { nodes {
      ... on PullRequest { reviews(first: 100) { nodes { id } } files(first: 100) { nodes { path } } }
      ... on Issue { comments(first: 50) { nodes { id } } }
    } } }
    """

    assert query_cost(query, SCHEMA) == QueryCost(requests=1 + 100 + 100, points=2, nodes=100 + 20_000)


def test_nodes_by_ids_multiplies_what_is_nested_like_a_page_of_that_many() -> None:
    query = """
    query($ids: [ID!]!) { nodes(ids: $ids) { ... on PullRequest {
      reviews(first: 100) { nodes { comments(first: 10) { nodes { id } } } }
    } } }
    """
    ids = [f"PR_{number}" for number in range(50)]

    # 1 for nodes, 50 for reviews (one per PR), 5,000 for review comments (one per review).
    assert query_cost(query, SCHEMA, {"ids": ids}) == QueryCost(
        requests=1 + 50 + 5000, points=51, nodes=50 + 5000 + 50_000
    )
    assert query_cost(query, SCHEMA, {"ids": ids[:10]}).requests == 1 + 10 + 1000


def test_node_by_id_is_one_object() -> None:
    query = '{ node(id: "PR_1") { ... on PullRequest { reviews(first: 100) { nodes { id } } } } }'

    assert query_cost(query, SCHEMA) == QueryCost(requests=1, points=1, nodes=100)


def test_skipped_selections_cost_nothing() -> None:
    query = """
    query($withIssues: Boolean!) { viewer { repositories(first: 50) { nodes {
      issues(first: 10) @include(if: $withIssues) { nodes { id } }
    } } } }
    """

    assert query_cost(query, SCHEMA, {"withIssues": False}).requests == 1
    assert query_cost(query, SCHEMA, {"withIssues": True}).requests == 51


def test_the_named_operation_is_the_one_priced() -> None:
    document = """
    query Cheap { viewer { login } }
    query Dear { viewer { repositories(first: 100) { nodes { issues(first: 100) { nodes { id } } } } } }
    """

    assert query_cost(document, SCHEMA, operation_name="Cheap").requests == 0
    assert query_cost(document, SCHEMA, operation_name="Dear").requests == 101
    with pytest.raises(ValueError, match="operation name"):
        query_cost(document, SCHEMA)


def test_a_connection_without_first_or_last_is_refused_as_github_refuses_it() -> None:
    errors = limit_errors('{ repository(owner: "o", name: "r") {\n  issues { nodes { id } } } }')

    assert errors == [
        {
            "type": "MISSING_PAGINATION_BOUNDARIES",
            "path": ["repository", "issues"],
            "locations": [{"line": 2, "column": 3}],
            "message": "You must provide a `first` or `last` value to properly paginate the `issues` "
            "connection.",
        }
    ]


def test_counting_a_connection_needs_no_page() -> None:
    assert query_cost('{ repository(owner: "o", name: "r") { issues { totalCount } } }', SCHEMA).nodes == 0


def test_more_than_100_records_is_refused_naming_the_argument_given() -> None:
    errors = limit_errors("{ viewer { repos: repositories(first: 101) { nodes { id } } } }")
    assert errors == [
        {
            "type": "EXCESSIVE_PAGINATION",
            "path": ["viewer", "repos"],
            "locations": [{"line": 1, "column": 12}],
            "message": "Requesting 101 records on the `repositories` connection exceeds the `first` limit "
            "of 100 records.",
        }
    ]

    (last,) = limit_errors(
        "query($n: Int!) { viewer { repositories(last: $n) { nodes { id } } } }", {"n": 250}
    )
    assert last["message"] == (
        "Requesting 250 records on the `repositories` connection exceeds the `last` limit of 100 records."
    )


def test_every_pagination_error_is_reported() -> None:
    errors = limit_errors(
        "{ viewer { repositories(first: 500) { nodes { issues { nodes { id } } } }"
        " followers { nodes { id } } } }"
    )

    assert [(error["type"], error["path"]) for error in errors] == [
        ("EXCESSIVE_PAGINATION", ["viewer", "repositories"]),
        ("MISSING_PAGINATION_BOUNDARIES", ["viewer", "repositories", "nodes", "issues"]),
        ("MISSING_PAGINATION_BOUNDARIES", ["viewer", "followers"]),
    ]


def test_more_than_500000_nodes_is_refused_naming_the_connection_that_passes_the_limit() -> None:
    query = """
    { viewer { repositories(first: 100) { nodes {
      issues(first: 100) { nodes {
        labels(first: 100) { nodes { id } } } } } } } }
    """

    assert limit_errors(query) == [
        {
            "type": "MAX_NODE_LIMIT_EXCEEDED",
            "locations": [{"line": 4, "column": 9}],
            "message": "By the time this query traverses to the labels connection, it is requesting up to "
            "1,000,000 possible nodes which exceeds the maximum limit of 500,000.",
        }
    ]


def test_a_total_over_the_node_limit_with_no_single_culprit_names_the_total() -> None:
    # Six branches of 100,100 nodes each: none passes 500,000 alone, together they do.
    branch = (
        "r{n}: repositories(first: 100) {{ nodes {{ issues(first: 100) {{ nodes {{"
        " labels(first: 10) {{ nodes {{ id }} }} }} }} }} }}"
    )
    query = "{ viewer { " + " ".join(branch.format(n=n) for n in range(6)) + " } }"

    (error,) = limit_errors(query)

    assert error == {
        "type": "MAX_NODE_LIMIT_EXCEEDED",
        "message": "This query requests up to 660,600 possible nodes which exceeds the maximum limit "
        "of 500,000.",
    }


def test_exactly_500000_nodes_is_allowed_and_one_more_is_not() -> None:
    # 100 + 10,000 + 480,000 in one branch and 99 + 9,801 in the other: 500,000.
    query = """
    { viewer {
      a: repositories(first: 100) { nodes { issues(first: 100) { nodes {
        labels(first: 48) { nodes { id } } } } } }
      b: repositories(first: 99) { nodes { issues(first: LAST) { nodes { id } } } }
    } }
    """

    assert query_cost(query.replace("LAST", "99"), SCHEMA).nodes == 500_000
    (error,) = limit_errors(query.replace("LAST", "100"))
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert "up to 500,099 possible nodes" in error["message"]


page_sizes = st.integers(min_value=1, max_value=100)


@given(repositories=page_sizes, issues=page_sizes, labels=page_sizes)
def test_cost_is_never_below_one_point_and_follows_the_formula(
    repositories: int, issues: int, labels: int
) -> None:
    query = """
    query($r: Int!, $i: Int!, $l: Int!) { viewer { repositories(first: $r) { nodes {
      issues(first: $i) { nodes { labels(first: $l) { nodes { id } } } } } } } }
    """
    variables = {"r": repositories, "i": issues, "l": labels}
    nodes = repositories + repositories * issues + repositories * issues * labels
    if nodes > 500_000:
        with pytest.raises(QueryLimitError):
            query_cost(query, SCHEMA, variables)
        return

    cost = query_cost(query, SCHEMA, variables)

    assert cost.points >= 1
    assert cost.requests == 1 + repositories + repositories * issues
    assert cost.nodes == nodes


@given(first=st.integers(min_value=1, max_value=99), depth=st.integers(min_value=1, max_value=2))
def test_nodes_and_requests_never_fall_as_first_grows(first: int, depth: int) -> None:
    inner = "{ nodes { id } }" if depth == 1 else "{ nodes { issues(first: 10) { nodes { id } } } }"
    smaller = query_cost(f"{{ viewer {{ repositories(first: {first}) {inner} }} }}", SCHEMA)
    larger = query_cost(f"{{ viewer {{ repositories(first: {first + 1}) {inner} }} }}", SCHEMA)

    assert larger.nodes > smaller.nodes
    assert larger.requests >= smaller.requests
    assert larger.points >= smaller.points
