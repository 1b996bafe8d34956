"""Conformance with GitHub's published API descriptions (fetched from npm, cached)."""
