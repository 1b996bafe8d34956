"""The dataset format: `{"repositories": [{"owner", "name", "pull_requests": [PR]}]}`, each PR a GitHub REST
pull-request object with extra lists `reviews`, `review_comments`, `issue_comments`, `files`, `commits`.

Loading keeps each recorded object as `raw` and derives what it lacks (node ids, counts, types). Two entries
that are the same repository under an old and a new name (same id) become one repository, reachable by both.
"""

from __future__ import annotations

import base64
import json
import math
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from ghcapture.errors import InputError
from ghcapture.simulator import rest_shapes
from ghcapture.simulator.model import (
    GHOST,
    ChangedFile,
    Commit,
    IssueComment,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    User,
    legacy_node_id,
    parse_time,
    required_time,
)
from ghcapture.simulator.world import World

# -- validation ------------------------------------------------------------------------------------
# A dataset is checked whole before anything is built from it: a wrong value must be reported where it
# stands in the file, not surface later as a traceback from the store or the GraphQL layer.

MAX_BYTES = 512 * 2**20  # parsed JSON takes several times its size in memory
MAX_DEPTH = 64  # GitHub's payloads nest about ten deep; far deeper is not a recording
INT64_MAX = 2**63 - 1  # GitHub's database ids (and the store's BIGINT columns)
INT32_MAX = 2**31 - 1  # GraphQL's Int: numbers, line numbers, counts
PERSON_TYPES = frozenset({"User", "Bot", "Organization", "Mannequin"})
PR_STATES = frozenset({"open", "closed"})
REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"})
FILE_STATUSES = frozenset({"added", "removed", "modified", "renamed", "copied", "changed", "unchanged"})

_Path = tuple[str | int, ...]
_SHOWN_DEPTH = 8  # a nesting problem is named by where it starts, not by 64 levels of [0]


class _Invalid(Exception):
    def __init__(self, path: _Path, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


def _where(path: _Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += part if part == "..." or not text else f".{part}"
    return text


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int) and len(str(abs(value))) > 20:
        return f"a {len(str(abs(value)))}-digit number"
    text = json.dumps(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(path: _Path, expected: str, value: Any) -> NoReturn:
    raise _Invalid(path, f"expected {expected}, got {_shown(value)}")


def _check_values(data: Any) -> None:
    """Every value of the document: bounded nesting, finite numbers, integers within 64 bits."""
    stack: list[tuple[Any, _Path]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict | list):
            if len(path) >= MAX_DEPTH:
                raise _Invalid((*path[:_SHOWN_DEPTH], "..."), f"nested deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            # Reversed, so that the first problem in the file is the one reported.
            stack.extend((v, (*path, k)) for k, v in reversed(list(items)))
        elif isinstance(value, float) and not math.isfinite(value):
            _fail(path, "a finite number", value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
            _fail(path, "a number within 64 bits", value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Invalid(
                    path, "expected Unicode text, got an unpaired surrogate (\\ud800 to \\udfff)"
                ) from None


def _deep_path(text: str) -> _Path:
    """Where nesting first passes MAX_DEPTH, read from the text itself (for documents too deep to parse)."""
    stack: list[list[Any]] = []  # [index] for a list; [key, expecting a key] for an object
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{},]', text):
        token = match.group()
        if token in "[{":
            if len(stack) >= MAX_DEPTH:
                return (*(frame[0] for frame in stack[:_SHOWN_DEPTH]), "...")
            stack.append([0] if token == "[" else ["", True])
        elif token in "]}":
            if stack:
                stack.pop()
        elif token == ",":
            if stack and isinstance(stack[-1][0], int):
                stack[-1][0] += 1
            elif stack:
                stack[-1][1] = True
        elif stack and len(stack[-1]) == 2 and stack[-1][1]:
            stack[-1][0], stack[-1][1] = json.loads(token), False
    return tuple(frame[0] for frame in stack)


def _field(obj: dict[str, Any], key: str, path: _Path, required: bool) -> tuple[bool, Any, _Path]:
    here = (*path, key)
    if key not in obj:
        if required:
            raise _Invalid(here, "missing")
        return False, None, here
    return True, obj[key], here


def _object(value: Any, path: _Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, "an object", value)
    return value


def _integer(
    obj: dict[str, Any],
    key: str,
    path: _Path,
    *,
    required: bool = False,
    nullable: bool = False,
    least: int = 1,
    most: int = INT64_MAX,
) -> None:
    present, value, here = _field(obj, key, path, required)
    if not present or (value is None and nullable):
        return
    kind = "a positive integer" if least == 1 else "a non-negative integer"
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        _fail(here, kind, value)
    if value > most:
        _fail(here, f"{kind} within {'64' if most == INT64_MAX else '32'} bits", value)


def _text(
    obj: dict[str, Any],
    key: str,
    path: _Path,
    *,
    required: bool = False,
    nullable: bool = True,
    choices: frozenset[str] | None = None,
) -> None:
    present, value, here = _field(obj, key, path, required)
    if not present or (value is None and nullable):
        return
    if not isinstance(value, str):
        _fail(here, "a string", value)
    if choices is not None and value not in choices:
        _fail(here, "one of " + ", ".join(sorted(choices)), value)


def _name(obj: dict[str, Any], key: str, path: _Path) -> None:
    _text(obj, key, path, required=True, nullable=False)
    value = obj[key]
    if not value or "/" in value or value != value.strip() or any(c.isspace() for c in value):
        _fail((*path, key), "a name without '/' or spaces", value)


def _time(obj: dict[str, Any], key: str, path: _Path, *, required: bool = False) -> None:
    present, value, here = _field(obj, key, path, required)
    if not present or (value is None and not required):
        return
    if isinstance(value, str):
        try:
            parse_time(value)
            return
        except ValueError:
            pass
    _fail(here, "an ISO 8601 time", value)


def _flag(obj: dict[str, Any], key: str, path: _Path) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        _fail((*path, key), "true or false", value)


def _list(obj: dict[str, Any], key: str, path: _Path, *, or_count: bool = False) -> list[Any]:
    present, value, here = _field(obj, key, path, False)
    if not present:
        return []
    if or_count and isinstance(value, int) and not isinstance(value, bool):
        _integer(obj, key, path, least=0, most=INT32_MAX)  # REST's count under the same name
        return []
    if not isinstance(value, list):
        _fail(here, "a list", value)
    return value


def _person(obj: dict[str, Any], key: str, path: _Path) -> None:
    value = obj.get(key)
    if value is None:
        return
    here = (*path, key)
    person = _object(value, here)
    if person.get("id") is None:
        return  # GitHub's deleted user
    _integer(person, "id", here)
    _text(person, "login", here, required=True, nullable=False)
    if not person["login"]:
        _fail((*here, "login"), "a login", "")
    _text(person, "type", here, choices=PERSON_TYPES)
    for field_name in ("node_id", "name"):
        _text(person, field_name, here)
    _flag(person, "site_admin", here)


def _branch(obj: dict[str, Any], key: str, path: _Path) -> None:
    value = obj.get(key)
    if value is None:
        return
    here = (*path, key)
    branch = _object(value, here)
    for field_name in ("ref", "sha"):
        _text(branch, field_name, here, nullable=False)
    _text(branch, "label", here)
    _person(branch, "user", here)
    repo = branch.get("repo")
    if repo is not None:
        where = (*here, "repo")
        _object(repo, where)
        _integer(repo, "id", where, nullable=True)
        for field_name in ("node_id", "name", "full_name"):
            _text(repo, field_name, where)
        _text(repo, "default_branch", where, nullable=False)
        _person(repo, "owner", where)


def _ids(obj: dict[str, Any], path: _Path) -> None:
    _integer(obj, "id", path, required=True)
    _text(obj, "node_id", path)


def _check_pull_request(pr: dict[str, Any], path: _Path) -> None:
    _ids(pr, path)
    _integer(pr, "number", path, required=True, most=INT32_MAX)
    for key in ("title", "body", "merge_commit_sha"):
        _text(pr, key, path)
    _text(pr, "state", path, nullable=False, choices=PR_STATES)
    _flag(pr, "draft", path)
    _person(pr, "user", path)
    _person(pr, "merged_by", path)
    _branch(pr, "head", path)
    _branch(pr, "base", path)
    _time(pr, "created_at", path, required=True)
    for key in ("updated_at", "closed_at", "merged_at"):
        _time(pr, key, path)
    for key in ("additions", "deletions", "changed_files"):
        _integer(pr, key, path, least=0, most=INT32_MAX)
    for i, value in enumerate(_list(pr, "reviews", path)):
        here = (*path, "reviews", i)
        review = _object(value, here)
        _ids(review, here)
        _person(review, "user", here)
        _text(review, "state", here, nullable=False, choices=REVIEW_STATES)
        _text(review, "body", here)
        _text(review, "commit_id", here)
        _time(review, "submitted_at", here)
    for i, value in enumerate(_list(pr, "review_comments", path, or_count=True)):
        here = (*path, "review_comments", i)
        comment = _object(value, here)
        _ids(comment, here)
        _person(comment, "user", here)
        _text(comment, "body", here)
        for key in ("path", "diff_hunk", "commit_id"):
            _text(comment, key, here, nullable=False)
        for key in ("line", "original_line", "position", "original_position"):
            _integer(comment, key, here, nullable=True, least=0, most=INT32_MAX)
        for key in ("in_reply_to_id", "pull_request_review_id"):
            _integer(comment, key, here, nullable=True)
        _time(comment, "created_at", here, required=True)
        _time(comment, "updated_at", here)
    for i, value in enumerate(_list(pr, "issue_comments", path)):
        here = (*path, "issue_comments", i)
        comment = _object(value, here)
        _ids(comment, here)
        _person(comment, "user", here)
        _text(comment, "body", here)
        _time(comment, "created_at", here, required=True)
        _time(comment, "updated_at", here)
    for i, value in enumerate(_list(pr, "files", path)):
        here = (*path, "files", i)
        changed = _object(value, here)
        _text(changed, "filename", here, required=True, nullable=False)
        if not changed["filename"]:
            _fail((*here, "filename"), "a file name", "")
        _text(changed, "sha", here)
        _text(changed, "previous_filename", here)
        _text(changed, "status", here, nullable=False, choices=FILE_STATUSES)
        for key in ("additions", "deletions"):
            _integer(changed, key, here, least=0, most=INT32_MAX)
    for i, value in enumerate(_list(pr, "commits", path, or_count=True)):
        here = (*path, "commits", i)
        commit = _object(value, here)
        _text(commit, "sha", here, required=True, nullable=False)
        _text(commit, "node_id", here)
        _person(commit, "author", here)
        detail = commit.get("commit")
        if detail is not None:
            where = (*here, "commit")
            _object(detail, where)
            _text(detail, "message", where, nullable=False)
            for key in ("author", "committer"):
                who = detail.get(key)
                if who is not None:
                    _object(who, (*where, key))
                    _text(who, "name", (*where, key), nullable=False)
                    _text(who, "email", (*where, key), nullable=False)
                    _time(who, "date", (*where, key))


def validate_dataset(data: Any) -> None:
    """Raises _Invalid at the first value the loader could not take as GitHub would have sent it."""
    _check_values(data)
    if not isinstance(data, dict):
        raise _Invalid((), f"expected an object with a 'repositories' list, got {_shown(data)}")
    if "repositories" not in data:
        raise _Invalid(("repositories",), "missing (a dataset is an object with a 'repositories' list)")
    for r, value in enumerate(_list(data, "repositories", ())):
        here: _Path = ("repositories", r)
        entry = _object(value, here)
        _name(entry, "owner", here)
        _name(entry, "name", here)
        _integer(entry, "id", here)
        for p, pr in enumerate(_list(entry, "pull_requests", here)):
            _check_pull_request(_object(pr, (*here, "pull_requests", p)), (*here, "pull_requests", p))


def read_dataset(path: str | Path) -> dict[str, Any]:
    """The dataset in the file at `path`, checked whole; InputError names the file and the first problem."""
    try:
        with Path(path).open("rb") as file:
            content = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"dataset {path}: {exc.strerror}") from None
    if len(content) > MAX_BYTES:
        raise InputError(f"dataset {path}: larger than {MAX_BYTES // 2**20} MiB")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"dataset {path}: not UTF-8 (byte 0x{content[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"dataset {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputError(
            f"dataset {path}: {_where(_deep_path(text))}: nested deeper than {MAX_DEPTH} levels"
        ) from None
    try:
        validate_dataset(data)
    except _Invalid as exc:
        where = _where(exc.path)
        raise InputError(f"dataset {path}: {where + ': ' if where else ''}{exc.problem}") from None
    return data  # type: ignore[no-any-return]


class _Loader:
    def __init__(self, world: World) -> None:
        self.world = world

    def person(self, obj: dict[str, Any] | None) -> User | None:
        if not obj or obj.get("id") is None:
            return None
        known = self.world.users_by_id.get(obj["id"])
        if known is not None:
            return known
        kind = obj.get("type") or ("Bot" if obj["login"].endswith("[bot]") else "User")
        node_id = obj.get("node_id") or legacy_node_id(kind, obj["id"])
        raw = dict(obj)
        raw.pop("avatar_url", None)  # old gravatar addresses: derive today's
        return self.world.add_user(
            User(
                id=obj["id"],
                login=obj["login"],
                node_id=node_id,
                type=kind,
                name=obj.get("name"),
                site_admin=bool(obj.get("site_admin")),
                raw=raw,
            )
        )

    def pull_request(self, p: dict[str, Any]) -> PullRequest:
        head = p.get("head") or {}
        base = p.get("base") or {}
        author = self.person(p.get("user")) or self.world.users_by_id[10137]
        raw = {
            k: v
            for k, v in p.items()
            if k not in ("reviews", "review_comments", "issue_comments", "files", "commits", "review_threads")
        }
        pr = PullRequest(
            id=p["id"],
            node_id=p.get("node_id") or legacy_node_id("PullRequest", p["id"]),
            number=p["number"],
            title=p.get("title") or "",
            body=p.get("body"),
            state=p.get("state", "open"),
            draft=bool(p.get("draft")),
            user=author,
            base_ref=base.get("ref", "main"),
            head_ref=head.get("ref", ""),
            head_sha=head.get("sha", ""),
            base_sha=base.get("sha", ""),
            created_at=required_time(p["created_at"]),
            updated_at=required_time(p.get("updated_at") or p["created_at"]),
            closed_at=parse_time(p.get("closed_at")),
            merged_at=parse_time(p.get("merged_at")),
            merged_by=self.person(p.get("merged_by")),
            merge_commit_sha=p.get("merge_commit_sha"),
            head_repo_deleted="repo" in head and head["repo"] is None,
            raw=raw,
        )
        for r in _listed(p, "reviews"):
            pr.reviews.append(
                Review(
                    id=r["id"],
                    node_id=r.get("node_id") or legacy_node_id("PullRequestReview", r["id"]),
                    user=self.person(r.get("user")) or self.world.users_by_id[10137],
                    state=r.get("state", "COMMENTED"),
                    body=r.get("body") or "",
                    submitted_at=parse_time(r.get("submitted_at")) or pr.created_at,
                    commit_id=r.get("commit_id") or pr.head_sha,
                    raw=r,
                )
            )
        for c in _listed(p, "review_comments"):
            pr.review_comments.append(
                ReviewComment(
                    id=c["id"],
                    node_id=c.get("node_id") or legacy_node_id("PullRequestReviewComment", c["id"]),
                    user=self.person(c.get("user")) or self.world.users_by_id[10137],
                    body=c.get("body") or "",
                    path=c.get("path", ""),
                    line=c.get("line", c.get("position")),
                    original_line=c.get("original_line", c.get("original_position")),
                    diff_hunk=c.get("diff_hunk", ""),
                    in_reply_to_id=c.get("in_reply_to_id"),
                    review_id=c.get("pull_request_review_id"),
                    commit_id=c.get("commit_id", ""),
                    created_at=required_time(c["created_at"]),
                    updated_at=required_time(c.get("updated_at") or c["created_at"]),
                    raw=c,
                    original_commit_id=c.get("original_commit_id"),
                )
            )
        self.resolve_threads(pr, _listed(p, "review_threads"))
        for c in _listed(p, "issue_comments"):
            pr.issue_comments.append(
                IssueComment(
                    id=c["id"],
                    node_id=c.get("node_id") or legacy_node_id("IssueComment", c["id"]),
                    user=self.person(c.get("user")) or self.world.users_by_id[10137],
                    body=c.get("body") or "",
                    created_at=required_time(c["created_at"]),
                    updated_at=required_time(c.get("updated_at") or c["created_at"]),
                    raw=c,
                )
            )
        for f in _listed(p, "files"):
            pr.files.append(
                ChangedFile(
                    sha=f.get("sha") or "",
                    filename=f["filename"],
                    status=f.get("status", "modified"),
                    additions=f.get("additions", 0),
                    deletions=f.get("deletions", 0),
                    previous_filename=f.get("previous_filename"),
                    raw=f,
                    has_patch="patch" in f,
                )
            )
        for c in _listed(p, "commits"):
            detail = c.get("commit") or {}
            who = detail.get("author") or {}
            pr.commits.append(
                Commit(
                    sha=c["sha"],
                    node_id=c.get("node_id") or _legacy_commit_id(base.get("repo"), c["sha"]),
                    message=detail.get("message", ""),
                    author_name=who.get("name", ""),
                    author_email=who.get("email", ""),
                    authored_at=parse_time(who.get("date")) or pr.created_at,
                    committed_at=parse_time((detail.get("committer") or {}).get("date")) or pr.created_at,
                    author=self.person(c.get("author")),
                    raw=c,
                )
            )
        # Counts the list payloads lack are derived from what is held.
        pr.additions = p.get("additions", sum(f.additions for f in pr.files))
        pr.deletions = p.get("deletions", sum(f.deletions for f in pr.files))
        pr.changed_files = p.get("changed_files", len(pr.files))
        pr.commits_count = (
            p.get("commits", len(pr.commits)) if isinstance(p.get("commits"), int) else len(pr.commits)
        )
        return pr

    def resolve_threads(self, pr: PullRequest, threads: list[Any]) -> None:
        """Who resolved each thread, as a dump of the ground truth records it (REST has no threads)."""
        roots = {c.id: c for c in pr.review_comments}
        for thread in threads:
            if not isinstance(thread, dict) or not thread.get("is_resolved") or not thread.get("comments"):
                continue
            root = roots.get(thread["comments"][0])
            if root is not None:
                root.resolved_by = self.person(thread.get("resolved_by")) or GHOST


def _listed(p: dict[str, Any], key: str) -> list[Any]:
    """A PR's recorded list; REST's count under the same name (`commits`, `review_comments`) lists nothing."""
    value = p.get(key)
    return value if isinstance(value, list) else []


def _stable_id(text: str) -> int:
    # crc32, not hash(): ids must not change between processes (hash() is salted per process).
    return zlib.crc32(text.lower().encode()) % 10**8


def _legacy_commit_id(repo: dict[str, Any] | None, sha: str) -> str:
    """GitHub's legacy Commit id, base64 of '06:Commit<repository id>:<sha>'."""
    return base64.b64encode(f"06:Commit{(repo or {}).get('id', 0)}:{sha}".encode()).decode()


def _merge(old: PullRequest, new: PullRequest) -> PullRequest:
    """One PR recorded twice: the newer record's fields, the union of both records' lists."""
    keep, other = (
        (new, old)
        if (new.updated_at, new.raw is not None and "node_id" in new.raw)
        >= (old.updated_at, old.raw is not None and "node_id" in old.raw)
        else (old, new)
    )
    for attr, key in (
        ("reviews", "id"),
        ("review_comments", "id"),
        ("issue_comments", "id"),
        ("files", "filename"),
        ("commits", "sha"),
    ):
        mine = getattr(keep, attr)
        seen = {getattr(x, key) for x in mine}
        mine.extend(x for x in getattr(other, attr) if getattr(x, key) not in seen)
    keep.changed_files = max(keep.changed_files, len(keep.files))
    keep.commits_count = max(keep.commits_count, len(keep.commits))
    return keep


def load_dataset(data: dict[str, Any], world: World) -> list[Repository]:
    """Adds the dataset's repositories to `world`; returns them (merged where two names are one)."""
    loader = _Loader(world)
    by_id: dict[int, tuple[Repository, str]] = {}  # repo id -> (repository, newest activity)
    aliases: dict[str, int] = {}
    for entry in data["repositories"]:
        try:
            owner, name = entry["owner"], entry["name"]
            prs = [loader.pull_request(p) for p in entry.get("pull_requests", [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"dataset: malformed repository entry {entry.get('owner')}/{entry.get('name')} ({exc})"
            ) from None
        base_repo = next(
            (
                (p.raw or {}).get("base", {}).get("repo")
                for p in prs
                if (p.raw or {}).get("base", {}).get("repo")
            ),
            None,
        )
        repo_id = (base_repo or {}).get("id") or _stable_id(f"{owner}/{name}")
        newest = max((p.raw.get("updated_at") or "" for p in prs if p.raw), default="")
        owner_obj = (base_repo or {}).get("owner") or {
            "login": owner,
            "id": _stable_id(owner),
            "type": "User",
        }
        if repo_id in by_id:
            repo, seen_newest = by_id[repo_id]
            if newest > seen_newest:  # the newer recording carries the current name
                aliases[repo.full_name.lower()] = repo_id
                repo.owner = loader.person(owner_obj) or repo.owner
                repo.name = name
                by_id[repo_id] = (repo, newest)
            else:
                aliases[f"{owner}/{name}".lower()] = repo_id
        else:
            repo = Repository(
                id=repo_id,
                node_id=(base_repo or {}).get("node_id") or legacy_node_id("Repository", repo_id),
                owner=loader.person(owner_obj) or loader.person({"login": owner, "id": 1}),  # type: ignore[arg-type]
                name=name,
                default_branch=(base_repo or {}).get("default_branch", "main"),
                raw=base_repo,
            )
            by_id[repo_id] = (repo, newest)
        for pr in prs:
            existing = repo.pull_request(pr.number)
            if existing is None:
                repo.add_pull_request(pr)
            else:
                merged = _merge(existing, pr)
                repo.pull_requests[repo.pull_requests.index(existing)] = merged
                repo.reindex()
    repos = []
    for repo, _newest in by_id.values():
        repo.reindex()
        if repo.pull_requests:
            repo.updated_at = max(p.updated_at for p in repo.pull_requests)
            repo.created_at = min(p.created_at for p in repo.pull_requests)
        world.add_repository(repo)
        repos.append(repo)
    for alias, repo_id in aliases.items():
        world.repositories.setdefault(alias, by_id[repo_id][0])
    return repos


def dump_repository(repo: Repository, api: str) -> dict[str, Any]:
    """Everything held for one repository, in the dataset format (the simulator's ground truth)."""
    return {
        "owner": repo.owner.login,
        "name": repo.name,
        "id": repo.id,
        "pull_requests": [rest_shapes.pull_request_with_lists(pr, repo, api) for pr in repo.pull_requests],
    }


TRUTH_CHUNK = 1 << 16  # characters gathered before a piece of the streamed truth is sent


def stream_truth(repo: Repository, api: str) -> Iterator[str]:
    """`{"repositories": [dump_repository(repo, api)]}` as JSON text, the same characters `json.dumps`
    writes, in pieces: one pull request is serialised at a time, so the memory it takes does not grow
    with the repository. Each pull request is read as it is when its turn comes."""
    head = {"owner": repo.owner.login, "name": repo.name, "id": repo.id, "pull_requests": []}
    empty = json.dumps({"repositories": [head]}, ensure_ascii=False)
    opening, closing = empty[: -len("]}]}")], "]}]}"
    pieces, size, first = [opening], len(opening), True
    for pr in list(repo.pull_requests):  # references only; the list may change while this runs
        text = json.dumps(rest_shapes.pull_request_with_lists(pr, repo, api), ensure_ascii=False)
        pieces.append(text if first else ", " + text)
        size, first = size + len(text) + 2, False
        if size >= TRUTH_CHUNK:
            yield "".join(pieces)
            pieces, size = [], 0
    pieces.append(closing)
    yield "".join(pieces)
