"""GitHub's GraphQL endpoint over HTTP: the request parsed and validated as GitHub does, priced, charged
against the principal's budget, executed, and answered (or timed out) in GitHub's shapes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType, execute, parse
from starlette.requests import Request

from ghcapture.github.cost import QueryLimitError, query_cost
from ghcapture.simulator import graphql_errors as github_errors
from ghcapture.simulator.app import (
    DOCS,
    SOMETHING_WENT_WRONG,
    TIMED_OUT,
    ApiAnswer,
    Simulator,
    error,
    graphql_limit_form,
    rate_headers,
    rate_limited_body,
)
from ghcapture.simulator.graphql_api import ExecutionContext, simulator_schema


@dataclass
class Operation:
    """A GraphQL request that parsed and validated: what the rest of the endpoint prices and runs."""

    document: DocumentNode
    variables: dict[str, Any]
    operation_name: str | None


async def graphql_handler(request: Request, sim: Simulator) -> ApiAnswer:
    operation = await read_operation(request, sim)
    if isinstance(operation, ApiAnswer):
        return operation
    return await run_operation(operation, request, sim)


async def read_operation(request: Request, sim: Simulator) -> Operation | ApiAnswer:
    """The request's document, variables and operation, or GitHub's answer for why it cannot run."""
    principal = sim.principal_of(sim.token_of(request), request)
    try:
        payload = await request.json()
        query = payload["query"]
        variables = payload.get("variables") or {}
        operation = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return error(400, "Problems parsing JSON")
    schema = simulator_schema()
    budget = sim.limits.budget(principal, "graphql")
    headers = rate_headers(budget, "graphql")
    # GitHub's order: the document parses, one operation is chosen, every operation type and field
    # exists, the document validates, the chosen operation's variables fit; each failure answers 200 with
    # `errors` and no `data` (graphql-ruby's Query#valid? and ValidationPipeline).
    try:
        document = parse(query)
    except GraphQLError as exc:
        return ApiAnswer(200, {"errors": [github_errors.parse_error(query, exc)]}, headers)
    chosen = github_errors.select_operation(document, operation if isinstance(operation, str) else None)
    if not isinstance(chosen, OperationDefinitionNode):
        return ApiAnswer(200, {"errors": [chosen]}, headers)
    problems = github_errors.operation_type_errors(document)
    problems += github_errors.validation_errors(schema, document)
    if problems:
        return ApiAnswer(200, {"errors": problems}, headers)
    if chosen.operation == OperationType.MUTATION:
        # The simulator is read-only: GitHub's answer to a token that may not make the mutation.
        by_app = sim.token_of(request) in sim.installation_tokens
        return ApiAnswer(200, github_errors.refused_mutation(chosen, by_app), headers)
    bad_variables = github_errors.variable_errors(schema, chosen, variables)
    if bad_variables:
        return ApiAnswer(200, {"errors": bad_variables}, headers)
    return Operation(document, variables, operation)


async def run_operation(op: Operation, request: Request, sim: Simulator) -> ApiAnswer:
    """Prices, charges and executes a valid operation within the principal's budget and GitHub's 10 s."""
    principal = sim.principal_of(sim.token_of(request), request)
    schema = simulator_schema()
    document, variables, operation = op.document, op.variables, op.operation_name
    budget = sim.limits.budget(principal, "graphql")
    headers = rate_headers(budget, "graphql")
    try:
        cost = query_cost(document, schema, variables, operation)
    except QueryLimitError as exc:
        return ApiAnswer(200, {"errors": exc.errors}, headers)
    ok, budget = sim.limits.charge(principal, "graphql", cost.points)
    headers = rate_headers(budget, "graphql")
    if not ok:
        sim.stats.limits["primary_graphql"] += 1
        return rate_limited_body(sim, principal, budget, form=graphql_limit_form(sim))
    sim.stats.graphql_points += cost.points
    context = ExecutionContext(
        world=sim.world,
        rate_limit={
            "cost": cost.points,
            "limit": budget.limit,
            "remaining": budget.remaining,
            "used": budget.used,
            "resetAt": datetime.fromtimestamp(budget.reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "nodeCount": cost.nodes,
        },
        viewer=principal.partition(":")[2] if principal.startswith("user:") else None,
    )
    result = execute(
        schema, document, variable_values=variables, operation_name=operation, context_value=context
    )
    if isinstance(result, Awaitable):  # no resolver is async; this keeps type checkers honest
        result = await result
    sim.stats.graphql_nodes += context.nodes
    sim.stats.graphql_prs += context.prs
    model = sim.config.server_time
    server_ms = model.graphql_ms(context.nodes, context.diffs) if model is not None else 0.0
    if server_ms > 0:
        spent = min(server_ms, sim.config.server_timeout_ms)
        sim.stats.server_ms += spent
        sim.limits.spend_cpu(principal, "graphql", spent)
        await asyncio.sleep(spent * sim.config.time_scale / 1000.0)
    if server_ms > sim.config.server_timeout_ms:
        # The points stay spent: GitHub charges a query it stopped.
        sim.stats.faults["timeout"] += 1
        return timed_out(sim, headers)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_format_error(e) for e in result.errors]
    return ApiAnswer(200, body, headers)


def timed_out(sim: Simulator, headers: dict[str, str]) -> ApiAnswer:
    """A query stopped at GitHub's 10 s, in one of the forms GitHub answers it with: 502 with a JSON
    "Something went wrong" body (turbot/steampipe-plugin-github#471, apache/devlake#3708), 504 "We couldn't
    respond to your request in time" (GitHub's REST troubleshooting page), or, on the fast profile as
    before, HTTP 200 with null data."""
    message = SOMETHING_WENT_WRONG.format(rid=sim.request_id())
    if sim.config.profile != "realistic":
        return ApiAnswer(200, {"data": None, "errors": [{"message": message}]}, headers)
    if sim.rng.random() < 0.5:
        return ApiAnswer(502, {"data": None, "errors": [{"message": message}]}, headers)
    return ApiAnswer(504, {"message": TIMED_OUT, "documentation_url": DOCS}, headers)


def _format_error(exc: GraphQLError) -> dict[str, Any]:
    """An execution error as GitHub sends it: `type` where GitHub gives one (NOT_FOUND, FORBIDDEN), then
    path, extensions if any, locations and message, e.g. {"type":"NOT_FOUND","path":["repository"],
    "locations":[{"line":1,"column":3}],
    "message":"Could not resolve to a Repository with the name 'a/b'."}."""
    formatted: dict[str, Any] = dict(exc.formatted)
    out: dict[str, Any] = {}
    github_type = getattr(exc.original_error, "github_type", None) or getattr(exc, "github_type", None)
    if github_type:
        out["type"] = github_type
    for key in ("path", "extensions", "locations", "message"):
        if formatted.get(key):
            out[key] = formatted[key]
    return out
