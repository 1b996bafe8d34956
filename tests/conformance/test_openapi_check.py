"""openapi_check against GitHub's own description: its examples pass, a retyped field fails."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .openapi_check import resolve_reference, to_json_schema, validate_response

PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"
REVIEWS = "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"


def documented_example(openapi: dict[str, Any], path: str, method: str, status: str) -> Any:
    response = resolve_reference(openapi, openapi["paths"][path][method]["responses"][status])
    example = response["content"]["application/json"]["examples"]["default"]
    return resolve_reference(openapi, example)["value"]


def pull_example(openapi: dict[str, Any]) -> dict[str, Any]:
    """GitHub's example pull request, with the one field its own schema requires and the example lacks."""
    pull: dict[str, Any] = copy.deepcopy(documented_example(openapi, PULL, "get", "200"))
    for team in pull["requested_teams"]:
        team.setdefault("type", "organization")
    return pull


def test_githubs_own_pull_request_example_validates(github_openapi: dict[str, Any]) -> None:
    pull = pull_example(github_openapi)
    assert pull["number"] == 1347

    validate_response(github_openapi, "GET", PULL, 200, pull)


def test_githubs_example_lacks_only_the_teams_type(github_openapi: dict[str, Any]) -> None:
    # The published example predates `team.type` becoming required; nothing else in it disagrees.
    pull = documented_example(github_openapi, PULL, "get", "200")

    with pytest.raises(AssertionError) as raised:
        validate_response(github_openapi, "GET", PULL, 200, pull)

    assert str(raised.value).splitlines()[1:] == ["  at $.requested_teams[0]: 'type' is a required property"]


def test_githubs_own_review_list_example_validates(github_openapi: dict[str, Any]) -> None:
    reviews = documented_example(github_openapi, REVIEWS, "get", "200")
    assert isinstance(reviews, list) and reviews

    validate_response(github_openapi, "get", REVIEWS, 200, reviews)


def test_a_pull_request_whose_number_is_a_string_fails(github_openapi: dict[str, Any]) -> None:
    pull = pull_example(github_openapi)
    pull["number"] = "1347"

    with pytest.raises(AssertionError, match=r"\$\.number: '1347' is not of type 'integer'"):
        validate_response(github_openapi, "GET", PULL, 200, pull)


def test_every_mismatch_is_listed_at_once(github_openapi: dict[str, Any]) -> None:
    pull = pull_example(github_openapi)
    pull["number"] = "1347"
    del pull["state"]
    pull["user"]["id"] = None

    with pytest.raises(AssertionError) as raised:
        validate_response(github_openapi, "GET", PULL, 200, pull)

    message = str(raised.value)
    assert "$.number" in message
    assert "'state' is a required property" in message
    assert "$.user" in message


def test_nullable_fields_accept_null(github_openapi: dict[str, Any]) -> None:
    pull = pull_example(github_openapi)
    pull["merged_at"] = None
    pull["milestone"] = None
    pull["body"] = None

    validate_response(github_openapi, "GET", PULL, 200, pull)


def test_githubs_description_calls_a_deleted_forks_head_repo_not_nullable(
    github_openapi: dict[str, Any],
) -> None:
    # Real answers carry `head.repo: null` once a fork is deleted; the description does not allow it,
    # so a check of such an answer has to expect exactly this complaint.
    pull = pull_example(github_openapi)
    pull["head"]["repo"] = None

    with pytest.raises(AssertionError) as raised:
        validate_response(github_openapi, "GET", PULL, 200, pull)

    assert str(raised.value).splitlines()[1:] == ["  at $.head.repo: None is not of type 'object'"]


def test_an_undocumented_status_or_path_fails(github_openapi: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="documents no 418"):
        validate_response(github_openapi, "GET", PULL, 418, {})
    with pytest.raises(AssertionError, match="documents no GET /repos/{owner}/{repo}/nothing"):
        validate_response(github_openapi, "GET", "/repos/{owner}/{repo}/nothing", 200, {})


def test_a_documented_empty_answer_refuses_a_body(github_openapi: dict[str, Any]) -> None:
    # 304 Not Modified is documented without content.
    validate_response(github_openapi, "GET", PULL, 304, None)
    with pytest.raises(AssertionError, match="without a body"):
        validate_response(github_openapi, "GET", PULL, 304, {"number": 1})


def test_openapi_30_keywords_become_json_schema() -> None:
    converted = to_json_schema(
        {
            "type": "object",
            "properties": {
                "state": {"type": "string", "enum": ["open", "closed"], "nullable": True},
                "type": {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "format": "int64"},
                "owner": {"allOf": [{"$ref": "#/components/schemas/simple-user"}], "nullable": True},
            },
            "example": {"state": "open"},
            "x-github": {"note": "dropped"},
        }
    )

    assert converted == {
        "type": "object",
        "properties": {
            "state": {"type": ["string", "null"], "enum": ["open", "closed", None]},
            "type": {"type": "integer", "exclusiveMinimum": 0},
            "owner": {"anyOf": [{"allOf": [{"$ref": "#/$defs/simple-user"}]}, {"type": "null"}]},
        },
    }
