"""One writer for a receiver's deliveries: requests hand their delivery over and wait; the writer applies
whatever has queued up meanwhile in one transaction. One commit for many deliveries is what lets one
receiver take hundreds a second on SQLite, and one writer never contends with itself for the write lock."""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

from ghcapture.jobs.webhooks.apply import Applied, Applier
from ghcapture.jobs.webhooks.deliveries import Delivery

log = logging.getLogger("ghcapture.webhook")
MAX_BATCH = 200

_Item = tuple[Delivery, Any, dict[str, Any], "Future[Applied]"]


class DeliveryWriter:
    """Applies submitted deliveries on a thread of its own, in batches, in the order they came."""

    def __init__(self, applier: Applier, *, max_batch: int = MAX_BATCH) -> None:
        self.applier, self.max_batch = applier, max_batch
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, delivery: Delivery, event: Any, payload: dict[str, Any]) -> Future[Applied]:
        future: Future[Applied] = Future()
        self._queue.put((delivery, event, payload, future))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ghcapture-webhook-writer", daemon=True
                )
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        # A delivery whose sender stopped waiting (answered 503 at the time limit) is left for GitHub to
        # send again; the others are now running and can no longer be cancelled.
        batch = [item for item in batch if item[3].set_running_or_notify_cancel()]
        if not batch:
            return
        try:
            results = self.applier.apply_many([(d, e, p) for d, e, p, _f in batch])
        except Exception as exc:  # the commit itself failed: every delivery of the batch is answered so
            for *_rest, future in batch:
                future.set_exception(exc)
            return
        for (*_rest, future), result in zip(batch, results, strict=True):
            if isinstance(result, Applied):
                future.set_result(result)
            else:
                future.set_exception(result)
