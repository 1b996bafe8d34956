"""GraphQL requests GitHub refuses, answered in GitHub's words and shapes (graphql-ruby's static validation,
as api.github.com sends it): HTTP 200, `errors` with path, extensions, locations and message, no `data`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ghcapture.simulator.server import SimulatorServer


@pytest.fixture
def post(make_simulator: Callable[..., SimulatorServer]) -> Callable[..., httpx.Response]:
    server = make_simulator({"acme/widgets": 3})

    def send(
        query: str, variables: dict[str, Any] | None = None, operation: str | None = None, token: str = "t"
    ) -> httpx.Response:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        if operation is not None:
            payload["operationName"] = operation
        return httpx.post(
            f"{server.url}/graphql", json=payload, timeout=30, headers={"authorization": f"bearer {token}"}
        )

    return send


def only_error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "data" not in body, body
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


def test_an_undefined_field(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post('query {\n  repository(owner: "acme", name: "widgets") {\n    foo\n  }\n}'))

    assert error == {
        "path": ["query", "repository", "foo"],
        "extensions": {"code": "undefinedField", "typeName": "Repository", "fieldName": "foo"},
        "locations": [{"line": 3, "column": 5}],
        "message": "Field 'foo' doesn't exist on type 'Repository'",
    }
    assert list(error) == ["path", "extensions", "locations", "message"]


def test_a_named_operation_and_an_alias_name_the_path(post: Callable[..., httpx.Response]) -> None:
    error = only_error(
        post('query Q { r: repository(owner: "a", name: "b") { ... on Repository { nope } } }')
    )

    assert error["path"] == ["query Q", "r", "... on Repository", "nope"]


def test_an_undefined_argument(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post('{ repository(owner: "acme", name: "widgets", foo: 1) { id } }'))

    assert error["message"] == "Field 'repository' doesn't accept argument 'foo'"
    assert error["path"] == ["query", "repository", "foo"]
    assert error["extensions"] == {
        "code": "argumentNotAccepted",
        "name": "repository",
        "typeName": "Field",
        "argumentName": "foo",
    }


def test_an_argument_of_the_wrong_type(post: Callable[..., httpx.Response]) -> None:
    error = only_error(
        post('{ repository(owner: "acme", name: "widgets") { pullRequest(number: "x") { id } } }')
    )

    assert error["message"] == (
        "Argument 'number' on Field 'pullRequest' has an invalid value (\"x\"). Expected type 'Int!'."
    )
    assert error["path"] == ["query", "repository", "pullRequest", "number"]
    assert error["extensions"] == {
        "code": "argumentLiteralsIncompatible",
        "typeName": "Field",
        "argumentName": "number",
    }


def test_a_wrong_enum_inside_an_input_object(post: Callable[..., httpx.Response]) -> None:
    error = only_error(
        post(
            '{ repository(owner: "acme", name: "widgets") '
            "{ pullRequests(first: 1, orderBy: {field: FOO, direction: ASC}) { totalCount } } }"
        )
    )

    assert error["message"] == (
        "Argument 'field' on InputObject 'IssueOrder' has an invalid value (FOO). "
        "Expected type 'IssueOrderField!'."
    )
    assert error["path"] == ["query", "repository", "pullRequests", "orderBy", "field"]


def test_missing_required_arguments_are_named_together(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post("{ repository { id } }"))

    # In the order of GitHub's published schema, which lists arguments alphabetically.
    assert error["message"] == "Field 'repository' is missing required arguments: name, owner"
    assert error["path"] == ["query", "repository"]
    assert error["extensions"] == {
        "code": "missingRequiredArguments",
        "className": "Field",
        "name": "repository",
        "arguments": "name, owner",
    }


def test_an_undefined_variable(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post('{ repository(owner: $owner, name: "widgets") { id } }'))

    assert error["message"] == "Variable $owner is used by anonymous query but not declared"
    assert error["path"] == ["query", "repository", "owner"]
    assert error["extensions"] == {"code": "variableNotDefined", "variableName": "owner"}


def test_an_unused_variable(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post("query Q($x: Int) { viewer { login } }"))

    assert error["message"] == "Variable $x is declared by Q but not used"
    assert error["extensions"] == {"code": "variableNotUsed", "variableName": "x"}


def test_a_variable_of_the_wrong_type(post: Callable[..., httpx.Response]) -> None:
    error = only_error(
        post('query($n: String!) { repository(owner: "a", name: "b") { pullRequest(number: $n) { id } } }')
    )

    assert error["message"] == "Type mismatch on variable $n and argument number (String! / Int!)"
    assert error["extensions"]["code"] == "variableMismatch"


def test_a_variable_value_that_does_not_fit(post: Callable[..., httpx.Response]) -> None:
    error = only_error(
        post(
            'query($n: Int!) { repository(owner: "acme", name: "widgets") { pullRequest(number: $n) '
            "{ id } } }",
            {"n": "seven"},
        )
    )

    assert error["message"] == "Variable $n of type Int! was provided invalid value"
    assert error["extensions"] == {
        "value": "seven",
        "problems": [{"path": [], "explanation": 'Could not coerce value "seven" to Int'}],
    }


def test_a_scalar_with_selections_and_an_object_without(post: Callable[..., httpx.Response]) -> None:
    scalar = only_error(post("{ viewer { login { x } } }"))
    bare = only_error(post('{ repository(owner: "a", name: "b") }'))

    assert (
        scalar["message"]
        == "Selections can't be made on scalars (field 'login' returns String but has selections [x])"
    )
    assert bare["message"] == (
        "Field must have selections (field 'repository' returns Repository but has no selections. "
        "Did you mean 'repository { ... }'?)"
    )


def test_a_parse_error(post: Callable[..., httpx.Response]) -> None:
    answer = post("{ viewer }}")
    body = answer.json()

    assert answer.status_code == 200 and "data" not in body
    assert body["errors"] == [
        {"locations": [{"line": 1, "column": 11}], "message": 'Parse error on "}" (RCURLY) at [1, 11]'}
    ]


def test_an_empty_selection_is_a_parse_error_at_the_brace(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post("{ viewer { } }"))

    assert error["message"] == 'Parse error on "}" (RCURLY) at [1, 12]'


def test_several_operations_without_a_name(post: Callable[..., httpx.Response]) -> None:
    answer = post("query A { viewer { login } } query B { viewer { id } }")

    assert answer.status_code == 200
    assert answer.json() == {"errors": [{"message": "An operation name is required"}]}


def test_an_unknown_operation_name(post: Callable[..., httpx.Response]) -> None:
    answer = post("query A { viewer { login } } query B { viewer { id } }", operation="C")

    assert answer.status_code == 200
    assert answer.json() == {"errors": [{"message": 'No operation named "C"'}]}


def test_a_named_operation_of_several_runs(post: Callable[..., httpx.Response]) -> None:
    answer = post("query A { viewer { login } } query B { rateLimit { cost } }", operation="B")

    assert answer.status_code == 200 and "errors" not in answer.json()
    assert "rateLimit" in answer.json()["data"]


def test_a_real_mutation_is_forbidden_to_a_personal_token(post: Callable[..., httpx.Response]) -> None:
    answer = post('mutation { addComment(input: {subjectId: "x", body: "hi"}) { clientMutationId } }')

    assert answer.status_code == 200
    assert answer.json() == {
        "data": {"addComment": None},
        "errors": [
            {
                "type": "FORBIDDEN",
                "path": ["addComment"],
                "locations": [{"line": 1, "column": 12}],
                "message": "Resource not accessible by personal access token",
            }
        ],
    }


def test_a_real_mutation_is_forbidden_to_an_app(make_simulator: Callable[..., SimulatorServer]) -> None:
    server = make_simulator({"acme/widgets": 1})
    token, _ = server.simulator.mint_installation_token()

    answer = httpx.post(
        f"{server.url}/graphql",
        headers={"authorization": f"token {token}"},
        timeout=30,
        json={
            "query": 'mutation M { a: closePullRequest(input: {pullRequestId: "x"}) { clientMutationId } }'
        },
    )

    body = answer.json()
    assert answer.status_code == 200 and body["data"] == {"a": None}
    assert body["errors"][0]["message"] == "Resource not accessible by integration"
    assert body["errors"][0]["path"] == ["a"]


def test_an_unknown_mutation_field(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post("mutation { launchRocket { id } }"))

    assert error == {
        "path": ["mutation", "launchRocket"],
        "extensions": {"code": "undefinedField", "typeName": "Mutation", "fieldName": "launchRocket"},
        "locations": [{"line": 1, "column": 12}],
        "message": "Field 'launchRocket' doesn't exist on type 'Mutation'",
    }


def test_a_subscription(post: Callable[..., httpx.Response]) -> None:
    error = only_error(post("subscription { viewer { login } }"))

    assert error == {
        "path": ["subscription"],
        "extensions": {"code": "missingSubscriptionConfiguration"},
        "locations": [{"line": 1, "column": 1}],
        "message": "Schema is not configured for subscriptions",
    }


def test_a_missing_repository_is_not_found_with_data(post: Callable[..., httpx.Response]) -> None:
    body = post('{ repository(owner: "acme", name: "nope") { id } }').json()

    assert body["data"] == {"repository": None}
    assert body["errors"] == [
        {
            "type": "NOT_FOUND",
            "path": ["repository"],
            "locations": [{"line": 1, "column": 3}],
            "message": "Could not resolve to a Repository with the name 'acme/nope'.",
        }
    ]


def test_a_renamed_repository_answers_on_its_old_name(make_simulator: Callable[..., SimulatorServer]) -> None:
    server = make_simulator({"acme/widgets": 1})
    world = server.simulator.world
    repo = world.repository("acme", "widgets")
    if not hasattr(world, "rename_repository") or repo is None:
        pytest.skip("the world cannot rename repositories")
    world.rename_repository(repo, "gadgets")
    query = (
        'query($f: Boolean = true) { repository(owner: "acme", name: "widgets", followRenames: $f) '
        "{ nameWithOwner } }"
    )

    followed = httpx.post(
        f"{server.url}/graphql", json={"query": query}, timeout=30, headers={"authorization": "bearer t"}
    ).json()
    refused = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": {"f": False}},
        timeout=30,
        headers={"authorization": "bearer t"},
    ).json()

    assert followed == {"data": {"repository": {"nameWithOwner": "acme/gadgets"}}}
    assert refused["data"] == {"repository": None}
    assert refused["errors"][0]["type"] == "NOT_FOUND"
