"""GitHub's published descriptions of its APIs, fetched from the npm registry once and cached.

- `@octokit/graphql-schema` carries GitHub's public GraphQL schema (`schema.graphql`);
- `@octokit/openapi` carries GitHub's REST OpenAPI description (`generated/api.github.com.json`).

The cache lives in `$GHCAPTURE_CONFORMANCE_CACHE`, else `~/.cache/ghcapture/conformance`. Without npm or
the registry, and with nothing cached, the tests that need these are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, build_schema

GRAPHQL_SCHEMA_PACKAGE = "@octokit/graphql-schema"
GRAPHQL_SCHEMA_VERSION = "15.26.1"
OPENAPI_PACKAGE = "@octokit/openapi"
OPENAPI_VERSION = "23.0.2"
NPM_TIMEOUT_SECONDS = 300


def cache_dir() -> Path:
    configured = os.environ.get("GHCAPTURE_CONFORMANCE_CACHE")
    return (
        Path(configured).expanduser() if configured else Path.home() / ".cache" / "ghcapture" / "conformance"
    )


def npm_package_file(package: str, version: str, member: str) -> Path:
    """One file of an npm package, cached, else fetched with `npm pack`; skips the test if neither works."""
    target = cache_dir() / f"{package.strip('@').replace('/', '__')}-{version}" / member
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed and {package}@{version} is not cached in {target.parent}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        try:
            packed = subprocess.run(
                [npm, "pack", f"{package}@{version}", "--pack-destination", scratch, "--silent"],
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(
                f"npm pack {package}@{version} took over {NPM_TIMEOUT_SECONDS} s (registry unreachable?)"
            )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if packed.returncode != 0 or not tarballs:
            reason = (packed.stderr.strip().splitlines() or ["no tarball"])[-1]
            pytest.skip(f"npm pack {package}@{version} failed (registry unreachable?): {reason}")
        partial = Path(scratch) / "extracted"
        with tarfile.open(tarballs[0]) as archive:
            source = archive.extractfile(f"package/{member}")
            if source is None:
                raise FileNotFoundError(f"{package}@{version} has no file {member}")
            with source, partial.open("wb") as sink:
                shutil.copyfileobj(source, sink)
        # Renamed into place whole, so a reader never sees half a file.
        partial.replace(target)
    return target


@pytest.fixture(scope="session")
def github_graphql_schema() -> GraphQLSchema:
    """GitHub's public GraphQL schema."""
    sdl = npm_package_file(GRAPHQL_SCHEMA_PACKAGE, GRAPHQL_SCHEMA_VERSION, "schema.graphql").read_text()
    # The published SDL defines a few fields twice (EnterpriseOwnerInfo), which SDL validation rejects.
    return build_schema(sdl, assume_valid_sdl=True, no_location=True)


@pytest.fixture(scope="session")
def github_openapi() -> dict[str, Any]:
    """GitHub's REST OpenAPI description for api.github.com."""
    path = npm_package_file(OPENAPI_PACKAGE, OPENAPI_VERSION, "generated/api.github.com.json")
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document
