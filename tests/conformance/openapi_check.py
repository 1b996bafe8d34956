"""Checks a REST response body against GitHub's OpenAPI 3.0 description.

OpenAPI 3.0 schemas are not quite JSON Schema: `nullable: true`, boolean `exclusiveMinimum`, and
component `$ref`s. They are rewritten into JSON Schema draft 2020-12, with every component schema under
`$defs`, and validated with `jsonschema`. `format` is not asserted.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_COMPONENT_PREFIX = "#/components/schemas/"
# Keys whose value is a schema, a list of schemas, or a map of names to schemas.
_SCHEMA_KEYS = frozenset({"items", "additionalProperties", "not", "additionalItems", "contains"})
_SCHEMA_LIST_KEYS = frozenset({"allOf", "oneOf", "anyOf", "prefixItems"})
_SCHEMA_MAP_KEYS = frozenset({"properties", "patternProperties"})
# OpenAPI annotations that JSON Schema either lacks or must not see.
_DROPPED_KEYS = frozenset({"nullable", "discriminator", "xml", "externalDocs", "example", "format"})

# id(document) -> (document, its converted components); holding the document keeps its id unique.
_converted: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def validate_response(
    openapi: dict[str, Any], method: str, path_template: str, status: int, body: Any
) -> None:
    """Raise AssertionError listing every way `body` differs from GitHub's documented response."""
    operation = openapi["paths"].get(path_template, {}).get(method.lower())
    if operation is None:
        raise AssertionError(f"GitHub documents no {method.upper()} {path_template}")
    responses = operation.get("responses", {})
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if response is None:
        raise AssertionError(
            f"GitHub documents no {status} answer to {method.upper()} {path_template} "
            f"(documented: {', '.join(sorted(responses))})"
        )
    response = resolve_reference(openapi, response)
    schema = _json_schema_of(response)
    if schema is None:
        if body not in (None, "", b""):
            raise AssertionError(f"{method.upper()} {path_template} {status} is documented without a body")
        return
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": _definitions(openapi)}
    root.update(to_json_schema(schema))
    validator = jsonschema.Draft202012Validator(root)
    mismatches = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    if mismatches:
        lines = [f"at {error.json_path}: {_short(error.message)}" for error in mismatches]
        raise AssertionError(
            f"{method.upper()} {path_template} {status} does not match GitHub's OpenAPI description:\n  "
            + "\n  ".join(lines)
        )


def to_json_schema(schema: Any) -> Any:
    """One OpenAPI 3.0 schema rewritten as JSON Schema draft 2020-12."""
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYS or key.startswith("x-"):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith(_COMPONENT_PREFIX):
            converted[key] = "#/$defs/" + value[len(_COMPONENT_PREFIX) :]
        elif key in _SCHEMA_KEYS:
            converted[key] = to_json_schema(value)
        elif key in _SCHEMA_LIST_KEYS:
            converted[key] = [to_json_schema(item) for item in value]
        elif key in _SCHEMA_MAP_KEYS:
            converted[key] = {name: to_json_schema(item) for name, item in value.items()}
        else:
            converted[key] = value
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # OpenAPI 3.0 marks a bound exclusive with a boolean; JSON Schema gives the bound itself.
        if isinstance(converted.get(bound), bool):
            if converted.pop(bound) and limit in converted:
                converted[bound] = converted.pop(limit)
    if schema.get("nullable") is True:
        converted = _nullable(converted)
    return converted


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str) and "$ref" not in schema:
        schema = {**schema, "type": [kind, "null"]}
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _json_schema_of(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content") or {}
    for media_type, media in content.items():
        if "json" in media_type and "schema" in media:
            schema: dict[str, Any] = media["schema"]
            return schema
    return None


def resolve_reference(openapi: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """What a local `$ref` (e.g. `#/components/examples/...`) names; the node itself if it is none."""
    seen: set[str] = set()
    while "$ref" in node:
        reference = node["$ref"]
        if reference in seen or not reference.startswith("#/"):
            raise AssertionError(f"cannot resolve {reference}")
        seen.add(reference)
        target: Any = openapi
        for part in reference[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _definitions(openapi: dict[str, Any]) -> dict[str, Any]:
    cached = _converted.get(id(openapi))
    if cached is None or cached[0] is not openapi:
        schemas = openapi.get("components", {}).get("schemas", {})
        cached = (openapi, {name: to_json_schema(schema) for name, schema in schemas.items()})
        _converted[id(openapi)] = cached
    return cached[1]


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
