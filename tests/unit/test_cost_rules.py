"""GitHub's published GraphQL cost rules, priced by hand and held against the calculator.

The rules (docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api):

- "Add up the number of requests needed to fulfill each unique connection in the call. Assume every
  request will reach the `first` or `last` argument limits." A top-level connection needs 1 request; a
  nested one needs one request per object its parent connections may return.
- "Divide the number by 100 and round the result to the nearest whole number"; "The minimum point value
  of a call to the GraphQL API is 1."
- Nodes: a connection may return its page size times its ancestors' page sizes; "Individual calls cannot
  request more than 500,000 total nodes."
- "Clients must supply a `first` or `last` argument on any connection"; at most 100.

Every expectation below is arithmetic on those rules, written next to its query; none comes from the
calculator. Conventions the page does not spell out, taken by the calculator and priced here the same
way: `nodes(ids:)` is one request for a page of as many objects as it has ids, `node(id:)` one object;
an object of a union or interface type is of one type, so the dearest type's selections are charged;
fields sharing a response key are one field (GraphQL merges them), aliases are distinct fields.

Each row runs against the schema the calculator uses by default (`known_schema()`), and again against
GitHub's full public schema; GitHub's own worked examples touch fields outside the subset and run
against the full schema only. Every query is first checked to be valid on the schema it is priced on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from graphql import GraphQLSchema, parse, validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.conftest import github_graphql_schema  # noqa: F401  (the fixture, reused)
from ghcapture.github.cost import QueryCost, QueryLimitError, known_schema, query_cost

REPO = 'repository(owner: "o", name: "r")'
IDS_3 = '["PR_1", "PR_2", "PR_3"]'
IDS_100 = "[" + ", ".join(f'"PR_{n}"' for n in range(100)) + "]"


@dataclass(frozen=True)
class Priced:
    query: str
    requests: int
    points: int
    nodes: int
    variables: dict[str, Any] | None = None
    operation: str | None = None
    github_only: bool = False  # uses fields outside schema.graphql (GitHub's worked examples)


# -- GitHub's worked examples, verbatim from the page ------------------------------------------------

DOCS_NODES_SIMPLE = """
query {
  viewer {
    repositories(first: 50) {
      edges {
        repository:node {
          name

          issues(first: 10) {
            totalCount
            edges {
              node {
                title
                bodyHTML
              }
            }
          }
        }
      }
    }
  }
}
"""

DOCS_NODES_COMPLEX = """
query {
  viewer {
    repositories(first: 50) {
      edges {
        repository:node {
          name

          pullRequests(first: 20) {
            edges {
              pullRequest:node {
                title

                comments(first: 10) {
                  edges {
                    comment:node {
                      bodyHTML
                    }
                  }
                }
              }
            }
          }

          issues(first: 20) {
            totalCount
            edges {
              issue:node {
                title
                bodyHTML

                comments(first: 10) {
                  edges {
                    comment:node {
                      bodyHTML
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    followers(first: 10) {
      edges {
        follower:node {
          login
        }
      }
    }
  }
}
"""

DOCS_POINTS = """
query {
  viewer {
    login
    repositories(first: 100) {
      edges {
        node {
          id

          issues(first: 50) {
            edges {
              node {
                id

                labels(first: 60) {
                  edges {
                    node {
                      id
                      name
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
"""

DOCS_RATE_LIMIT_STATUS = """
query {
  viewer {
    login
  }
  rateLimit {
    limit
    remaining
    used
    resetAt
  }
}
"""

DOCS_RATE_LIMIT_COST = """
query {
  viewer {
    login
  }
  rateLimit {
    cost
  }
}
"""

# PullRequest's four connections, each asked for one record: one request per PR apiece.
FOUR_PER_PR = (
    "reviews(first: 1) { totalCount } comments(first: 1) { totalCount } "
    "files(first: 1) { totalCount } commits(first: 1) { totalCount }"
)

TABLE: dict[str, Priced] = {
    # -- GitHub's worked examples --------------------------------------------------------------------
    "docs-nodes-simple-550": Priced(
        DOCS_NODES_SIMPLE,
        requests=1 + 50,  # repositories once; issues once per repository
        points=1,  # 51 / 100 = 0.51 -> 1
        nodes=50 + 50 * 10,  # = 550, the page's figure
        github_only=True,
    ),
    "docs-nodes-complex-22060": Priced(
        DOCS_NODES_COMPLEX,
        # repositories 1, pullRequests 50, their comments 50 x 20, issues 50, their comments 50 x 20,
        # followers 1
        requests=1 + 50 + 50 * 20 + 50 + 50 * 20 + 1,  # = 2,102
        points=21,  # 21.02 -> 21
        nodes=50 + 50 * 20 + 50 * 20 * 10 + 50 * 20 + 50 * 20 * 10 + 10,  # = 22,060, the page's figure
        github_only=True,
    ),
    "docs-points-5101-requests-51": Priced(
        DOCS_POINTS,
        requests=1 + 100 + 100 * 50,  # = 5,101, the page's figure
        points=51,  # 51.01 -> 51, the page's figure
        nodes=100 + 100 * 50 + 100 * 50 * 60,  # = 305,100
        github_only=True,
    ),
    "docs-rate-limit-status-query": Priced(
        DOCS_RATE_LIMIT_STATUS,
        requests=0,  # no connection
        points=1,  # the minimum point value of a call
        nodes=0,
    ),
    "docs-rate-limit-cost-query": Priced(DOCS_RATE_LIMIT_COST, requests=0, points=1, nodes=0),
    # -- one connection ------------------------------------------------------------------------------
    "single-connection": Priced(
        f"{{ {REPO} {{ pullRequests(first: 50) {{ nodes {{ number title }} }} }} }}",
        requests=1,
        points=1,
        nodes=50,
    ),
    "single-connection-edges": Priced(
        f"{{ {REPO} {{ pullRequests(first: 100) {{ edges {{ cursor node {{ number }} }} "
        f"pageInfo {{ hasNextPage endCursor }} }} }} }}",
        requests=1,
        points=1,
        nodes=100,
    ),
    "last-instead-of-first": Priced(
        f"{{ {REPO} {{ pullRequests(last: 50) {{ nodes {{ reviews(last: 20) {{ nodes {{ id }} }} }} }} }} }}",
        requests=1 + 50,
        points=1,  # 0.51 -> 1
        nodes=50 + 50 * 20,
    ),
    # -- nesting -------------------------------------------------------------------------------------
    "two-levels": Priced(
        f"{{ {REPO} {{ pullRequests(first: 50) {{ nodes {{"
        " reviews(first: 20) { nodes { id } } } } } }",
        requests=1 + 50,
        points=1,
        nodes=50 + 50 * 20,  # = 1,050
    ),
    "two-levels-edges": Priced(
        f"{{ {REPO} {{ pullRequests(first: 50) {{ edges {{ node {{ reviews(first: 20) "
        f"{{ edges {{ node {{ id }} }} }} }} }} }} }} }}",
        requests=1 + 50,
        points=1,
        nodes=50 + 50 * 20,
    ),
    "three-levels": Priced(
        f"{{ {REPO} {{ pullRequests(first: 100) {{ nodes {{ reviews(first: 100) {{ nodes {{"
        f" comments(first: 40) {{ nodes {{ id }} }} }} }} }} }} }} }}",
        requests=1 + 100 + 100 * 100,  # = 10,101
        points=101,  # 101.01 -> 101
        nodes=100 + 100 * 100 + 100 * 100 * 40,  # = 410,100
    ),
    "siblings-149-requests-round-down": Priced(
        f"{{ {REPO} {{ pullRequests(first: 37) {{ nodes {{ {FOUR_PER_PR} }} }} }} }}",
        requests=1 + 37 * 4,  # = 149
        points=1,  # 1.49 -> 1
        nodes=37 + 37 * 4 * 1,  # = 185
    ),
    "siblings-150-requests-half-rounds-up": Priced(
        f"{{ {REPO} {{ pullRequests(first: 37) {{ nodes {{ {FOUR_PER_PR} }} }} }}"
        f' search(type: ISSUE, query: "is:pr", first: 1) {{ issueCount }} }}',
        requests=1 + 37 * 4 + 1,  # = 150
        points=2,  # 1.50 -> 2
        nodes=37 + 37 * 4 + 1,  # = 186
    ),
    "siblings-251-requests": Priced(
        f"{{ {REPO} {{ pullRequests(first: 50) {{ nodes {{ {FOUR_PER_PR}"
        f" approvals: reviews(first: 1, states: [APPROVED]) {{ totalCount }} }} }} }} }}",
        requests=1 + 50 * 5,  # = 251
        points=3,  # 2.51 -> 3
        nodes=50 + 50 * 5,  # = 300
    ),
    # -- objects by id -------------------------------------------------------------------------------
    "nodes-by-ids": Priced(
        f"{{ nodes(ids: {IDS_3}) {{ ... on PullRequest {{ reviews(first: 10) {{ nodes {{ id }} }} }} }} }}",
        requests=1 + 3,  # nodes(ids:) once; reviews once per PR
        points=1,
        nodes=3 + 3 * 10,
    ),
    "nodes-by-100-ids-nested": Priced(
        f"{{ nodes(ids: {IDS_100}) {{ ... on PullRequest {{ reviews(first: 100) {{ nodes {{"
        f" comments(first: 10) {{ nodes {{ id }} }} }} }} }} }} }}",
        requests=1 + 100 + 100 * 100,  # = 10,101
        points=101,
        nodes=100 + 100 * 100 + 100 * 100 * 10,  # = 110,100
    ),
    "node-by-id": Priced(
        '{ node(id: "PR_1") { ... on PullRequest { reviews(first: 100) { nodes {'
        " comments(first: 10) { nodes { id } } } } } } }",
        requests=1 + 100,  # reviews once for the one PR; review comments once per review
        points=1,  # 1.01 -> 1
        nodes=100 + 100 * 10,
    ),
    # -- aliases, fragments, repeated fields ---------------------------------------------------------
    "two-aliases-count-twice": Priced(
        f"{{ {REPO} {{"
        " open: pullRequests(first: 100, states: [OPEN]) { nodes { reviews(first: 100) { nodes { id } } } }"
        " merged: pullRequests(first: 100, states: [MERGED]) { nodes {"
        " reviews(first: 100) { nodes { id } } } }"
        " } }",
        requests=(1 + 100) * 2,  # = 202
        points=2,  # 2.02 -> 2; one of them alone is 1
        nodes=(100 + 100 * 100) * 2,  # = 20,200
    ),
    "named-fragments": Priced(
        f"query {{ {REPO} {{ ...PullRequests }} }}"
        " fragment PullRequests on Repository { pullRequests(first: 50) { nodes { ...Reviews } } }"
        " fragment Reviews on PullRequest { reviews(first: 20) { nodes { id } } }",
        requests=1 + 50,
        points=1,
        nodes=50 + 50 * 20,
    ),
    "inline-fragments": Priced(
        f"{{ {REPO} {{ ... on Repository {{ pullRequests(first: 50) {{ nodes {{"
        f" ... on PullRequest {{ reviews(first: 20) {{ nodes {{ id }} }} }} }} }} }} }} }}",
        requests=1 + 50,
        points=1,
        nodes=50 + 50 * 20,
    ),
    "fragment-spread-twice-is-one-connection": Priced(
        f"query {{ {REPO} {{ ...PullRequests ...PullRequests }} }}"
        " fragment PullRequests on Repository {"
        " pullRequests(first: 50) { nodes { reviews(first: 20) { nodes { id } } } } }",
        requests=1 + 50,  # one unique connection: the two spreads merge into one field
        points=1,
        nodes=50 + 50 * 20,
    ),
    "same-field-twice-without-alias-is-one-connection": Priced(
        f"{{ {REPO} {{ pullRequests(first: 50) {{ totalCount }}"
        " pullRequests(first: 50) { nodes { reviews(first: 20) { nodes { id } } } }"
        " ...More } } fragment More on Repository { pullRequests(first: 50) { nodes { number } } }",
        requests=1 + 50,
        points=1,
        nodes=50 + 50 * 20,
    ),
    # -- search --------------------------------------------------------------------------------------
    "search-prs-with-nested-connections": Priced(
        '{ search(type: ISSUE, query: "repo:o/r is:pr", first: 50) { issueCount nodes {'
        " ... on PullRequest { number reviews(first: 10) { nodes { id } }"
        " comments(first: 10) { nodes { id } } files(first: 100) { nodes { path } } } } } }",
        requests=1 + 50 * 3,  # search once; three connections once per PR
        points=2,  # 1.51 -> 2
        nodes=50 + 50 * 10 + 50 * 10 + 50 * 100,  # = 6,050
    ),
    "search-prs-three-levels": Priced(
        '{ search(type: ISSUE, query: "is:pr", first: 100) { nodes { ... on PullRequest {'
        " reviews(first: 50) { nodes { comments(first: 50) { nodes { id } } } } } } } }",
        requests=1 + 100 + 100 * 50,  # = 5,101
        points=51,
        nodes=100 + 100 * 50 + 100 * 50 * 50,  # = 255,100
    ),
    "search-result-is-one-type-the-dearest-is-charged": Priced(
        '{ search(type: REPOSITORY, query: "x", first: 100) { nodes {'
        " ... on PullRequest { reviews(first: 10) { nodes { id } } }"
        " ... on Repository { pullRequests(first: 100) { nodes { number } } } } } }",
        # each result is a PullRequest or a Repository: either way one request per result
        requests=1 + 100,
        points=1,
        nodes=100 + 100 * 100,  # every result a Repository (dearer than 100 x 10)
    ),
    # -- counts only ---------------------------------------------------------------------------------
    "total-count-with-first-1": Priced(
        f"{{ {REPO} {{ pullRequests(first: 1) {{ totalCount }} }} }}",
        requests=1,
        points=1,
        nodes=1,
    ),
    "total-counts-nested": Priced(
        f"{{ {REPO} {{ pullRequests(first: 100) {{ nodes {{"
        " commits(first: 1) { totalCount } reviews(first: 1) { totalCount } } } } }",
        requests=1 + 100 * 2,  # = 201
        points=2,  # 2.01 -> 2
        nodes=100 + 100 * 1 + 100 * 1,
    ),
    "total-count-without-first-needs-no-page": Priced(
        # GitHub refuses a connection without first/last only when its records are selected
        f"{{ {REPO} {{ pullRequests {{ totalCount }} }} }}",
        requests=0,
        points=1,  # minimum
        nodes=0,
    ),
    "first-0-is-an-empty-page": Priced(
        # GitHub refuses only negative values; `first: 0` is how many clients ask for a bare count
        f"{{ {REPO} {{ pullRequests(first: 0) {{ totalCount nodes {{ reviews(first: 10)"
        " { nodes { id } } } } } }",
        requests=1 + 0 * 1,  # the connection once; no PR to ask for reviews
        points=1,
        nodes=0 + 0 * 10,
    ),
    # -- rateLimit, __typename, scalars ----------------------------------------------------------------
    "rate-limit-alone": Priced(
        "{ rateLimit { cost remaining resetAt used limit nodeCount } }",
        requests=0,
        points=1,  # "The minimum point value of a call to the GraphQL API is 1"
        nodes=0,
    ),
    "rate-limit-beside-a-dear-query": Priced(
        f"{{ rateLimit {{ cost remaining }} {REPO} {{ pullRequests(first: 100) {{ nodes {{"
        f" reviews(first: 100) {{ nodes {{ comments(first: 10) {{ nodes {{ id }} }} }} }} }} }} }} }}",
        requests=1 + 100 + 100 * 100,  # rateLimit adds nothing
        points=101,
        nodes=100 + 100 * 100 + 100 * 100 * 10,
    ),
    "typename-alone": Priced("{ __typename }", requests=0, points=1, nodes=0),
    "scalars-only": Priced(
        f"{{ viewer {{ login name }} {REPO} {{ name nameWithOwner pullRequest(number: 1) {{ title"
        " author { login } } } }",
        requests=0,
        points=1,
        nodes=0,
    ),
    # -- variables and operations --------------------------------------------------------------------
    "variables-and-defaults-for-first": Priced(
        'query($prs: Int!, $reviews: Int = 20) { repository(owner: "o", name: "r") {'
        " pullRequests(first: $prs) { nodes { reviews(first: $reviews) { nodes { id } } } } } }",
        variables={"prs": 50},
        requests=1 + 50,
        points=1,
        nodes=50 + 50 * 20,
    ),
    "variables-for-first-at-100": Priced(
        'query($prs: Int!, $reviews: Int = 20) { repository(owner: "o", name: "r") {'
        " pullRequests(first: $prs) { nodes { reviews(first: $reviews) { nodes { id } } } } } }",
        variables={"prs": 100, "reviews": 100},
        requests=1 + 100,
        points=1,
        nodes=100 + 100 * 100,
    ),
    "operation-name-picks-the-dear-one": Priced(
        "query Cheap { viewer { login } }"
        f" query Dear {{ {REPO} {{ pullRequests(first: 100) {{ nodes {{ reviews(first: 100) {{ nodes {{"
        " comments(first: 10) { nodes { id } } } } } } } }"
        ' query Middle { search(type: ISSUE, query: "x", first: 10) { issueCount } }',
        operation="Dear",
        requests=1 + 100 + 100 * 100,
        points=101,
        nodes=100 + 100 * 100 + 100 * 100 * 10,
    ),
    "operation-name-picks-the-cheap-one": Priced(
        "query Cheap { viewer { login } }"
        f" query Dear {{ {REPO} {{ pullRequests(first: 100) {{ nodes {{ reviews(first: 100) {{ nodes {{"
        " comments(first: 10) { nodes { id } } } } } } } }",
        operation="Cheap",
        requests=0,
        points=1,
        nodes=0,
    ),
    # -- the node limit's edge -----------------------------------------------------------------------
    "exactly-500000-nodes-is-allowed": Priced(
        f"{{ {REPO} {{"
        " a: pullRequests(first: 100) { nodes { reviews(first: 100) { nodes { comments(first: 48)"
        " { nodes { id } } } } } }"
        " b: pullRequests(first: 99) { nodes { reviews(first: 99) { nodes { id } } } } } }",
        requests=(1 + 100 + 100 * 100) + (1 + 99),  # = 10,201
        points=102,  # 102.01 -> 102
        nodes=(100 + 100 * 100 + 100 * 100 * 48) + (99 + 99 * 99),  # 490,100 + 9,900 = 500,000
    ),
}

KNOWN_ROWS = {name: row for name, row in TABLE.items() if not row.github_only}


def price(row: Priced, schema: GraphQLSchema) -> QueryCost:
    document = parse(row.query)
    assert validate(schema, document) == [], "the query must be valid on the schema it is priced on"
    return query_cost(document, schema, row.variables, row.operation)


def expected(row: Priced) -> QueryCost:
    return QueryCost(requests=row.requests, points=row.points, nodes=row.nodes)


def test_the_table_is_wide_enough() -> None:
    assert len(TABLE) >= 25


@pytest.mark.parametrize("row", KNOWN_ROWS.values(), ids=KNOWN_ROWS.keys())
def test_hand_priced_on_the_default_schema(row: Priced) -> None:
    assert price(row, known_schema()) == expected(row)


@pytest.mark.parametrize("row", TABLE.values(), ids=TABLE.keys())
def test_hand_priced_on_githubs_schema(row: Priced, github_graphql_schema: GraphQLSchema) -> None:  # noqa: F811
    assert price(row, github_graphql_schema) == expected(row)


# -- refusals, with GitHub's error types and messages --------------------------------------------------


@dataclass(frozen=True)
class Refused:
    query: str
    errors: list[tuple[str, list[str] | None, str]]  # (type, path, message)
    variables: dict[str, Any] | None = None


def missing(name: str) -> str:
    return f"You must provide a `first` or `last` value to properly paginate the `{name}` connection."


REFUSED: dict[str, Refused] = {
    "no-first-or-last": Refused(
        f"{{ {REPO} {{ pullRequests {{ nodes {{ number }} }} }} }}",
        [("MISSING_PAGINATION_BOUNDARIES", ["repository", "pullRequests"], missing("pullRequests"))],
    ),
    "no-first-or-last-nested-with-page-info-only": Refused(
        f"{{ {REPO} {{ pullRequests(first: 10) {{ nodes {{"
        " reviews { pageInfo { hasNextPage } } } } } }",
        [
            (
                "MISSING_PAGINATION_BOUNDARIES",
                ["repository", "pullRequests", "nodes", "reviews"],
                missing("reviews"),
            )
        ],
    ),
    "no-first-or-last-on-search": Refused(
        '{ search(type: ISSUE, query: "x") { edges { node { __typename } } } }',
        [("MISSING_PAGINATION_BOUNDARIES", ["search"], missing("search"))],
    ),
    "first-101": Refused(
        f"{{ {REPO} {{ pullRequests(first: 101) {{ nodes {{ number }} }} }} }}",
        [
            (
                "EXCESSIVE_PAGINATION",
                ["repository", "pullRequests"],
                "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100"
                " records.",
            )
        ],
    ),
    "last-101-aliased": Refused(
        f"{{ {REPO} {{ recent: pullRequests(last: 101) {{ nodes {{ number }} }} }} }}",
        [
            (
                "EXCESSIVE_PAGINATION",
                ["repository", "recent"],
                "Requesting 101 records on the `pullRequests` connection exceeds the `last` limit of 100"
                " records.",
            )
        ],
    ),
    "first-250-from-a-variable": Refused(
        f"query($n: Int!) {{ {REPO} {{ pullRequests(first: 10) {{ nodes {{ files(first: $n)"
        " { nodes { path } } } } } }",
        [
            (
                "EXCESSIVE_PAGINATION",
                ["repository", "pullRequests", "nodes", "files"],
                "Requesting 250 records on the `files` connection exceeds the `first` limit of 100 records.",
            )
        ],
        variables={"n": 250},
    ),
    "first-negative": Refused(
        f"{{ {REPO} {{ pullRequests(first: -1) {{ nodes {{ number }} }} }} }}",
        [
            (
                "INVALID_PAGINATION",
                ["repository", "pullRequests"],
                "`first` on the `pullRequests` connection cannot be less than zero.",
            )
        ],
    ),
    "just-over-500000-one-connection-passes-it": Refused(
        # comments alone: 100 x 100 x 51 = 510,000 > 500,000
        f"{{ {REPO} {{ pullRequests(first: 100) {{ nodes {{ reviews(first: 100) {{ nodes {{"
        " comments(first: 51) { nodes { id } } } } } } } }",
        [
            (
                "MAX_NODE_LIMIT_EXCEEDED",
                None,
                "By the time this query traverses to the comments connection, it is requesting up to"
                " 510,000 possible nodes which exceeds the maximum limit of 500,000.",
            )
        ],
    ),
    "just-over-500000-in-total": Refused(
        # 100 + 100 x 100 + 100 x 100 x 49 = 500,100: no one connection passes the limit alone
        f"{{ {REPO} {{ pullRequests(first: 100) {{ nodes {{ reviews(first: 100) {{ nodes {{"
        " comments(first: 49) { nodes { id } } } } } } } }",
        [
            (
                "MAX_NODE_LIMIT_EXCEEDED",
                None,
                "This query requests up to 500,100 possible nodes which exceeds the maximum limit of"
                " 500,000.",
            )
        ],
    ),
    "500001-nodes": Refused(
        # the exactly-500,000 row plus one search result
        f"{{ {REPO} {{"
        " a: pullRequests(first: 100) { nodes { reviews(first: 100) { nodes { comments(first: 48)"
        " { nodes { id } } } } } }"
        " b: pullRequests(first: 99) { nodes { reviews(first: 99) { nodes { id } } } } }"
        ' search(type: ISSUE, query: "x", first: 1) { issueCount } }',
        [
            (
                "MAX_NODE_LIMIT_EXCEEDED",
                None,
                "This query requests up to 500,001 possible nodes which exceeds the maximum limit of"
                " 500,000.",
            )
        ],
    ),
}


def refusal(row: Refused, schema: GraphQLSchema) -> list[tuple[str, list[str] | None, str]]:
    document = parse(row.query)
    assert validate(schema, document) == []
    with pytest.raises(QueryLimitError) as raised:
        query_cost(document, schema, row.variables)
    return [(error["type"], error.get("path"), error["message"]) for error in raised.value.errors]


@pytest.mark.parametrize("row", REFUSED.values(), ids=REFUSED.keys())
def test_refused_as_github_refuses_on_the_default_schema(row: Refused) -> None:
    assert refusal(row, known_schema()) == row.errors


@pytest.mark.parametrize("row", REFUSED.values(), ids=REFUSED.keys())
def test_refused_as_github_refuses_on_githubs_schema(
    row: Refused,
    github_graphql_schema: GraphQLSchema,  # noqa: F811
) -> None:
    assert refusal(row, github_graphql_schema) == row.errors


def test_a_node_limit_error_points_at_the_connection_that_passes_it() -> None:
    query = (
        '{ repository(owner: "o", name: "r") { pullRequests(first: 100) { nodes {\n'
        "  reviews(first: 100) { nodes {\n"
        "    comments(first: 51) { nodes { id } } } } } } } }"
    )
    with pytest.raises(QueryLimitError) as raised:
        query_cost(query, known_schema())

    assert raised.value.errors[0]["locations"] == [{"line": 3, "column": 5}]


# -- properties ----------------------------------------------------------------------------------------

page = st.integers(min_value=0, max_value=100)
maybe_page = st.none() | page


@st.composite
def shapes(draw: st.DrawFn) -> dict[str, int | None]:
    """Page sizes for a pull-request query; None leaves that connection out."""
    return {
        "prs": draw(page),
        "reviews": draw(maybe_page),
        "review_comments": draw(maybe_page),
        "comments": draw(maybe_page),
        "files": draw(maybe_page),
        "commits": draw(maybe_page),
    }


def pull_requests(shape: dict[str, int | None], alias: str = "") -> str:
    inner = ["number"]
    if shape["reviews"] is not None:
        nested = (
            f" comments(first: {shape['review_comments']}) {{ nodes {{ id }} }}"
            if shape["review_comments"] is not None
            else ""
        )
        inner.append(f"reviews(first: {shape['reviews']}) {{ nodes {{ id{nested} }} }}")
    for name, selected in (("comments", "id"), ("files", "path"), ("commits", "id")):
        if shape[name] is not None:
            inner.append(f"{name}(first: {shape[name]}) {{ totalCount nodes {{ {selected} }} }}")
    prefix = f"{alias}: " if alias else ""
    return f"{prefix}pullRequests(first: {shape['prs']}) {{ nodes {{ {' '.join(inner)} }} }}"


def cost_or_refusal(query: str) -> QueryCost | None:
    try:
        return query_cost(query, known_schema())
    except QueryLimitError as refused:
        assert {error["type"] for error in refused.errors} == {"MAX_NODE_LIMIT_EXCEEDED"}
        return None


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(shapes())
def test_a_query_never_costs_less_than_one_point(shape: dict[str, int | None]) -> None:
    cost = cost_or_refusal(f"{{ {REPO} {{ {pull_requests(shape)} }} }}")
    if cost is not None:
        assert cost.points >= 1


@PROPERTY_SETTINGS
@given(shapes(), st.sampled_from(["prs", "reviews", "review_comments", "comments", "files", "commits"]), page)
def test_raising_any_first_never_lowers_points_requests_or_nodes(
    shape: dict[str, int | None], grown: str, more: int
) -> None:
    current = shape[grown]
    if current is None:
        return
    larger_shape = {**shape, grown: min(100, current + more)}

    smaller = cost_or_refusal(f"{{ {REPO} {{ {pull_requests(shape)} }} }}")
    larger = cost_or_refusal(f"{{ {REPO} {{ {pull_requests(larger_shape)} }} }}")

    if smaller is None:
        assert larger is None, "a larger page cannot come back under the node limit"
        return
    if larger is not None:
        assert larger.points >= smaller.points
        assert larger.requests >= smaller.requests
        assert larger.nodes >= smaller.nodes


@PROPERTY_SETTINGS
@given(shapes())
def test_an_aliased_duplicate_never_costs_less_than_once(shape: dict[str, int | None]) -> None:
    once = cost_or_refusal(f"{{ {REPO} {{ {pull_requests(shape, 'a')} }} }}")
    twice = cost_or_refusal(f"{{ {REPO} {{ {pull_requests(shape, 'a')} {pull_requests(shape, 'b')} }} }}")

    if once is None:
        assert twice is None
        return
    if twice is not None:
        assert twice.points >= once.points
        assert twice.requests == 2 * once.requests
        assert twice.nodes == 2 * once.nodes


@PROPERTY_SETTINGS
@given(shapes())
def test_a_fragment_spread_twice_costs_what_it_costs_once(shape: dict[str, int | None]) -> None:
    fragment = f" fragment F on Repository {{ {pull_requests(shape)} }}"
    once = cost_or_refusal(f"{{ {REPO} {{ ...F }} }}{fragment}")
    twice = cost_or_refusal(f"{{ {REPO} {{ ...F ...F }} }}{fragment}")

    assert twice == once
