"""The store: SQL tables, migrations, upserts and checkpoints. It knows SQL, not HTTP."""
