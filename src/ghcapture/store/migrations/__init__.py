"""Alembic migrations of the ghcapture schema, run by `ghcapture.store.database.upgrade`."""
