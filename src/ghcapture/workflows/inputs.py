"""The inputs a workflow declares under `workflow_dispatch`, and the check of a dispatch against them.

GitHub takes every dispatch input as a string and turns it into the declared type on its side; a value it
cannot turn (or an input the file does not declare) fails the dispatch, so we check before sending.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import yaml

from ghcapture.errors import GhcaptureError

InputType = Literal["string", "number", "boolean", "choice", "environment"]
INPUT_TYPES: tuple[InputType, ...] = ("string", "number", "boolean", "choice", "environment")

# GitHub refuses a workflow_dispatch with more than 25 inputs.
MAX_DISPATCH_INPUTS = 25


class WorkflowFileError(GhcaptureError):
    """A workflow file cannot be read as a dispatchable workflow."""


class WorkflowInputsMismatch(GhcaptureError):
    """The inputs of a dispatch do not fit those the workflow file declares; nothing was sent."""


@dataclass(frozen=True)
class InputSpec:
    """One input declared under `on.workflow_dispatch.inputs`."""

    name: str
    type: InputType = "string"
    required: bool = False
    default: str | None = None
    options: tuple[str, ...] = field(default=())
    description: str = ""


def _as_text(value: object) -> str:
    # YAML reads `default: 4` as an int and `default: true` as a bool; GitHub sees the text.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dispatch_trigger(document: Mapping[Any, Any]) -> object:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    triggers = document.get("on", document.get(True))
    if isinstance(triggers, str):
        triggers = [triggers]
    if isinstance(triggers, list):
        if "workflow_dispatch" in triggers:
            return {}
        raise WorkflowFileError("the workflow has no workflow_dispatch trigger")
    if not isinstance(triggers, Mapping) or "workflow_dispatch" not in triggers:
        raise WorkflowFileError("the workflow has no workflow_dispatch trigger")
    return triggers["workflow_dispatch"]


def declared_inputs(workflow_yaml: str) -> dict[str, InputSpec]:
    """The inputs the workflow's `workflow_dispatch` trigger declares, by name, in file order."""
    try:
        document = yaml.safe_load(workflow_yaml)
    except yaml.YAMLError as exc:
        raise WorkflowFileError(f"the workflow file is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(document, Mapping):
        raise WorkflowFileError("the workflow file is not a YAML mapping")
    dispatch = _dispatch_trigger(document)
    raw_inputs = dispatch.get("inputs") if isinstance(dispatch, Mapping) else None
    if raw_inputs is None:
        return {}
    if not isinstance(raw_inputs, Mapping):
        raise WorkflowFileError("workflow_dispatch.inputs is not a mapping")
    specs: dict[str, InputSpec] = {}
    for name, raw in raw_inputs.items():
        raw = raw if isinstance(raw, Mapping) else {}
        input_type = raw.get("type", "string")
        if input_type not in INPUT_TYPES:
            raise WorkflowFileError(f"input {name!r} has unknown type {input_type!r}")
        default = raw.get("default")
        specs[str(name)] = InputSpec(
            name=str(name),
            type=cast(InputType, input_type),
            required=bool(raw.get("required", False)),
            default=None if default is None else _as_text(default),
            options=tuple(_as_text(option) for option in raw.get("options") or ()),
            description=str(raw.get("description") or ""),
        )
    return specs


def encode_dispatch_inputs(inputs: Mapping[str, object]) -> dict[str, str]:
    """Turns Python values into the strings GitHub's dispatch body takes (lists and dicts as JSON)."""
    encoded: dict[str, str] = {}
    for name, value in inputs.items():
        if isinstance(value, str):
            encoded[name] = value
        elif isinstance(value, bool):
            encoded[name] = "true" if value else "false"
        elif isinstance(value, int | float):
            encoded[name] = str(value)
        else:
            encoded[name] = json.dumps(value, separators=(",", ":"))
    return encoded


def _type_problem(spec: InputSpec, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{spec.name} must be sent as a string, got {type(value).__name__}"
    if spec.type == "number":
        try:
            number = float(value)
        except ValueError:
            return f"{spec.name} must be a number, got {value!r}"
        if not math.isfinite(number):
            return f"{spec.name} must be a finite number, got {value!r}"
    elif spec.type == "boolean" and value not in ("true", "false"):
        return f"{spec.name} must be 'true' or 'false', got {value!r}"
    elif spec.type == "choice" and value not in spec.options:
        return f"{spec.name} must be one of {', '.join(spec.options)}, got {value!r}"
    return None


def check_dispatch_inputs(declared: Mapping[str, InputSpec], inputs: Mapping[str, Any]) -> None:
    """Raises WorkflowInputsMismatch, naming every problem on one line, unless `inputs` fit `declared`."""
    problems: list[str] = []
    if len(inputs) > MAX_DISPATCH_INPUTS:
        problems.append(f"{len(inputs)} inputs sent, GitHub takes at most {MAX_DISPATCH_INPUTS}")
    if len(declared) > MAX_DISPATCH_INPUTS:
        problems.append(f"the workflow declares {len(declared)} inputs, GitHub allows {MAX_DISPATCH_INPUTS}")
    undeclared = sorted(name for name in inputs if name not in declared)
    if undeclared:
        problems.append(f"undeclared: {', '.join(undeclared)}")
    missing = [
        spec.name
        for spec in declared.values()
        if spec.required and spec.default in (None, "") and inputs.get(spec.name) in (None, "")
    ]
    if missing:
        problems.append(f"missing required: {', '.join(missing)}")
    for name, value in inputs.items():
        spec = declared.get(name)
        # An empty string is a valid string input; a number, boolean or choice must be omitted instead.
        if spec is None or (value == "" and spec.type in ("string", "environment")):
            continue
        problem = _type_problem(spec, value)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise WorkflowInputsMismatch("dispatch inputs do not match the workflow: " + "; ".join(problems))
