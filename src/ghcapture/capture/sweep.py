"""Finding what changed without `updated_at`: a repository-wide REST listing walked in id order, each page
asked with the ETag of its last reading.

GitHub answers an unchanged page 304, which it does not charge; a page that changed (a comment added,
edited or deleted, an author renamed or deleted) comes back whole. A deleted comment moves nothing's
`updated_at`, so it is found here: once every page has been seen, a held comment on no page is gone.
Each page's ETag, first and last id are kept in a checkpoint, so a walk that stops is resumed almost free.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine

from ghcapture.github.errors import Unprocessable
from ghcapture.github.http import GitHubClient
from ghcapture.store.checkpoints import load_checkpoint, save_checkpoint

log = logging.getLogger("ghcapture.capture")

PER_PAGE = 100


@dataclass
class PageMark:
    """What a page held when last read: its ETag, the first and last id on it, how many, whether more."""

    etag: str | None
    first: int
    last: int
    count: int
    more: bool


@dataclass
class SweepResult:
    live: set[int]  # ids on changed pages, and held ids in the ranges of unchanged ones
    pages: int = 0
    not_modified: int = 0


# A changed page's items are stored (with the sweep's checkpoint, in one transaction) by the caller.
TakePage = Callable[[list[dict[str, Any]], Callable[[Any], None]], Awaitable[None]]
HeldBetween = Callable[[int, int], set[int]]


class ListingSweep:
    """One repository-wide listing (`/repos/{o}/{r}/issues/comments` or `/pulls/comments`), by id."""

    def __init__(
        self, client: GitHubClient, engine: Engine, full_name: str, listing: str, *, entity: str
    ) -> None:
        self.client = client
        self.engine = engine
        self.full_name = full_name
        self.listing = listing
        self.entity = entity  # the checkpoint's entity, e.g. "sweep:issue_comments"

    def _marks(self) -> list[PageMark]:
        with self.engine.connect() as conn:
            saved = load_checkpoint(conn, self.full_name, self.entity, "all")
        if saved is None or not saved.cursor:
            return []
        try:
            return [PageMark(**m) for m in json.loads(saved.cursor)]
        except (ValueError, TypeError):
            return []  # an unreadable record costs one full walk, nothing else

    def save_marks(self, conn: Any, marks: list[PageMark]) -> None:
        """Writes the marks on `conn`, inside the transaction that stores the page's rows."""
        save_checkpoint(
            conn,
            self.full_name,
            self.entity,
            "all",
            cursor=json.dumps([asdict(m) for m in marks]),
            watermark=None,
        )

    async def walk(self, take_page: TakePage, held_between: HeldBetween) -> SweepResult | None:
        """Every page, conditionally; None when GitHub refused a page (deep page numbers), so that
        nothing may be concluded about deletions from this walk."""
        marks = self._marks()
        result = SweepResult(live=set())
        index = 0
        while True:
            known = marks[index] if index < len(marks) else None
            try:
                page = await self.client.rest(
                    "GET",
                    f"/repos/{self.full_name}/{self.listing}",
                    params={"per_page": PER_PAGE, "page": index + 1},
                    etag=known.etag if known else None,
                )
            except Unprocessable as exc:
                log.info("%s: %s walk stopped at page %d (%s)", self.full_name, self.listing, index + 1, exc)
                return None
            result.pages += 1
            if page.status == 304 and known is not None:
                result.not_modified += 1
                result.live |= held_between(known.first, known.last)
                # A full last page that did not change may now have a page after it.
                more = known.more or known.count >= PER_PAGE
            else:
                items = page.data or []
                ids = [int(item["id"]) for item in items]
                result.live.update(ids)
                more = page.next_url is not None
                mark = PageMark(page.headers.get("etag"), min(ids), max(ids), len(ids), more) if ids else None
                kept = marks[:index] + ([mark] if mark else [])

                def save(conn: Any, kept: list[PageMark] = kept) -> None:
                    self.save_marks(conn, kept)

                await take_page(items, save)
                # Later pages may have shifted (a deletion moves every later item up): their marks stay,
                # and an ETag that no longer matches is simply read again.
                marks = kept + marks[index + 1 :]
                if not ids:
                    marks = marks[:index]
                    more = False
            index += 1
            if not more:
                if len(marks) > index:
                    marks = marks[:index]
                    with self.engine.begin() as conn:
                        self.save_marks(conn, marks)
                return result
