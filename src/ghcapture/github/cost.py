"""GitHub's GraphQL cost and node-limit rules.

One function, `query_cost`, answers what GitHub would charge for a query and whether GitHub would
refuse it. The GitHub simulator charges and refuses with it; the client predicts a query's price
with it before sending.

The rules (docs.github.com, "Rate limits and query limits for the GraphQL API"):

- requests: each paginated field (a connection's `first`/`last`, or `nodes(ids:)`) needs one request
  per object its nearest paginated ancestor may return, assuming every page is full; a top-level
  one needs one request. `requests` is the sum.
- points: requests / 100, rounded to the nearest whole number (halves up), at least 1 ("The minimum
  point value of a call to the GraphQL API is 1"; the page makes no exception for `rateLimit`).
- nodes: each paginated field may return its page size times its ancestors' page sizes; the sum
  must not exceed 500,000.
- `first`/`last` is required on a connection whose items are selected, and may not exceed 100 nor be
  negative. The page says 1-100, but GitHub itself only refuses values below zero ("`first` on the
  connection cannot be less than zero."), and clients send `first: 0` for a bare `totalCount`; such an
  empty page is accepted, returns no nodes, and whatever is nested under it needs no requests.
- Fields with one response key in one object are one field (GraphQL merges them), so a fragment
  spread twice, or a connection selected twice without aliases, is one connection ("each unique
  connection"); aliases make distinct fields, each charged.

`nodes(ids:)` counts as a page of as many objects as it has ids; `node(id:)` as one object. Where
an object may be of several types (a union's or an interface's) only one type's fragments apply to
it, so the dearest type is charged.
Nested error paths carry response keys only: list positions are unknown before execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import copy
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    build_schema,
    get_named_type,
    is_abstract_type,
    parse,
    value_from_ast_untyped,
)
from graphql.execution.values import get_directive_values

MAX_NODES = 500_000
MAX_PAGE_SIZE = 100
REQUESTS_PER_POINT = 100

# Fields whose evaluation needs a page of the connection; `totalCount` alone does not.
_PAGE_FIELDS = frozenset({"nodes", "edges", "pageInfo"})


@dataclass(frozen=True)
class QueryCost:
    """What GitHub charges for one query: requests to fill it, the points billed, the nodes it may return."""

    requests: int
    points: int
    nodes: int


class QueryLimitError(Exception):
    """A query GitHub refuses; `errors` holds GitHub's error objects, shaped as GitHub returns them."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(error["message"]) for error in errors))
        self.errors = errors


@dataclass
class _Paginated:
    """A field in the cost tree: a top-level field, or a field that asks for a page of objects."""

    name: str
    page_size: int | None
    location: dict[str, int] | None
    parent: _Paginated | None
    # The concrete types one of its objects may have, when that is more than one known type.
    concrete_types: tuple[str, ...] = ()
    # Concrete type (None: any type) -> the paginated fields selected on objects of that type.
    branches: dict[str | None, list[_Paginated]] = field(default_factory=dict)

    def request_count(self) -> int:
        parent = self.parent
        if parent is None or parent.page_size is None:
            return 1
        # One request per object of the parent's page; an empty page (`first: 0`) has none to ask about.
        return parent.request_count() * parent.page_size

    def node_count(self) -> int:
        if not self.page_size:
            return 0
        parent = self.parent
        if parent is None or parent.page_size is None:
            return self.page_size
        return self.page_size * parent.node_count()

    def max_requests(self) -> int:
        own = self.request_count() if self.page_size is not None else 0
        return own + sum(child.max_requests() for child in self._dearest_branch(_Paginated.max_requests))

    def max_nodes(self) -> int:
        return self.node_count() + sum(child.max_nodes() for child in self.dearest_children_by_nodes())

    def dearest_children_by_nodes(self) -> list[_Paginated]:
        return self._dearest_branch(_Paginated.max_nodes)

    def _dearest_branch(self, measure: Callable[[_Paginated], int]) -> list[_Paginated]:
        """An object has one type, so only the dearest type's fields are charged."""
        shared = self.branches.get(None, [])
        if not self.concrete_types:
            return [child for members in self.branches.values() for child in members]
        best: tuple[int, list[_Paginated]] = (-1, [])
        for type_name in self.concrete_types:
            members = self.branches.get(type_name, []) + shared
            total = sum(measure(child) for child in members)
            if total > best[0]:
                best = (total, members)
        return best[1]


def query_cost(
    document: DocumentNode | str,
    schema: GraphQLSchema,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> QueryCost:
    """Price a query as GitHub does; raise QueryLimitError where GitHub would refuse it."""
    if isinstance(document, str):
        document = parse(document)
    walker = _Walker(document, schema, dict(variables or {}), operation_name)
    roots = walker.walk()

    total_nodes = sum(root.max_nodes() for root in roots)
    if total_nodes > MAX_NODES:
        raise QueryLimitError([_node_limit_error(roots, total_nodes)])
    if walker.errors:
        raise QueryLimitError(walker.errors)

    requests = sum(root.max_requests() for root in roots)
    # "The minimum point value of a call to the GraphQL API is 1", a query for `rateLimit` alone included.
    return QueryCost(requests=requests, points=points_for(requests), nodes=total_nodes)


def points_for(requests: int) -> int:
    """Requests / 100, rounded to the nearest whole number with halves up, and never below 1."""
    return max(1, (requests + REQUESTS_PER_POINT // 2) // REQUESTS_PER_POINT)


class _Level(Enum):
    """Where a selection sits relative to the objects its paginated field returns."""

    CONNECTION = "connection"  # the connection itself: totalCount, pageInfo, nodes, edges
    EDGE = "edge"
    ITEM = "item"  # one of the returned objects: fragments here pick its type
    BEYOND = "beyond"  # another object reached from one of them


class _Walker:
    """Walks one operation, fragments expanded, building the cost tree and collecting pagination errors."""

    def __init__(
        self,
        document: DocumentNode,
        schema: GraphQLSchema,
        variables: dict[str, Any],
        operation_name: str | None,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments[definition.name.value] = definition
            elif isinstance(definition, OperationDefinitionNode):
                operations.append(definition)
        self.operation = _pick_operation(operations, operation_name)
        for variable in self.operation.variable_definitions or ():
            name = variable.variable.name.value
            if name not in self.variables and variable.default_value is not None:
                self.variables[name] = value_from_ast_untyped(variable.default_value)
        self.errors: list[dict[str, Any]] = []

    def walk(self) -> list[_Paginated]:
        root_type = self.schema.get_root_type(self.operation.operation)
        if root_type is None:
            raise ValueError(f"the schema has no {self.operation.operation.value} type")
        roots: list[_Paginated] = []
        for field_node, scope, _ in self._expand(self.operation.selection_set, root_type):
            name = field_node.name.value
            definition = _field_definition(scope, name)
            if definition is None or name == "rateLimit":
                continue
            path = [_response_key(field_node)]
            page_size = self._page_size(field_node, definition, path)
            roots.append(self._tree_node(field_node, definition, None, path, page_size))
        return roots

    def _tree_node(
        self,
        field_node: FieldNode,
        definition: GraphQLField,
        parent: _Paginated | None,
        path: list[str],
        page_size: int | None,
    ) -> _Paginated:
        returned = get_named_type(definition.type)
        is_connection = returned.name.endswith("Connection") and isinstance(returned, GraphQLObjectType)
        item_type = _item_type(returned) if is_connection else returned
        concrete: tuple[str, ...] = ()
        if item_type is not None and is_abstract_type(item_type):
            concrete = tuple(t.name for t in self.schema.get_possible_types(item_type))  # type: ignore[arg-type]
        node = _Paginated(field_node.name.value, page_size, _location(field_node), parent, concrete)
        if field_node.selection_set is not None:
            level = _Level.CONNECTION if is_connection else _Level.ITEM
            self._collect(field_node.selection_set, returned, node, path, None, level)
        return node

    def _collect(
        self,
        selection_set: SelectionSetNode,
        scope: GraphQLNamedType,
        tree_parent: _Paginated,
        path: list[str],
        branch: str | None,
        level: _Level,
    ) -> None:
        """Attach the paginated fields found under `selection_set` to `tree_parent`."""
        for field_node, field_scope, narrowed in self._expand(selection_set, scope):
            definition = _field_definition(field_scope, field_node.name.value)
            if definition is None:
                continue
            key = narrowed if level is _Level.ITEM and tree_parent.concrete_types else branch
            child_path = [*path, _response_key(field_node)]
            page_size = self._page_size(field_node, definition, child_path)
            if page_size is not None:
                child = self._tree_node(field_node, definition, tree_parent, child_path, page_size)
                tree_parent.branches.setdefault(key, []).append(child)
            elif field_node.selection_set is not None:
                self._collect(
                    field_node.selection_set,
                    get_named_type(definition.type),
                    tree_parent,
                    child_path,
                    key,
                    _next_level(level, field_node.name.value),
                )

    def _expand(
        self, selection_set: SelectionSetNode, scope: GraphQLNamedType
    ) -> list[tuple[FieldNode, GraphQLNamedType, str | None]]:
        """The fields selected in a scope, fragments expanded, each with its scope and the object type a
        fragment pinned it to; fields sharing a response key merged into one, as GraphQL executes them."""
        return _merge_same_keys(self._flatten(selection_set, scope, None), scope)

    def _flatten(
        self, selection_set: SelectionSetNode, scope: GraphQLNamedType, narrowed: str | None
    ) -> list[tuple[FieldNode, GraphQLNamedType, str | None]]:
        found: list[tuple[FieldNode, GraphQLNamedType, str | None]] = []
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                found.append((selection, scope, narrowed))
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner_selection = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                fragment = self.fragments[selection.name.value]
                condition, inner_selection = fragment.type_condition, fragment.selection_set
            else:
                continue
            inner = self.schema.get_type(condition.name.value) if condition is not None else None
            inner = inner or scope
            pinned = inner.name if isinstance(inner, GraphQLObjectType) else narrowed
            found.extend(self._flatten(inner_selection, inner, pinned))
        return found

    def _included(self, selection: SelectionNode) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, selection, self.variables)
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, selection, self.variables)
        return not (include is not None and include.get("if") is False)

    def _page_size(self, field_node: FieldNode, definition: GraphQLField, path: list[str]) -> int | None:
        """The page a field asks for (`first`, else `last`, else how many `ids`), checking GitHub's bounds."""
        arguments = {argument.name.value: argument.value for argument in field_node.arguments or ()}
        if "ids" in definition.args and "ids" in arguments:
            ids = self._value(arguments["ids"])
            # A lone id is coerced to a list of one, as GraphQL coerces list inputs.
            return len(ids) if isinstance(ids, list) else (0 if ids is None else 1)
        first = self._int(arguments.get("first"))
        last = self._int(arguments.get("last"))
        name = field_node.name.value
        if first is None and last is None:
            is_connection = get_named_type(definition.type).name.endswith("Connection")
            paginates = "first" in definition.args or "last" in definition.args
            if is_connection and paginates and self._selects_page(field_node):
                message = (
                    "You must provide a `first` or `last` value to properly paginate the "
                    f"`{name}` connection."
                )
                self.errors.append(_error("MISSING_PAGINATION_BOUNDARIES", message, field_node, path))
            return None
        argument, value = ("first", first) if first is not None else ("last", last)
        assert value is not None
        if value > MAX_PAGE_SIZE:
            message = (
                f"Requesting {value} records on the `{name}` connection exceeds the `{argument}` limit "
                f"of {MAX_PAGE_SIZE} records."
            )
            self.errors.append(_error("EXCESSIVE_PAGINATION", message, field_node, path))
        elif value < 0:
            message = f"`{argument}` on the `{name}` connection cannot be less than zero."
            self.errors.append(_error("INVALID_PAGINATION", message, field_node, path))
            return 0
        return value

    def _selects_page(self, field_node: FieldNode) -> bool:
        """Whether the connection's objects are wanted; `totalCount` alone needs no page."""
        if field_node.selection_set is None:
            return False
        names = [selected.name.value for selected, _, _ in self._expand(field_node.selection_set, _NO_SCOPE)]
        return any(name in _PAGE_FIELDS for name in names)

    def _int(self, node: ValueNode | None) -> int | None:
        value = self._value(node) if node is not None else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        return value_from_ast_untyped(node, self.variables)


# Stands in for a scope where only the names of the selected fields matter.
_NO_SCOPE = GraphQLObjectType("NoScope", {})


def _merge_same_keys(
    found: list[tuple[FieldNode, GraphQLNamedType, str | None]], scope: GraphQLNamedType
) -> list[tuple[FieldNode, GraphQLNamedType, str | None]]:
    """One entry per response key, the selections of its repeats appended to the first one's.

    GraphQL executes the fields of one object that share a response key as a single field (the spec's
    CollectFields and MergeSelectionSets), so GitHub charges "each unique connection" once. On an
    object type every field applies to the same object; on an interface or a union, fields pinned to
    different object types stay apart, since only one of them applies to any one object.
    """
    merged: dict[tuple[str, str | None], tuple[FieldNode, GraphQLNamedType, str | None]] = {}
    for field_node, field_scope, pinned in found:
        key = (_response_key(field_node), None if isinstance(scope, GraphQLObjectType) else pinned)
        if key not in merged:
            merged[key] = (field_node, field_scope, pinned)
            continue
        first, first_scope, first_pinned = merged[key]
        if first.selection_set is not None and field_node.selection_set is not None:
            combined = copy(first)
            combined.selection_set = SelectionSetNode(
                selections=(*first.selection_set.selections, *field_node.selection_set.selections)
            )
            merged[key] = (combined, first_scope, first_pinned)
    return list(merged.values())


def _next_level(level: _Level, field_name: str) -> _Level:
    if level is _Level.CONNECTION and field_name == "nodes":
        return _Level.ITEM
    if level is _Level.CONNECTION and field_name == "edges":
        return _Level.EDGE
    if level is _Level.EDGE and field_name == "node":
        return _Level.ITEM
    return _Level.BEYOND


def _item_type(connection: GraphQLNamedType) -> GraphQLNamedType | None:
    """The type of a connection's objects, from its `nodes` field."""
    nodes = _field_definition(connection, "nodes")
    return get_named_type(nodes.type) if nodes is not None else None


def _field_definition(scope: GraphQLNamedType, name: str) -> GraphQLField | None:
    fields = getattr(scope, "fields", None)
    return fields.get(name) if isinstance(fields, dict) else None


def _pick_operation(operations: list[OperationDefinitionNode], name: str | None) -> OperationDefinitionNode:
    if name is None:
        if len(operations) != 1:
            raise ValueError("Must provide operation name if query contains multiple operations.")
        return operations[0]
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation
    raise ValueError(f"Unknown operation named '{name}'.")


def _response_key(field_node: FieldNode) -> str:
    return field_node.alias.value if field_node.alias else field_node.name.value


def _location(field_node: FieldNode) -> dict[str, int] | None:
    loc = field_node.loc
    if loc is None:
        return None
    return {"line": loc.start_token.line, "column": loc.start_token.column}


def _error(kind: str, message: str, field_node: FieldNode, path: list[str]) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "path": list(path)}
    location = _location(field_node)
    if location is not None:
        error["locations"] = [location]
    error["message"] = message
    return error


def _node_limit_error(roots: list[_Paginated], total_nodes: int) -> dict[str, Any]:
    """GitHub names the first field, in query order, whose nodes alone pass the limit."""
    culprit = _first_exceeding(roots)
    if culprit is None:
        message = f"This query requests up to {total_nodes:,} possible nodes"
        error: dict[str, Any] = {"type": "MAX_NODE_LIMIT_EXCEEDED"}
    else:
        message = (
            f"By the time this query traverses to the {culprit.name} connection, it is requesting up to "
            f"{culprit.node_count():,} possible nodes"
        )
        error = {"type": "MAX_NODE_LIMIT_EXCEEDED"}
        if culprit.location is not None:
            error["locations"] = [culprit.location]
    error["message"] = f"{message} which exceeds the maximum limit of {MAX_NODES:,}."
    return error


def _first_exceeding(nodes: list[_Paginated]) -> _Paginated | None:
    for node in nodes:
        if node.node_count() > MAX_NODES:
            return node
        if node.max_nodes() > MAX_NODES:
            return _first_exceeding(node.dearest_children_by_nodes())
    return None


SCHEMA_PATH = Path(__file__).with_name("schema.graphql")


@cache
def known_schema() -> GraphQLSchema:
    """The subset of GitHub's public schema this package speaks (schema.graphql beside this module)."""
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
