from __future__ import annotations

import threading

from sqlalchemy import inspect

from ghcapture.store.database import current_revision, head_revision, open_database
from ghcapture.store.tables import metadata


def test_threads_opening_a_fresh_database_at_once_all_succeed(database_url: str) -> None:
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            barrier.wait()
            engine = open_database(database_url)
            engine.dispose()
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = open_database(database_url, migrate=False)
    try:
        assert current_revision(engine) == head_revision()
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
