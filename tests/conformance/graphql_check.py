"""Checks that a GraphQL schema is a faithful subset of GitHub's: nothing invented, nothing retyped, no
default changed, no required argument dropped, no directive of its own."""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLDirective,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    ast_from_value,
    is_introspection_type,
    is_required_argument,
    is_required_input_field,
    is_specified_directive,
    is_specified_scalar_type,
    print_ast,
)
from graphql.pyutils import Undefined


def assert_schema_subset(ours: GraphQLSchema, github: GraphQLSchema) -> None:
    """Raise AssertionError listing every type, field, argument, enum value or member of `ours` that
    GitHub's schema lacks or types differently, every argument or input field whose default differs, every
    argument GitHub requires that ours leaves out, and every directive GitHub does not declare.

    The root types are object types of the type map like any other (Query's fields are compared field by
    field), and their names are compared as the schema's roots besides."""
    mismatches: list[str] = []
    for name, ours_type in sorted(ours.type_map.items()):
        if is_introspection_type(ours_type) or is_specified_scalar_type(ours_type):
            continue
        theirs = github.type_map.get(name)
        if theirs is None:
            mismatches.append(f"type {name}: GitHub has no such type")
        elif _kind(theirs) != _kind(ours_type):
            mismatches.append(f"type {name}: ours is {_kind(ours_type)}, GitHub's is {_kind(theirs)}")
        else:
            mismatches.extend(_compare(ours_type, theirs))
    for operation in ("query", "mutation", "subscription"):
        ours_root = getattr(ours, f"{operation}_type")
        github_root = getattr(github, f"{operation}_type")
        if ours_root is not None and (github_root is None or github_root.name != ours_root.name):
            mismatches.append(
                f"schema {operation}: ours is {ours_root.name}, GitHub's is {_name(github_root)}"
            )
    github_directives = {d.name: d for d in github.directives}
    for directive in ours.directives:
        if not is_specified_directive(directive):
            mismatches.extend(_compare_directive(directive, github_directives.get(directive.name)))
    if mismatches:
        raise AssertionError(
            f"{len(mismatches)} difference(s) from GitHub's schema:\n  " + "\n  ".join(mismatches)
        )


def _compare(ours: GraphQLNamedType, theirs: GraphQLNamedType) -> list[str]:
    name = ours.name
    mismatches: list[str] = []
    if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType):
        assert isinstance(theirs, GraphQLObjectType | GraphQLInterfaceType)
        github_interfaces = {interface.name for interface in theirs.interfaces}
        for interface in ours.interfaces:
            if interface.name not in github_interfaces:
                mismatches.append(f"{name} implements {interface.name}: GitHub's does not")
        for field_name, field in ours.fields.items():
            mismatches.extend(_compare_field(f"{name}.{field_name}", field, theirs.fields.get(field_name)))
    elif isinstance(ours, GraphQLInputObjectType):
        assert isinstance(theirs, GraphQLInputObjectType)
        for field_name, input_field in ours.fields.items():
            mismatches.extend(
                _compare_typed(f"{name}.{field_name}", input_field, theirs.fields.get(field_name))
            )
        # An input object without a field GitHub requires accepts values GitHub refuses.
        mismatches.extend(
            f"{name}.{field_name}: GitHub requires this input field; ours lacks it"
            for field_name, input_field in theirs.fields.items()
            if field_name not in ours.fields and is_required_input_field(input_field)
        )
    elif isinstance(ours, GraphQLEnumType):
        assert isinstance(theirs, GraphQLEnumType)
        mismatches.extend(
            f"{name}.{value}: GitHub's enum has no such value"
            for value in ours.values
            if value not in theirs.values
        )
    elif isinstance(ours, GraphQLUnionType):
        assert isinstance(theirs, GraphQLUnionType)
        github_members = {member.name for member in theirs.types}
        mismatches.extend(
            f"{name} | {member.name}: not a member of GitHub's union"
            for member in ours.types
            if member.name not in github_members
        )
    return mismatches


def _compare_field(where: str, ours: GraphQLField, theirs: GraphQLField | None) -> list[str]:
    if theirs is None:
        return [f"{where}: GitHub has no such field"]
    mismatches = _compare_typed(where, ours, theirs)
    mismatches.extend(_compare_arguments(where, ours.args, theirs.args))
    return mismatches


def _compare_arguments(
    where: str, ours: dict[str, GraphQLArgument], theirs: dict[str, GraphQLArgument]
) -> list[str]:
    mismatches: list[str] = []
    for argument_name, argument in ours.items():
        mismatches.extend(_compare_typed(f"{where}({argument_name}:)", argument, theirs.get(argument_name)))
    # A field without an argument GitHub requires accepts a query GitHub refuses.
    mismatches.extend(
        f"{where}({argument_name}:): GitHub requires this argument; ours lacks it"
        for argument_name, argument in theirs.items()
        if argument_name not in ours and is_required_argument(argument)
    )
    return mismatches


def _compare_directive(ours: GraphQLDirective, theirs: GraphQLDirective | None) -> list[str]:
    where = f"@{ours.name}"
    if theirs is None:
        return [f"directive {where}: GitHub has no such directive"]
    mismatches = _compare_arguments(where, ours.args, theirs.args)
    extra = sorted(location.name for location in set(ours.locations) - set(theirs.locations))
    if extra:
        mismatches.append(f"directive {where}: GitHub's does not apply on {', '.join(extra)}")
    return mismatches


def _compare_typed(
    where: str,
    ours: GraphQLField | GraphQLArgument | GraphQLInputField,
    theirs: GraphQLField | GraphQLArgument | GraphQLInputField | None,
) -> list[str]:
    if theirs is None:
        return [f"{where}: GitHub has no such {'argument' if where.endswith(':)') else 'field'}"]
    if str(ours.type) != str(theirs.type):
        return [f"{where}: ours is {ours.type}, GitHub's is {theirs.type}"]
    if isinstance(ours, GraphQLArgument | GraphQLInputField):
        assert isinstance(theirs, GraphQLArgument | GraphQLInputField)
        ours_default, github_default = _default(ours), _default(theirs)
        if ours_default != github_default:
            return [f"{where}: ours defaults to {ours_default}, GitHub's to {github_default}"]
    return []


def _default(value: GraphQLArgument | GraphQLInputField) -> str:
    """The default as GraphQL prints it (`true`, `[OPEN]`, `{field: CREATED_AT}`), or "nothing"."""
    if value.default_value is Undefined:
        return "nothing"
    printed = ast_from_value(value.default_value, value.type)
    return print_ast(printed) if printed is not None else "null"


def _kind(named: GraphQLNamedType) -> str:
    kinds: list[tuple[type, str]] = [
        (GraphQLObjectType, "an object type"),
        (GraphQLInterfaceType, "an interface"),
        (GraphQLUnionType, "a union"),
        (GraphQLEnumType, "an enum"),
        (GraphQLInputObjectType, "an input object"),
        (GraphQLScalarType, "a scalar"),
    ]
    return next((label for cls, label in kinds if isinstance(named, cls)), type(named).__name__)


def _name(named: GraphQLNamedType | None) -> str:
    return named.name if named is not None else "absent"
