"""Shared fixtures live in the fixtures_* modules beside this file."""

pytest_plugins = ["fixtures_postgres", "fixtures_simulator"]

