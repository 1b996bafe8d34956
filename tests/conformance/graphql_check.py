"""Checks that a GraphQL schema is a faithful subset of GitHub's: nothing invented, nothing retyped."""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
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
    is_introspection_type,
    is_specified_scalar_type,
)


def assert_schema_subset(ours: GraphQLSchema, github: GraphQLSchema) -> None:
    """Raise AssertionError listing every type, field, argument, enum value or member of `ours` that
    GitHub's schema lacks or types differently."""
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
    for argument_name, argument in ours.args.items():
        mismatches.extend(
            _compare_typed(f"{where}({argument_name}:)", argument, theirs.args.get(argument_name))
        )
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
    return []


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
