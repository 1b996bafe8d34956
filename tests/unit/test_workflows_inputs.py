"""Reading a workflow's declared dispatch inputs, and checking a dispatch against them."""

from __future__ import annotations

from typing import Any

import pytest

from ghcapture.errors import GhcaptureError
from ghcapture.workflows.generate import render_workflow
from ghcapture.workflows.inputs import (
    InputSpec,
    WorkflowFileError,
    WorkflowInputsMismatch,
    check_dispatch_inputs,
    declared_inputs,
    encode_dispatch_inputs,
)

WORKFLOW = """
name: t
on:
  workflow_dispatch:
    inputs:
      name:
        required: true
      count:
        type: number
        default: 3
      dry_run:
        type: boolean
        default: false
      level:
        type: choice
        options: [low, high]
        default: low
      env:
        type: environment
jobs:
  a:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""


@pytest.fixture
def declared() -> dict[str, InputSpec]:
    return declared_inputs(WORKFLOW)


def test_reads_inputs_under_the_on_key_yaml_reads_as_true(declared: dict[str, InputSpec]) -> None:
    assert list(declared) == ["name", "count", "dry_run", "level", "env"]
    assert declared["name"] == InputSpec(name="name", type="string", required=True)
    assert declared["count"].type == "number" and declared["count"].default == "3"
    assert declared["dry_run"].default == "false"
    assert declared["level"].options == ("low", "high")


def test_reads_the_quoted_on_key_and_bare_triggers() -> None:
    quoted = WORKFLOW.replace("\non:", '\n"on":')
    assert list(declared_inputs(quoted)) == list(declared_inputs(WORKFLOW))
    assert declared_inputs("on: workflow_dispatch\njobs: {}\n") == {}
    assert declared_inputs("on: [push, workflow_dispatch]\njobs: {}\n") == {}
    assert declared_inputs("on:\n  workflow_dispatch:\njobs: {}\n") == {}


@pytest.mark.parametrize(
    "text",
    [
        "on: push\n",
        "on: {push: {}}\n",
        "- a list\n",
        "on: [\n",
        "on: {workflow_dispatch: {inputs: {x: {type: date}}}}",
    ],
)
def test_a_workflow_that_cannot_be_dispatched_is_a_clear_error(text: str) -> None:
    with pytest.raises(WorkflowFileError) as info:
        declared_inputs(text)
    assert isinstance(info.value, GhcaptureError)
    assert "\n" not in str(info.value)


def test_fitting_inputs_pass(declared: dict[str, InputSpec]) -> None:
    check_dispatch_inputs(
        declared, {"name": "x", "count": "2.5", "dry_run": "true", "level": "high", "env": "prod"}
    )
    check_dispatch_inputs(declared, {"name": "x"})


def mismatch(declared: dict[str, InputSpec], inputs: dict[str, Any]) -> str:
    with pytest.raises(WorkflowInputsMismatch) as info:
        check_dispatch_inputs(declared, inputs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_undeclared_inputs_are_named(declared: dict[str, InputSpec]) -> None:
    assert "undeclared: extra, other" in mismatch(declared, {"name": "x", "other": "1", "extra": "2"})


@pytest.mark.parametrize("inputs", [{}, {"name": ""}, {"count": "1"}])
def test_missing_required_inputs_are_named(declared: dict[str, InputSpec], inputs: dict[str, Any]) -> None:
    assert "missing required: name" in mismatch(declared, inputs)


def test_a_required_input_with_a_default_may_be_left_out() -> None:
    spec = {"a": InputSpec(name="a", required=True, default="d")}
    check_dispatch_inputs(spec, {})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("count", "three", "count must be a number"),
        ("count", "", "count must be a number"),
        ("count", "nan", "count must be a finite number"),
        ("count", 3, "count must be sent as a string, got int"),
        ("dry_run", "yes", "dry_run must be 'true' or 'false'"),
        ("dry_run", True, "dry_run must be sent as a string"),
        ("level", "medium", "level must be one of low, high"),
    ],
)
def test_values_of_the_wrong_type_are_named(
    declared: dict[str, InputSpec], name: str, value: Any, expected: str
) -> None:
    assert expected in mismatch(declared, {"name": "x", name: value})


def test_more_than_25_inputs_are_refused() -> None:
    many = {f"i{n}": InputSpec(name=f"i{n}") for n in range(26)}
    message = mismatch(many, {f"i{n}": "v" for n in range(26)})
    assert "26 inputs sent" in message and "declares 26 inputs" in message
    check_dispatch_inputs(dict(list(many.items())[:25]), {f"i{n}": "v" for n in range(25)})


def test_every_problem_is_in_the_one_line(declared: dict[str, InputSpec]) -> None:
    message = mismatch(declared, {"bogus": "1", "count": "x"})
    assert "undeclared: bogus" in message
    assert "missing required: name" in message
    assert "count must be a number" in message


def test_encoded_inputs_of_a_generated_workflow_pass() -> None:
    declared = declared_inputs(render_workflow("historical-pr-sync"))
    inputs = encode_dispatch_inputs(
        {
            "job_id": "5a1c",
            "repository": "octo/hello",
            "days": 30,
            "max_items": 100,
            "chunks": [{"numbers": [1, 10]}],
            "max_parallel": 2,
        }
    )
    assert inputs["chunks"] == '[{"numbers":[1,10]}]' and inputs["days"] == "30"
    check_dispatch_inputs(declared, inputs)
    assert encode_dispatch_inputs({"b": False, "s": "x"}) == {"b": "false", "s": "x"}
