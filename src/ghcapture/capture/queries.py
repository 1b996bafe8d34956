"""The capture's GraphQL documents: the static operations of capture.graphql, and follow-up and by-number
queries composed from its fragments (each alias needs its own cursor, which `nodes(ids:)` cannot carry)."""

from __future__ import annotations

from functools import cache

from graphql import FragmentDefinitionNode, FragmentSpreadNode, parse, print_ast, visit
from graphql.language import Visitor

from ghcapture.github.graphql import load_query

CONNECTION_FRAGMENTS = {
    "reviews": "ReviewPage",
    "comments": "IssueCommentPage",
    "files": "FilePage",
    "commits": "CommitPage",
}
SELECTS = "$withReviews: Boolean!, $withComments: Boolean!, $withFiles: Boolean!, $withCommits: Boolean!"
RATE_LIMIT = "rateLimit { cost limit remaining used resetAt nodeCount }"


@cache
def capture_document() -> str:
    return load_query("capture")


@cache
def _fragments() -> dict[str, FragmentDefinitionNode]:
    doc = parse(capture_document())
    return {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}


def _with_fragments(body: str, roots: list[str]) -> str:
    """`body` plus the fragments it spreads, transitively (GraphQL refuses unused fragments)."""
    fragments = _fragments()
    wanted: list[str] = []
    queue = list(roots)

    class Spreads(Visitor):
        def __init__(self) -> None:
            super().__init__()
            self.names: list[str] = []

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
            self.names.append(node.name.value)

    while queue:
        name = queue.pop()
        if name in wanted:
            continue
        wanted.append(name)
        spreads = Spreads()
        visit(fragments[name], spreads)
        queue.extend(spreads.names)
    return body + "\n" + "\n".join(print_ast(fragments[n]) for n in sorted(wanted))


def follow_up_query(items: list[tuple[str, str, str]], first: int) -> tuple[str, dict[str, object]]:
    """One query completing several overflowing connections: items are (pr node id, connection, after)."""
    parts: list[str] = []
    variables: dict[str, object] = {}
    roots: set[str] = set()
    decls = []
    for i, (node_id, conn, after) in enumerate(items):
        fragment = CONNECTION_FRAGMENTS[conn]
        roots.add(fragment)
        decls += [f"$id{i}: ID!", f"$after{i}: String"]
        variables[f"id{i}"] = node_id
        variables[f"after{i}"] = after
        parts.append(
            f"  n{i}: node(id: $id{i}) {{ ... on PullRequest {{ id {conn}(first: {first}, after: $after{i}) "
            f"{{ ...{fragment} }} }} }}"
        )
    body = f"query FollowUps({', '.join(decls)}) {{\n  {RATE_LIMIT}\n" + "\n".join(parts) + "\n}"
    return _with_fragments(body, sorted(roots)), variables


def by_number_query(numbers: list[int]) -> str:
    """Pull requests by number in one query, each under the alias p<number>."""
    parts = "\n".join(f"    p{n}: pullRequest(number: {int(n)}) {{ ...PullRequestFields }}" for n in numbers)
    body = (
        f"query PullRequestsByNumber($owner: String!, $name: String!, {SELECTS}) {{\n  {RATE_LIMIT}\n"
        f"  repository(owner: $owner, name: $name) {{\n    ...RepositoryFields\n{parts}\n  }}\n}}"
    )
    return _with_fragments(body, ["RepositoryFields", "PullRequestFields"])
