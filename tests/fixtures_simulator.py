"""Fixtures that start the GitHub simulator (filled in with the simulator)."""
