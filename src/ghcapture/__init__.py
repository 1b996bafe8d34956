"""ghcapture: keeps a database of GitHub pull-request activity complete and current."""

__version__ = "0.1.0"
