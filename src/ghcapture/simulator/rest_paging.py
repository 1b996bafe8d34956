"""How GitHub's REST listings are paged: page numbers with a Link header, opaque cursors on the listings
GitHub pages by cursor, and the Last-Modified stamp of an answer.

Link URLs of a repository's listings name the repository by id, `/repositories/{id}/...`, whatever name the
request used, and list rel="prev", "next", "last", "first" in that order, as GitHub's own example shows
(https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api: `<https://api.github.com/
repositories/1300192/issues?page=2>; rel="prev", ...`; also `curl -I api.github.com/repos/rails/rails/issues`,
recorded in gist jdennes/7212211: `<https://api.github.com/repositories/8514/issues?page=2>; rel="next"`).
"""

from __future__ import annotations

import base64
import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from ghcapture.simulator.app import ApiAnswer, api_base, error
from ghcapture.simulator.model import Repository, parse_time

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
DEEP_PAGE_MESSAGE = (
    "Pagination with the page parameter is not supported for large datasets, please use cursor based "
    "pagination (after/before)"
)
_REPOSITORY_PATH = re.compile(r"^/repos/[^/]+/[^/]+(?P<rest>/.*)?$|^/repositories/\d+(?P<rest_by_id>/.*)?$")
_CURSOR_PREFIX = b"cursor:v2:"


@dataclass(frozen=True)
class PageRequest:
    """What a request asked of a listing: `per_page` (30 by default, at most 100), `page`, and a cursor."""

    per_page: int
    page: int
    after: str | None = None
    before: str | None = None
    page_given: bool = False


def page_request(request: Request) -> PageRequest | ApiAnswer:
    q = request.query_params
    try:
        per_page = min(MAX_PER_PAGE, max(1, int(q.get("per_page", DEFAULT_PER_PAGE))))
        page = max(1, int(q.get("page", 1)))
    except ValueError:
        return error(422, "Invalid request: page and per_page must be integers.")
    return PageRequest(per_page, page, q.get("after") or None, q.get("before") or None, "page" in q)


def listing_url(request: Request, repo: Repository | None) -> str:
    """The URL a Link header names for this listing: a repository's by its id, any other as requested."""
    api = api_base(request)
    path = request.url.path
    if path.startswith("/api/v3"):
        path = path[len("/api/v3") :]
    match = _REPOSITORY_PATH.match(path)
    if repo is not None and match:
        return f"{api}/repositories/{repo.id}{match.group('rest') or match.group('rest_by_id') or ''}"
    return api + path


def paginate(
    request: Request,
    items: Sequence[Any],
    render: Callable[[Any], Any],
    *,
    repo: Repository | None,
    cap: int | None = None,
    stamp: Callable[[Any], datetime | None] | None = None,
    deepest: int | None = None,
    deep_docs: str | None = None,
) -> ApiAnswer:
    """One page by number, with GitHub's Link header; `cap` lists no item past it (a PR's 3,000 files);
    `deepest` refuses with 422 a page reaching that many items by page number."""
    asked = page_request(request)
    if isinstance(asked, ApiAnswer):
        return asked
    if deepest is not None and asked.page * asked.per_page >= deepest:
        refused = error(422, DEEP_PAGE_MESSAGE)
        if deep_docs:
            refused.body["documentation_url"] = deep_docs
        return refused
    per_page, page = asked.per_page, asked.page
    total = min(len(items), cap) if cap is not None else len(items)
    start = (page - 1) * per_page
    chunk = items[start : min(start + per_page, total)] if start < total else []
    last = max(1, -(-total // per_page))
    base = listing_url(request, repo)
    params = {k: v for k, v in request.query_params.items() if k not in ("page", "per_page")}

    def link(p: int, rel: str) -> str:
        return f'<{base}?{urlencode({**params, "per_page": per_page, "page": p})}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links.append(link(1, "first"))
    return page_answer(chunk, render, stamp, links)


def page_answer(
    chunk: Sequence[Any],
    render: Callable[[Any], Any],
    stamp: Callable[[Any], datetime | None] | None,
    links: list[str],
) -> ApiAnswer:
    headers = {"link": ", ".join(links)} if links else {}
    newest = max((t for t in map(stamp, chunk) if t is not None), default=None) if stamp else None
    if newest is not None:
        headers["last-modified"] = http_date(newest)
    return ApiAnswer(200, [render(x) for x in chunk], headers)


# -- cursors ----------------------------------------------------------------------------------------------
# GitHub's repository issue listing pages by cursor: its next link carries `after=`, its prev link `before=`,
# each beside a page number, and no first or last link. Observed on api.github.com (README of
# zytx121/je, 2025): `<https://api.github.com/repositories/117391789/issues?per_page=2&after=Y3Vyc29yOnYyOpLP
# AAABlkdSAhjOsw1S3g%3D%3D&page=3>; rel="next", <https://api.github.com/repositories/117391789/issues?
# per_page=2&page=1&before=Y3Vyc29yOnYyOpLPAAABlkdjwRDOsw3JCA%3D%3D>; rel="prev"`. Those cursors are base64
# of "cursor:v2:" and a MessagePack pair (a sort value, an id); these are built the same way.


def encode_cursor(position: tuple[int, int]) -> str:
    body = b"\x92" + b"".join(b"\xcf" + value.to_bytes(8, "big", signed=False) for value in position)
    return base64.b64encode(_CURSOR_PREFIX + body).decode()


def decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        raw = base64.b64decode(cursor, validate=True)
    except ValueError:
        return None
    body = raw[len(_CURSOR_PREFIX) :]
    if (
        not raw.startswith(_CURSOR_PREFIX)
        or len(body) != 19
        or body[0] != 0x92
        or body[1] != body[10] != 0xCF
    ):
        return None
    return int.from_bytes(body[2:10], "big"), int.from_bytes(body[11:19], "big")


def cursor_paginate(
    request: Request,
    items: Sequence[Any],
    position: Callable[[Any], tuple[int, int]],
    descending: bool,
    render: Callable[[Any], Any],
    *,
    repo: Repository,
    resource: str,
    stamp: Callable[[Any], datetime | None] | None = None,
    deepest: int | None = None,
    deep_docs: str | None = None,
) -> ApiAnswer:
    """A page of `items` (in listing order, each at `position`) after or before a cursor, or by page number
    (refused from `deepest` items on); the Link header carries cursors."""
    asked = page_request(request)
    if isinstance(asked, ApiAnswer):
        return asked
    per_page = asked.per_page
    keys = [position(x) for x in items]
    # In listing order a later item has a larger key when ascending, a smaller one when descending.
    order = [(-a, -b) if descending else (a, b) for a, b in keys]
    cursor = asked.after or asked.before
    if cursor is not None:
        at = decode_cursor(cursor)
        if at is None:
            field = "after" if asked.after else "before"
            return ApiAnswer(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": resource, "field": field, "code": "invalid", "value": cursor}],
                    "documentation_url": deep_docs or "https://docs.github.com/rest",
                    "status": "422",
                },
            )
        pivot = (-at[0], -at[1]) if descending else at
        if asked.after:
            start = bisect.bisect_right(order, pivot)
        else:
            start = max(0, bisect.bisect_left(order, pivot) - per_page)
            end = bisect.bisect_left(order, pivot)
            return _cursor_page(request, items, keys, start, end, asked, render, stamp, repo)
    else:
        if deepest is not None and asked.page * per_page >= deepest:
            refused = error(422, DEEP_PAGE_MESSAGE)
            if deep_docs:
                refused.body["documentation_url"] = deep_docs
            return refused
        start = (asked.page - 1) * per_page
    return _cursor_page(request, items, keys, start, start + per_page, asked, render, stamp, repo)


def _cursor_page(
    request: Request,
    items: Sequence[Any],
    keys: list[tuple[int, int]],
    start: int,
    end: int,
    asked: PageRequest,
    render: Callable[[Any], Any],
    stamp: Callable[[Any], datetime | None] | None,
    repo: Repository,
) -> ApiAnswer:
    chunk = items[start:end] if start < len(items) else []
    base = listing_url(request, repo)
    params = {
        k: v for k, v in request.query_params.items() if k not in ("page", "per_page", "after", "before")
    }
    page = asked.page
    next_page: int | None = page + 1
    prev_page: int | None = page - 1
    if prev_page == 0 and start > 0:
        # Reached by cursor without a page number: GitHub's links then carry none either.
        next_page = prev_page = None
    links = []
    if chunk and end < len(items):
        query = {**params, "per_page": asked.per_page, "after": encode_cursor(keys[end - 1])}
        if next_page is not None:
            query["page"] = next_page
        links.append(f'<{base}?{urlencode(query)}>; rel="next"')
    if chunk and start > 0:
        query = {**params, "per_page": asked.per_page}
        if prev_page is not None:
            query["page"] = prev_page
        query["before"] = encode_cursor(keys[start])
        links.append(f'<{base}?{urlencode(query)}>; rel="prev"')
    return page_answer(chunk, render, stamp, links)


# -- filters and stamps -----------------------------------------------------------------------------------


def since_filter(request: Request, items: list[Any], keys: list[Any]) -> list[Any] | ApiAnswer:
    """The items (sorted by `keys`, their update times) updated at or after `since`."""
    since = request.query_params.get("since")
    if not since:
        return items
    when = time_parameter(since, "since")
    if isinstance(when, ApiAnswer):
        return when
    return items[bisect.bisect_left(keys, when) :]


def time_parameter(value: str, name: str) -> datetime | ApiAnswer:
    try:
        when = parse_time(value)
    except ValueError:
        when = None
    if when is None:
        return error(422, f"Invalid value for {name}: {value!r} is not an ISO 8601 timestamp.")
    return when


def http_date(when: datetime) -> str:
    """RFC 1123, as GitHub's Last-Modified: `Tue, 07 May 2024 12:00:00 GMT`."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def last_modified(answer: ApiAnswer, when: datetime | None) -> ApiAnswer:
    if when is not None and answer.status == 200:
        answer.headers["last-modified"] = http_date(when)
    return answer


def query_of(params: Mapping[str, str]) -> str:
    return urlencode(list(params.items()))
