"""GraphQL queries valid on GitHub's real schema run on the simulator, and the simulator's answers fit
GitHub's schema: every selected key present, non-null fields never null, enum values GitHub's own, scalars
of the right kind, `__typename` a type that may stand there.

The queries are the project's own (src/ghcapture/github/queries/*.graphql), with variables filled from
their declared types, and a few representative ones written here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    parse,
    type_from_ast,
    validate,
)
from graphql.execution.collect_fields import collect_fields

from fixtures_simulator import REAL_PAYLOADS
from ghcapture.simulator.app import Simulator
from ghcapture.simulator.dataset import load_dataset, read_dataset
from ghcapture.simulator.generator import Shape, generate_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World


def project_queries() -> list[Path]:
    spec = importlib.util.find_spec("ghcapture")
    assert spec is not None and spec.origin is not None
    return sorted((Path(spec.origin).parent / "github" / "queries").glob("*.graphql"))


OWN = {
    "pull_request_page": """
query PullRequestPage($owner: String!, $name: String!, $after: String) {
  rateLimit { cost limit remaining used resetAt nodeCount }
  repository(owner: $owner, name: $name) {
    id databaseId nameWithOwner isPrivate createdAt updatedAt url
    owner { __typename login id avatarUrl url }
    defaultBranchRef { name prefix }
    pullRequests(first: 50, after: $after, orderBy: {field: UPDATED_AT, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { number } }
      nodes {
        __typename id databaseId fullDatabaseId number title body state isDraft merged closed
        createdAt updatedAt closedAt mergedAt additions deletions changedFiles
        baseRefName headRefName baseRefOid headRefOid url permalink resourcePath
        author { __typename login url resourcePath ... on User { id databaseId name } ... on Bot { id } }
        mergedBy { __typename login }
        reviews(first: 50) { totalCount nodes { id fullDatabaseId state body createdAt submittedAt updatedAt
          url author { login } commit { oid } } }
        comments(first: 50) { totalCount nodes { id fullDatabaseId body createdAt updatedAt url
          author { __typename login } } }
        files(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { path additions deletions
          changeType } }
        commits(first: 1) { totalCount nodes { commit { oid message messageHeadline authoredDate
          committedDate author { name email date user { login } } } } }
      }
    }
  }
}""",
    "review_comments_in_reviews": """
query ReviewThreads($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    pullRequests(last: 10) {
      nodes {
        number
        reviews(first: 20) {
          nodes {
            id
            pullRequest { number }
            comments(first: 50) {
              totalCount
              nodes { id fullDatabaseId body path line originalLine diffHunk createdAt updatedAt url
                author { login } replyTo { id } pullRequestReview { id } commit { oid } }
            }
          }
        }
      }
    }
  }
}""",
    "follow_up_by_node_id": """
query FollowUp($ids: [ID!]!) {
  rateLimit { cost }
  nodes(ids: $ids) {
    __typename id
    ... on PullRequest { number comments(first: 2, after: null) { totalCount nodes { id } } }
    ... on User { login }
  }
}""",
    "single_pull_request": """
query One($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      number repository { nameWithOwner }
      reviews(first: 5, states: [APPROVED, COMMENTED]) { totalCount nodes { state } }
      comments(last: 3, orderBy: {field: UPDATED_AT, direction: DESC}) { nodes { updatedAt } }
      files(first: 3) { edges { cursor node { path changeType } } }
    }
  }
  user(login: "ghost") { login }
  viewer { login }
}""",
    # The pull-request fields gh's `pr view --json` and PR-export tools ask for
    # (cli/cli api/query_builder.go).
    "pull_request_export": """
query Export($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    description homepageUrl isFork isArchived stargazerCount forkCount pushedAt resourcePath
    hasIssuesEnabled isInOrganization
    labels(first: 10) { totalCount nodes { id name color description } }
    pullRequest(number: $number) {
      id number authorAssociation mergeable mergeStateStatus reviewDecision isCrossRepository
      maintainerCanModify locked totalCommentsCount bodyText publishedAt lastEditedAt includesCreatedEdit
      createdViaEmail viewerDidAuthor editor { login }
      author { __typename login ... on User { isSiteAdmin email company location bio websiteUrl } }
      headRepository { nameWithOwner } baseRepository { nameWithOwner }
      headRepositoryOwner { __typename login } headRef { name } baseRef { name prefix }
      reactionGroups { content createdAt viewerHasReacted reactors(first: 5) { totalCount
        edges { cursor reactedAt node { __typename ... on User { login } } } } }
      labels(first: 20) { totalCount nodes { name color isDefault url } }
      assignees(first: 10) { totalCount nodes { login } }
      participants(first: 10) { totalCount nodes { login isSiteAdmin } }
      milestone { number title state dueOn progressPercentage url }
      reviewRequests(first: 10) { totalCount nodes { id asCodeOwner requestedReviewer { __typename
        ... on User { login } ... on Team { slug name combinedSlug } ... on Bot { login }
        ... on Mannequin { login } } } }
      latestReviews(first: 10) { nodes { state author { login } } }
      latestOpinionatedReviews(first: 10, writersOnly: true) { nodes { state } }
      reviews(first: 10) { nodes { authorAssociation authorCanPushToRepository bodyText publishedAt
        resourcePath repository { name } reactionGroups { content reactors { totalCount } } } }
      comments(first: 10) { nodes { authorAssociation isMinimized minimizedReason resourcePath
        reactionGroups { content reactors { totalCount } } } }
      reviewThreads(first: 20) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id isResolved isOutdated isCollapsed path line originalLine startLine diffSide subjectType
          resolvedBy { login } viewerCanResolve pullRequest { number } repository { name }
          comments(first: 10) { totalCount nodes { id authorAssociation outdated state subjectType position
            originalPosition draftedAt originalCommit { oid } replyTo { id } } } }
      }
      commits(first: 5) { nodes { commit { oid abbreviatedOid messageBody authoredByCommitter
        committedViaWeb url commitUrl resourcePath repository { name }
        committer { name email date user { login } }
        author { name email avatarUrl(size: 40) }
        authors(first: 5) { totalCount nodes { name email date user { login } } } } } }
    }
    issueOrPullRequest(number: $number) { __typename ... on PullRequest { number } }
    issues(first: 5, states: [OPEN]) { totalCount nodes { number } }
  }
  repositoryOwner(login: $owner) { __typename login }
}""",
    "comments_through_the_comment_interface": """
query Comments($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      ... on Comment { author { login } authorAssociation body createdAt updatedAt }
      comments(first: 5) { nodes { ... on Comment { authorAssociation bodyText } } }
      reviewThreads(last: 2) { nodes { comments(last: 1) { nodes { ... on Comment { id } } } } }
    }
  }
}""",
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[SimulatorServer, str, str]]]:
    generated = World()
    generated.add_repository(generate_repository("acme", "widgets", 60, seed=9, shape=Shape(tail_rate=20)))
    recorded = World()
    load_dataset(read_dataset(REAL_PAYLOADS), recorded)
    running = {
        "generated": (SimulatorServer(Simulator(generated)).start(), "acme", "widgets"),
        "recorded": (SimulatorServer(Simulator(recorded)).start(), "PyGithub", "PyGithub"),
    }
    yield running
    for server, _owner, _name in running.values():
        server.stop()


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def fill_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, known: dict[str, Any]
) -> dict[str, Any]:
    """Values for an operation's variables: by name where the name says what it is, else by declared type."""
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions:
        name = definition.variable.name.value
        declared = type_from_ast(schema, definition.type)
        assert declared is not None, f"unknown type of ${name}"
        if name in known:
            values[name] = known[name]
            continue
        if not isinstance(declared, GraphQLNonNull):
            continue  # optional: GitHub's default
        named = get_named_type(declared)
        if isinstance(named, GraphQLEnumType):
            values[name] = next(iter(named.values))
        elif named.name == "Int":
            values[name] = 20
        elif named.name == "Boolean":
            values[name] = True
        elif isinstance(declared.of_type, GraphQLList):
            values[name] = []
        else:
            pytest.fail(f"cannot fill ${name}: {declared}")
    return values


def assert_fits(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    data: Any,
) -> None:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    problems: list[str] = []
    root = schema.query_type
    assert root is not None
    _fits_object(schema, fragments, variables, root, operation.selection_set, data, "data", problems)
    assert not problems, "the answer does not fit GitHub's schema:\n  " + "\n  ".join(problems[:30])


def _fits(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    kind: GraphQLOutputType,
    selection: SelectionSetNode | None,
    value: Any,
    path: str,
    problems: list[str],
) -> None:
    if isinstance(kind, GraphQLNonNull):
        if value is None:
            problems.append(f"{path}: null, but GitHub's {kind} is non-null")
            return
        kind = kind.of_type
    if value is None:
        return
    if isinstance(kind, GraphQLList):
        if not isinstance(value, list):
            problems.append(f"{path}: {type(value).__name__}, not a list")
            return
        for index, item in enumerate(value):
            _fits(schema, fragments, variables, kind.of_type, selection, item, f"{path}[{index}]", problems)
        return
    if isinstance(kind, GraphQLEnumType):
        if value not in kind.values:
            problems.append(f"{path}: {value!r} is not a value of GitHub's {kind.name}")
        return
    if isinstance(kind, GraphQLScalarType):
        kinds: dict[str, type | tuple[type, ...]] = {"Int": int, "Float": (int, float), "Boolean": bool}
        expected = kinds.get(kind.name, str)
        if not isinstance(value, expected) or (kind.name == "Int" and isinstance(value, bool)):
            problems.append(f"{path}: {value!r} is not a {kind.name}")
        return
    assert selection is not None
    if not isinstance(value, dict):
        problems.append(f"{path}: {type(value).__name__}, not an object")
        return
    runtime = _runtime_type(schema, fragments, variables, kind, selection, value, path, problems)
    if runtime is not None:
        _fits_object(schema, fragments, variables, runtime, selection, value, path, problems)


def _runtime_type(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    kind: Any,
    selection: SelectionSetNode,
    value: dict[str, Any],
    path: str,
    problems: list[str],
) -> GraphQLObjectType | None:
    if not is_abstract_type(kind):
        return kind  # type: ignore[no-any-return]
    possible = schema.get_possible_types(kind)
    typename = value.get("__typename")
    if typename is not None:
        found = [t for t in possible if t.name == typename]
        if not found:
            problems.append(f"{path}: __typename {typename} cannot stand for GitHub's {kind.name}")
            return None
        return found[0]
    # Without __typename: the one possible type whose selected keys are exactly the answer's.
    for candidate in possible:
        if set(collect_fields(schema, fragments, variables, candidate, selection)) == set(value):
            return candidate
    problems.append(f"{path}: no type of GitHub's {kind.name} selects exactly {sorted(value)}")
    return None


def _fits_object(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    runtime: GraphQLObjectType,
    selection: SelectionSetNode,
    value: Any,
    path: str,
    problems: list[str],
) -> None:
    fields = collect_fields(schema, fragments, variables, runtime, selection)
    if set(fields) != set(value):
        problems.append(
            f"{path}: keys {sorted(value)}, but the query selects {sorted(fields)} on {runtime.name}"
        )
    for key, nodes in fields.items():
        if key not in value:
            continue
        name = nodes[0].name.value
        if name == "__typename":
            if value[key] != runtime.name:
                problems.append(f"{path}.{key}: {value[key]!r}, expected {runtime.name}")
            continue
        definition = runtime.fields.get(name)
        if definition is None:
            problems.append(f"{path}.{key}: GitHub's {runtime.name} has no field {name}")
            continue
        _fits(
            schema,
            fragments,
            variables,
            definition.type,
            _merged(nodes),
            value[key],
            f"{path}.{key}",
            problems,
        )


def _merged(nodes: list[FieldNode]) -> SelectionSetNode | None:
    selections = [s for node in nodes if node.selection_set for s in node.selection_set.selections]
    return SelectionSetNode(selections=tuple(selections)) if selections else None


def run(
    server: SimulatorServer, document: str, variables: dict[str, Any], operation: str | None
) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.url}/graphql",
        headers={"authorization": "bearer t"},
        timeout=60,
        json={"query": document, "variables": variables, "operationName": operation},
    )
    assert answer.status_code == 200, answer.text[:300]
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body["errors"]
    return body


def known_variables(server: SimulatorServer, owner: str, name: str) -> dict[str, Any]:
    repo = server.simulator.world.repository(owner, name)
    assert repo is not None
    busiest = max(repo.pull_requests, key=lambda pr: len(pr.reviews) + len(pr.issue_comments))
    return {
        "owner": owner,
        "name": name,
        "number": busiest.number,
        "first": 20,
        "ids": [busiest.node_id, repo.pull_requests[0].node_id, busiest.user.node_id],
        "query": f"repo:{repo.full_name} is:pr updated:>=2000-01-01 sort:updated-asc",
    }


QUERY_FILES = project_queries()


@pytest.mark.skipif(not QUERY_FILES, reason="src/ghcapture/github/queries/ holds no .graphql yet")
@pytest.mark.parametrize("data", ["generated", "recorded"])
@pytest.mark.parametrize("path", QUERY_FILES, ids=[p.name for p in QUERY_FILES])
def test_project_queries_run_on_the_simulator_and_fit_githubs_schema(
    path: Path,
    data: str,
    servers: dict[str, tuple[SimulatorServer, str, str]],
    github_graphql_schema: GraphQLSchema,
) -> None:
    server, owner, name = servers[data]
    text = path.read_text()
    document = parse(text)
    assert validate(github_graphql_schema, document) == []
    for operation in operations(document):
        variables = fill_variables(github_graphql_schema, operation, known_variables(server, owner, name))
        body = run(server, text, variables, operation.name.value if operation.name else None)
        assert body["data"] is not None
        assert_fits(github_graphql_schema, document, operation, variables, body["data"])


@pytest.mark.parametrize("data", ["generated", "recorded"])
@pytest.mark.parametrize("query", sorted(OWN))
def test_representative_queries_run_on_the_simulator_and_fit_githubs_schema(
    query: str,
    data: str,
    servers: dict[str, tuple[SimulatorServer, str, str]],
    github_graphql_schema: GraphQLSchema,
) -> None:
    server, owner, name = servers[data]
    document = parse(OWN[query])
    assert validate(github_graphql_schema, document) == []
    (operation,) = operations(document)
    variables = fill_variables(github_graphql_schema, operation, known_variables(server, owner, name))

    body = run(server, OWN[query], variables, None)

    assert_fits(github_graphql_schema, document, operation, variables, body["data"])


def test_the_fit_check_catches_what_github_would_never_send(github_graphql_schema: GraphQLSchema) -> None:
    document = parse(
        '{ repository(owner: "a", name: "b") { pullRequest(number: 1) { number state '
        "author { __typename login } } } }"
    )
    (operation,) = operations(document)
    bad = {
        "repository": {
            "pullRequest": {
                "number": None,
                "state": "MERGEABLE",
                "author": {"__typename": "Repository", "login": "x"},
            }
        }
    }

    with pytest.raises(AssertionError) as failure:
        assert_fits(github_graphql_schema, document, operation, {}, bad)

    message = str(failure.value)
    assert "number: null" in message and "'MERGEABLE'" in message and "__typename Repository" in message
