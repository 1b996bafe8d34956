"""GitHub's GraphQL request errors, in the words and shape GitHub's server (graphql-ruby) gives them.

graphql-core finds the problems; this module says them as graphql-ruby does
(lib/graphql/static_validation/rules/*_error.rb in rmosolgo/graphql-ruby): the message, a `path` from the
operation ("query", "query Name", "fragment F") through field aliases and argument names, `extensions` with
graphql-ruby's `code` and details, and `locations`. A document that fails any of these gets no `data`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Source,
    TokenKind,
    VariableDefinitionNode,
    VariableNode,
    coerce_input_value,
    get_named_type,
    is_input_type,
    print_ast,
    specified_rules,
    type_from_ast,
    validate,
)
from graphql.language import Lexer
from graphql.pyutils import Undefined
from graphql.validation import (
    ASTValidationRule,
    FieldsOnCorrectTypeRule,
    FragmentsOnCompositeTypesRule,
    KnownArgumentNamesRule,
    KnownDirectivesRule,
    KnownFragmentNamesRule,
    KnownTypeNamesRule,
    NoFragmentCyclesRule,
    NoUndefinedVariablesRule,
    NoUnusedFragmentsRule,
    NoUnusedVariablesRule,
    OverlappingFieldsCanBeMergedRule,
    PossibleFragmentSpreadsRule,
    ProvidedRequiredArgumentsRule,
    ScalarLeafsRule,
    UniqueArgumentNamesRule,
    UniqueFragmentNamesRule,
    UniqueOperationNamesRule,
    UniqueVariableNamesRule,
    ValuesOfCorrectTypeRule,
    VariablesAreInputTypesRule,
    VariablesInAllowedPositionRule,
)
from graphql.validation.validation_context import ValidationContext

from ghcapture.simulator.graphql_mutations import MUTATION_FIELDS

Body = dict[str, Any]

# graphql-ruby's token names (lib/graphql/language/lexer.rb), which its parse errors quote.
TOKENS = {
    TokenKind.BANG: "BANG",
    TokenKind.DOLLAR: "VAR_SIGN",
    TokenKind.AMP: "AMP",
    TokenKind.PAREN_L: "LPAREN",
    TokenKind.PAREN_R: "RPAREN",
    TokenKind.SPREAD: "ELLIPSIS",
    TokenKind.COLON: "COLON",
    TokenKind.EQUALS: "EQUALS",
    TokenKind.AT: "DIR_SIGN",
    TokenKind.BRACKET_L: "LBRACKET",
    TokenKind.BRACKET_R: "RBRACKET",
    TokenKind.BRACE_L: "LCURLY",
    TokenKind.PIPE: "PIPE",
    TokenKind.BRACE_R: "RCURLY",
    TokenKind.INT: "INT",
    TokenKind.FLOAT: "FLOAT",
    TokenKind.STRING: "STRING",
    TokenKind.BLOCK_STRING: "STRING",
}
KEYWORDS = {
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "true",
    "false",
    "null",
    "schema",
    "type",
    "input",
    "enum",
    "union",
    "scalar",
    "interface",
    "directive",
    "extend",
    "implements",
    "repeatable",
}


def error_body(
    message: str,
    node_or_nodes: Node | Sequence[Node] | None,
    path: list[Any] | None,
    extensions: dict[str, Any] | None,
) -> Body:
    """One error, its keys in the order GitHub sends them: path, extensions, locations, message."""
    nodes = [node_or_nodes] if isinstance(node_or_nodes, Node) else list(node_or_nodes or [])
    out: Body = {}
    if path is not None:
        out["path"] = path
    if extensions:
        out["extensions"] = extensions
    out["locations"] = [_location(n) for n in nodes if n.loc is not None]
    out["message"] = message
    return out


def _location(node: Node) -> dict[str, int]:
    assert node.loc is not None
    token = node.loc.start_token
    return {"line": token.line, "column": token.column}


def parse_error(query: str, exc: GraphQLError) -> Body:
    """`Parse error on "}" (RCURLY) at [1, 10]`, naming the token the parser could not take, as graphql-ruby
    does (e.g. pyvec/python.cz#417 quotes GitHub's `Parse error on ")" (RPAREN) at [25, 23]`)."""
    position = list(exc.positions)[0] if exc.positions else len(query)
    line, column = (exc.locations[0].line, exc.locations[0].column) if exc.locations else (1, 1)
    token = _token_at(query, position)
    if token is None:
        return {"locations": [{"line": line, "column": column}], "message": "Unexpected end of document"}
    value, kind = token
    return {
        "locations": [{"line": line, "column": column}],
        "message": f'Parse error on "{value}" ({kind}) at [{line}, {column}]',
    }


def _token_at(query: str, position: int) -> tuple[str, str] | None:
    lexer = Lexer(Source(query))
    try:
        token = lexer.advance()
        while token.kind != TokenKind.EOF and token.start < position:
            token = lexer.advance()
    except GraphQLError:
        return (query[position : position + 1] or "?", "UNKNOWN_CHAR")
    if token.kind == TokenKind.EOF:
        return None
    if token.kind == TokenKind.NAME:
        name = token.value or ""
        return (name, name.upper() if name in KEYWORDS else "IDENTIFIER")
    return (
        token.value if token.value is not None else query[token.start : token.end],
        TOKENS.get(token.kind, token.kind.name),
    )


@dataclass
class _Found:
    """What a rule reported, with what graphql-core's type info knew where it reported it."""

    error: GraphQLError
    rule: type[ASTValidationRule]
    parent_type: Any
    field_def: Any
    argument: Any
    directive: Any
    input_type: Any
    parent_input_type: Any


class _Reporting:
    """A rule's view of the validation context that notes, with each error, what the type info knew."""

    def __init__(self, context: Any, rule: type[ASTValidationRule], found: list[_Found]) -> None:
        self._context, self._rule, self._found = context, rule, found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        context = self._context
        if isinstance(context, ValidationContext):
            self._found.append(
                _Found(
                    error,
                    self._rule,
                    context.get_parent_type(),
                    context.get_field_def(),
                    context.get_argument(),
                    context.get_directive(),
                    context.get_input_type(),
                    context.get_parent_input_type(),
                )
            )
        else:
            self._found.append(_Found(error, self._rule, None, None, None, None, None, None))
        context.report_error(error)


def _tagged(rule: type[ASTValidationRule], found: list[_Found]) -> type[ASTValidationRule]:
    # Rules report through `self.report_error` or straight through `self.context.report_error`.
    def init(self: ASTValidationRule, context: Any) -> None:
        rule.__init__(self, _Reporting(context, rule, found))  # type: ignore[arg-type]

    return type(rule.__name__, (rule,), {"__init__": init})


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | Body:
    """The operation to run, or graphql-ruby's error: "An operation name is required" when several are
    defined and none is named, `No operation named "X"` for a name the document lacks."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        for op in operations:
            if op.name is not None and op.name.value == name:
                return op
        return {"message": f'No operation named "{name}"'}
    if len(operations) == 1:
        return operations[0]
    if not operations:
        return {"message": "No operations in this document"}
    return {"message": "An operation name is required"}


def operation_type_errors(document: DocumentNode) -> list[Body]:
    """GitHub's schema has no Subscription type; its Mutation type has the fields MUTATION_FIELDS names."""
    errors: list[Body] = []
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        label = _operation_label(op)
        if op.operation == OperationType.SUBSCRIPTION:
            errors.append(
                error_body(
                    "Schema is not configured for subscriptions",
                    op,
                    [label],
                    {"code": "missingSubscriptionConfiguration"},
                )
            )
        elif op.operation == OperationType.MUTATION:
            for field in _root_fields(op.selection_set):
                if field.name.value != "__typename" and field.name.value not in MUTATION_FIELDS:
                    errors.append(_undefined_field(field, "Mutation", [label, _key(field)]))
    return errors


def refused_mutation(op: OperationDefinitionNode, by_app: bool) -> Body:
    """A read-only GitHub: every mutation field null with GitHub's FORBIDDEN error for the caller's kind of
    token (e.g. `{"type":"FORBIDDEN","path":["addComment"],...,"message":"Resource not accessible by
    integration"}` for an App installation; "...by personal access token" for a personal token)."""
    who = "integration" if by_app else "personal access token"
    data: dict[str, Any] = {}
    errors: list[Body] = []
    for field in _root_fields(op.selection_set):
        key = _key(field)
        if field.name.value == "__typename":
            data[key] = "Mutation"
            continue
        data[key] = None
        errors.append(
            {
                "type": "FORBIDDEN",
                "path": [key],
                "locations": [_location(field)],
                "message": f"Resource not accessible by {who}",
            }
        )
    return {"data": data, "errors": errors}


def _root_fields(selection_set: SelectionSetNode) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set)


def validation_errors(schema: GraphQLSchema, document: DocumentNode) -> list[Body]:
    """The document's static-validation problems, worded and shaped as GitHub's."""
    found: list[_Found] = []
    validate(schema, document, [_tagged(rule, found) for rule in specified_rules])
    if not found:
        return []
    paths = _Paths(document, schema)
    bodies: list[Body] = []
    for item in _merge_missing_arguments(found):
        body = _translate(item, paths)
        if body is not None and body not in bodies:
            bodies.append(body)
    return bodies


def _merge_missing_arguments(found: list[_Found]) -> list[_Found | list[_Found]]:
    # graphql-ruby names every missing argument of a field in one error; graphql-core reports each.
    merged: list[_Found | list[_Found]] = []
    by_node: dict[int, list[_Found]] = {}
    for item in found:
        if item.rule is ProvidedRequiredArgumentsRule and item.error.nodes:
            key = id(item.error.nodes[0])
            if key in by_node:
                by_node[key].append(item)
                continue
            by_node[key] = [item]
            merged.append(by_node[key])
        else:
            merged.append(item)
    return merged


class _Paths:
    """graphql-ruby's `path` of every node, and each node's parent (lib/graphql/static_validation/
    base_visitor.rb): the operation or fragment, then field aliases or names, argument and input field names,
    `... on Type` for inline fragments and `... Name` for spreads."""

    def __init__(self, document: DocumentNode, schema: GraphQLSchema | None = None) -> None:
        self.schema = schema
        self.path: dict[int, list[str]] = {}
        self.parent: dict[int, Node] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                self._walk(definition, [_operation_label(definition)], None)
            elif isinstance(definition, FragmentDefinitionNode):
                self._walk(definition, [f"fragment {definition.name.value}"], None)

    def _walk(self, node: Node, path: list[str], parent: Node | None) -> None:
        if isinstance(node, FieldNode):
            path = [*path, _key(node)]
        elif isinstance(node, ArgumentNode | ObjectFieldNode):
            path = [*path, node.name.value]
        elif isinstance(node, InlineFragmentNode):
            condition = f" on {node.type_condition.name.value}" if node.type_condition else ""
            path = [*path, f"...{condition}"]
        elif isinstance(node, FragmentSpreadNode):
            path = [*path, f"... {node.name.value}"]
        self.path[id(node)] = path
        if parent is not None:
            self.parent[id(node)] = parent
        for key in node.keys:
            if key == "loc":
                continue
            child = getattr(node, key, None)
            children = child if isinstance(child, tuple | list) else [child]
            for c in children:
                if isinstance(c, Node):
                    self._walk(c, path, node)

    def of(self, node: Node | None) -> list[str] | None:
        return self.path.get(id(node)) if node is not None else None

    def up(self, node: Node, *kinds: type[Node]) -> Node | None:
        current: Node | None = self.parent.get(id(node))
        while current is not None and not isinstance(current, kinds):
            current = self.parent.get(id(current))
        return current


def _operation_label(op: OperationDefinitionNode) -> str:
    return f"{op.operation.value}{' ' + op.name.value if op.name else ''}"


def _key(field: FieldNode) -> str:
    return field.alias.value if field.alias else field.name.value


def _undefined_field(field: FieldNode, type_name: str, path: list[str] | None) -> Body:
    return error_body(
        f"Field '{field.name.value}' doesn't exist on type '{type_name}'",
        field,
        path,
        {"code": "undefinedField", "typeName": type_name, "fieldName": field.name.value},
    )


def _translate(item: _Found | list[_Found], paths: _Paths) -> Body | None:  # noqa: C901, PLR0911, PLR0912
    if isinstance(item, list):
        return _missing_arguments(item, paths)
    error, rule = item.error, item.rule
    nodes = list(error.nodes or [])
    node = nodes[0] if nodes else None
    if rule is FieldsOnCorrectTypeRule and isinstance(node, FieldNode):
        parent = get_named_type(item.parent_type)
        if isinstance(parent, GraphQLUnionType):
            return error_body(
                f"Selections can't be made directly on unions (see selections on {parent.name})",
                node,
                paths.of(node),
                {"code": "selectionMismatch", "nodeName": parent.name},
            )
        return _undefined_field(node, parent.name if parent else "?", paths.of(node))
    if rule is KnownArgumentNamesRule and isinstance(node, ArgumentNode):
        owner = paths.up(node, FieldNode, DirectiveNode)
        kind = "Directive" if isinstance(owner, DirectiveNode) else "Field"
        name = owner.name.value if isinstance(owner, FieldNode | DirectiveNode) else "?"
        return error_body(
            f"{kind} '{name}' doesn't accept argument '{node.name.value}'",
            node,
            paths.of(node),
            {"code": "argumentNotAccepted", "name": name, "typeName": kind, "argumentName": node.name.value},
        )
    if rule is ValuesOfCorrectTypeRule and node is not None:
        return _bad_value(item, node, paths)
    if rule is NoUndefinedVariablesRule and isinstance(node, VariableNode):
        op = next((n for n in nodes if isinstance(n, OperationDefinitionNode)), None)
        user = (
            op.name.value
            if op is not None and op.name
            else f"anonymous {op.operation.value if op else 'query'}"
        )
        return error_body(
            f"Variable ${node.name.value} is used by {user} but not declared",
            node,
            paths.of(paths.parent.get(id(node))) or paths.of(op),
            {"code": "variableNotDefined", "variableName": node.name.value},
        )
    if rule is NoUnusedVariablesRule and node is not None:
        declaring: Node | None = (
            paths.up(node, OperationDefinitionNode) if not isinstance(node, OperationDefinitionNode) else node
        )
        name = node.variable.name.value if isinstance(node, VariableDefinitionNode) else "?"
        declared = (
            declaring.name.value
            if isinstance(declaring, OperationDefinitionNode) and declaring.name
            else f"anonymous {declaring.operation.value}"
            if isinstance(declaring, OperationDefinitionNode)
            else "?"
        )
        return error_body(
            f"Variable ${name} is declared by {declared} but not used",
            declaring,
            paths.of(declaring),
            {"code": "variableNotUsed", "variableName": name},
        )
    if rule is VariablesInAllowedPositionRule and len(nodes) >= 2:
        return _variable_mismatch(error, nodes, paths)
    if rule in (KnownTypeNamesRule, VariablesAreInputTypesRule) and node is not None:
        return _unknown_type(node, paths)
    if rule is ScalarLeafsRule and isinstance(node, SelectionSetNode):
        node = paths.parent.get(id(node))
    if rule is ScalarLeafsRule and isinstance(node, FieldNode) and item.field_def is not None:
        returned = get_named_type(item.field_def.type).name
        name = f"field '{node.name.value}'"
        if node.selection_set:
            inner = ", ".join(_selection_name(s) for s in node.selection_set.selections)
            message = (
                f"Selections can't be made on scalars ({name} returns {returned} "
                f"but has selections [{inner}])"
            )
        else:
            message = (
                f"Field must have selections ({name} returns {returned} but has no selections. "
                f"Did you mean '{node.name.value} {{ ... }}'?)"
            )
        return error_body(
            message,
            node,
            paths.of(node),
            {"code": "selectionMismatch", "nodeName": name, "typeName": returned},
        )
    if rule is KnownFragmentNamesRule and isinstance(node, FragmentSpreadNode):
        return error_body(
            f"Fragment {node.name.value} was used, but not defined",
            node,
            paths.of(node),
            {"code": "useAndDefineFragment", "fragmentName": node.name.value},
        )
    if rule is NoUnusedFragmentsRule and isinstance(node, FragmentDefinitionNode):
        return error_body(
            f"Fragment {node.name.value} was defined, but not used",
            node,
            paths.of(node),
            {"code": "useAndDefineFragment", "fragmentName": node.name.value},
        )
    if rule is PossibleFragmentSpreadsRule and node is not None:
        return _impossible_spread(item, node, paths)
    if rule is FragmentsOnCompositeTypesRule and isinstance(
        node, InlineFragmentNode | FragmentDefinitionNode
    ):
        type_name = node.type_condition.name.value if node.type_condition else "?"
        return error_body(
            f"Invalid fragment on type {type_name} (must be Union, Interface or Object)",
            node,
            paths.of(node),
            {"code": "fragmentOnNonCompositeType", "typeName": type_name},
        )
    if (
        rule is KnownDirectivesRule
        and isinstance(node, DirectiveNode)
        and "Unknown directive" in error.message
    ):
        return error_body(
            f"Directive @{node.name.value} is not defined",
            node,
            paths.of(node),
            {"code": "undefinedDirective", "directiveName": node.name.value},
        )
    if rule is UniqueOperationNamesRule and isinstance(node, OperationDefinitionNode) and node.name:
        return error_body(
            f'Operation name "{node.name.value}" must be unique',
            nodes,
            None,
            {"code": "uniquelyNamedOperations", "operationName": node.name.value},
        )
    if rule is UniqueArgumentNamesRule and isinstance(node, ArgumentNode):
        return error_body(
            f'There can be only one argument named "{node.name.value}"',
            nodes,
            paths.of(paths.parent.get(id(node))),
            {"code": "argumentNotUnique", "name": node.name.value},
        )
    if rule is UniqueVariableNamesRule and isinstance(node, VariableNode):
        return error_body(
            f'There can only be one variable named "{node.name.value}"',
            nodes,
            None,
            {"code": "variableNotUnique", "variableName": node.name.value},
        )
    if rule is UniqueFragmentNamesRule and isinstance(node, Node) and hasattr(node, "value"):
        return error_body(
            f'Fragment name "{node.value}" must be unique',
            nodes,
            None,
            {"code": "fragmentNotUnique", "fragmentName": node.value},
        )
    if rule is NoFragmentCyclesRule and isinstance(node, FragmentSpreadNode):
        definition = paths.up(node, FragmentDefinitionNode)
        name = definition.name.value if isinstance(definition, FragmentDefinitionNode) else node.name.value
        return error_body(
            f"Fragment {name} contains an infinite loop",
            definition or node,
            paths.of(definition),
            {"code": "infiniteLoop", "fragmentName": name},
        )
    if rule is OverlappingFieldsCanBeMergedRule and isinstance(node, FieldNode):
        names = [n.name.value for n in nodes if isinstance(n, FieldNode)]
        return error_body(
            f"Field '{_key(node)}' has a field conflict: {' or '.join(dict.fromkeys(names))}?",
            nodes,
            paths.of(node),
            {
                "code": "fieldConflict",
                "fieldName": _key(node),
                "conflicts": " or ".join(dict.fromkeys(names)),
            },
        )
    return error_body(error.message, nodes, paths.of(node), None)


def _selection_name(selection: Node) -> str:
    if isinstance(selection, FieldNode | FragmentSpreadNode):
        return selection.name.value
    return "..."


def _missing_arguments(items: list[_Found], paths: _Paths) -> Body:
    node = items[0].error.nodes[0] if items[0].error.nodes else None
    kind = "Directive" if isinstance(node, DirectiveNode) else "Field"
    name = node.name.value if isinstance(node, FieldNode | DirectiveNode) else "?"
    missing = []
    for item in items:
        text = (
            item.error.message
        )  # "... argument 'name' of type 'String!' is required, but it was not provided."
        start = text.find("argument '") + len("argument '")
        missing.append(text[start : text.find("'", start)])
    # graphql-ruby lists them in the order the field (or directive) defines its arguments.
    parent = get_named_type(items[0].parent_type)
    fields = getattr(parent, "fields", {})
    defined = items[0].directive if kind == "Directive" else fields.get(name) or items[0].field_def
    order = list(getattr(defined, "args", None) or [])
    missing.sort(key=lambda a: order.index(a) if a in order else len(order))
    joined = ", ".join(missing)
    return error_body(
        f"{kind} '{name}' is missing required arguments: {joined}",
        node,
        paths.of(node) if kind == "Field" else paths.of(paths.parent.get(id(node))),
        {"code": "missingRequiredArguments", "className": kind, "name": name, "arguments": joined},
    )


def _bad_value(item: _Found, node: Node, paths: _Paths) -> Body:
    """graphql-ruby's ArgumentLiteralsAreCompatible and RequiredInputObjectAttributesArePresent, on the
    argument or input field whose value is wrong."""
    message = item.error.message
    if isinstance(node, ObjectFieldNode) and "is not defined by type" in message:
        type_name = get_named_type(item.parent_input_type).name if item.parent_input_type else "?"
        return error_body(
            f"InputObject '{type_name}' doesn't accept argument '{node.name.value}'",
            node,
            paths.of(node),
            {
                "code": "argumentNotAccepted",
                "name": type_name,
                "typeName": "InputObject",
                "argumentName": node.name.value,
            },
        )
    if isinstance(node, ObjectValueNode) and "was not provided" in message:
        # "Field 'IssueOrder.direction' of required type 'OrderDirection!' was not provided."
        quoted = message.split("'")
        type_name, _, field_name = quoted[1].partition(".")
        expected = quoted[3] if len(quoted) > 3 else "?"
        holder = paths.parent.get(id(node))
        return error_body(
            f"Argument '{field_name}' on InputObject '{type_name}' is required. Expected type {expected}",
            holder or node,
            paths.of(holder),
            {
                "code": "missingRequiredInputObjectAttribute",
                "argumentName": field_name,
                "argumentType": expected,
                "inputObjectType": type_name,
            },
        )
    holder = (
        node
        if isinstance(node, ArgumentNode | ObjectFieldNode)
        else paths.up(node, ArgumentNode, ObjectFieldNode)
    )
    if isinstance(holder, ObjectFieldNode):
        parent_object = paths.parent.get(id(holder))
        owner_type = _input_type_of(parent_object, paths, item)
        expected = (
            owner_type.fields[holder.name.value].type
            if owner_type and holder.name.value in owner_type.fields
            else "?"
        )
        name = owner_type.name if owner_type else "?"
        return error_body(
            f"Argument '{holder.name.value}' on InputObject '{name}' has an invalid value "
            f"({print_ast(holder.value)}). Expected type '{expected}'.",
            holder,
            paths.of(holder),
            {
                "code": "argumentLiteralsIncompatible",
                "typeName": "InputObject",
                "argumentName": holder.name.value,
            },
        )
    if isinstance(holder, ArgumentNode):
        owner = paths.up(holder, FieldNode, DirectiveNode)
        kind = "Directive" if isinstance(owner, DirectiveNode) else "Field"
        name = owner.name.value if isinstance(owner, FieldNode | DirectiveNode) else "?"
        expected = item.argument.type if item.argument is not None else "?"
        return error_body(
            f"Argument '{holder.name.value}' on {kind} '{name}' has an invalid value "
            f"({print_ast(holder.value)}). Expected type '{expected}'.",
            holder,
            paths.of(holder),
            {"code": "argumentLiteralsIncompatible", "typeName": kind, "argumentName": holder.name.value},
        )
    return error_body(message, node, paths.of(node), None)


def _input_type_of(obj: Node | None, paths: _Paths, item: _Found) -> GraphQLInputObjectType | None:
    # The input object type an object value stands for: the argument's type, or a field of an outer one.
    if not isinstance(obj, ObjectValueNode):
        return None
    holder = paths.parent.get(id(obj))
    while isinstance(holder, ListValueNode):
        holder = paths.parent.get(id(holder))
    if isinstance(holder, ArgumentNode):
        named = get_named_type(item.argument.type) if item.argument is not None else None
        return named if isinstance(named, GraphQLInputObjectType) else None
    if isinstance(holder, ObjectFieldNode):
        outer = _input_type_of(paths.parent.get(id(holder)), paths, item)
        if outer is not None and holder.name.value in outer.fields:
            named = get_named_type(outer.fields[holder.name.value].type)
            return named if isinstance(named, GraphQLInputObjectType) else None
    return None


def _variable_mismatch(error: GraphQLError, nodes: list[Node], paths: _Paths) -> Body:
    # graphql-core: "Variable '$x' of type 'String' used in position expecting type 'String!'."
    definition = next((n for n in nodes if isinstance(n, VariableDefinitionNode)), None)
    usage = next((n for n in nodes if isinstance(n, VariableNode)), None)
    argument = paths.parent.get(id(usage)) if usage is not None else None
    quoted = error.message.split("'")
    var_type, arg_type = (quoted[3], quoted[5]) if len(quoted) > 5 else ("?", "?")
    kind = "Type mismatch"
    if var_type.replace("!", "") == arg_type.replace("!", ""):
        kind = "Nullability mismatch"
    elif var_type.replace("!", "").strip("[]") == arg_type.replace("!", "").strip("[]"):
        kind = "List dimension mismatch"
    name = definition.variable.name.value if definition else "?"
    arg_name = argument.name.value if isinstance(argument, ArgumentNode | ObjectFieldNode) else "?"
    message = f"{kind} on variable ${name} and argument {arg_name} ({var_type} / {arg_type})"
    return error_body(
        message,
        argument or usage,
        paths.of(argument),
        {
            "code": "variableMismatch",
            "variableName": name,
            "typeName": var_type,
            "argumentName": arg_name,
            "errorMessage": kind,
        },
    )


def _unknown_type(node: Node, paths: _Paths) -> Body | None:
    holder: Node | None = node
    while holder is not None and not isinstance(
        holder, VariableDefinitionNode | InlineFragmentNode | FragmentDefinitionNode
    ):
        holder = paths.parent.get(id(holder))
    if isinstance(node, VariableDefinitionNode):
        holder = node
    if isinstance(holder, VariableDefinitionNode):
        type_name = print_ast(holder.type).replace("!", "").strip("[]")
        name = holder.variable.name.value
        return error_body(
            f"{type_name} isn't a defined input type (on ${name})",
            holder,
            paths.of(paths.up(holder, OperationDefinitionNode)),
            {"code": "variableRequiresValidType", "typeName": type_name, "variableName": name},
        )
    name = getattr(getattr(node, "name", None), "value", None) or "?"
    where = holder if holder is not None else node
    return error_body(
        f"No such type {name}, so it can't be a fragment condition",
        where,
        paths.of(where),
        {"code": "undefinedType", "typeName": name},
    )


def _impossible_spread(item: _Found, node: Node, paths: _Paths) -> Body:
    parent = get_named_type(item.parent_type)
    parent_name = parent.name if parent is not None else "?"
    if isinstance(node, FragmentSpreadNode):
        # graphql-core: "Fragment 'F' cannot be spread here as objects of type 'A' can never be of type 'B'."
        quoted = item.error.message.split("'")
        type_name = quoted[5] if len(quoted) > 5 else "?"
        message = f"Fragment {node.name.value} on {type_name} can't be spread inside {parent_name}"
        fragment = node.name.value
    else:
        type_name = (
            node.type_condition.name.value
            if isinstance(node, InlineFragmentNode) and node.type_condition
            else "?"
        )
        message = f"Fragment on {type_name} can't be spread inside {parent_name}"
        fragment = "unknown"
    return error_body(
        message,
        node,
        paths.of(node),
        {
            "code": "cannotSpreadFragment",
            "typeName": type_name,
            "fragmentName": fragment,
            "parentName": parent_name,
        },
    )


def variable_errors(schema: GraphQLSchema, op: OperationDefinitionNode, values: dict[str, Any]) -> list[Body]:
    """graphql-ruby's VariableValidationError: "Variable $number of type Int! was provided invalid value",
    with the value and the problem in `extensions`."""
    errors: list[Body] = []
    for definition in op.variable_definitions:
        name = definition.variable.name.value
        declared = type_from_ast(schema, definition.type)
        if declared is None:
            continue
        given = values.get(name, Undefined)
        problems: list[dict[str, Any]] = []
        if given is Undefined or given is None:
            if print_ast(definition.type).endswith("!") and definition.default_value is None:
                problems.append({"path": [], "explanation": "Expected value to not be null"})
        elif is_input_type(declared):
            named = get_named_type(declared).name
            coerce_input_value(given, declared, _collect(problems, named))  # type: ignore[arg-type]
        if problems:
            errors.append(
                {
                    "extensions": {"value": None if given is Undefined else given, "problems": problems},
                    "locations": [_location(definition)],
                    "message": (
                        f"Variable ${name} of type {print_ast(definition.type)} was provided invalid value"
                    ),
                }
            )
    return errors


def _collect(
    problems: list[dict[str, Any]], named: str
) -> Callable[[list[str | int], Any, GraphQLError], None]:
    def on_error(path: list[str | int], bad: Any, exc: GraphQLError) -> None:
        explanation = (
            f"Could not coerce value {_ruby_inspect(bad)} to {named}"
            if not isinstance(bad, dict)
            else exc.message
        )
        problems.append({"path": list(path), "explanation": explanation})

    return on_error


def _ruby_inspect(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
