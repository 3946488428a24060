"""PostgreSQL work overlapped with decoding: a batch's rows go to the database in chunks, on a thread.

While the database inserts and rolls up chunk k, the Lambda's Python thread decodes, encrypts and
formats chunk k+1 for COPY; the writer thread only hands whole buffers to libpq and waits on the
socket (psycopg releases the GIL there), so it rarely competes for the GIL. All chunks share one
transaction, so a batch is still stored entirely or not at all.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import TYPE_CHECKING, Any

import psycopg

from shared.db.events import encode_chunk
from shared.errors import DomainError, StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from psycopg_pool import ConnectionPool

    from shared.db.events import EncodedChunk, EventRow, EventWriter, StoredSummary

CHUNK_ROWS = 2_500
_DONE = None
# The writer thread needs the GIL only briefly, after each socket wait; with the default 5 ms
# switch interval every such wake-up queues behind the decoding thread for up to 5 ms, which
# measured as the writer falling a whole batch behind. 0.5 ms keeps it in step.
GIL_SWITCH_INTERVAL_S = 0.0005


def tune_gil_for_pipelining() -> None:
    """Called once per container by the consumer's handler module (a process-wide setting)."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


class PipelinedBatch:
    def __init__(
        self,
        pool: ConnectionPool[Any],
        writer: EventWriter,
        chunk_rows: int = CHUNK_ROWS,
        before_commit: Callable[[psycopg.Connection[Any], list[StoredSummary]], None] | None = None,
    ) -> None:
        self._pool = pool
        self._before_commit = before_commit
        self._writer = writer
        self._chunk_rows = chunk_rows
        self._buffer: list[EventRow] = []
        self._queue: queue.Queue[EncodedChunk | None] = queue.Queue(maxsize=4)
        self._result: list[StoredSummary] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pg-writer", daemon=True)
        self._thread.start()

    def add(self, rows: Sequence[EventRow]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= self._chunk_rows:
            self._queue.put(encode_chunk(self._buffer))
            self._buffer = []

    def finish(self) -> list[StoredSummary]:
        if self._buffer:
            self._queue.put(encode_chunk(self._buffer))
            self._buffer = []
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            if isinstance(self._error, DomainError):
                raise self._error
            if isinstance(self._error, psycopg.Error):
                raise StoreUnavailable("storing events failed") from self._error
            # A bug: fail the invocation (Lambda retries, bisects, then the DLQ), never report success.
            raise self._error
        return self._result

    def _run(self) -> None:
        done = False
        try:
            with self._pool.connection() as conn:
                batch = self._writer.begin(conn)
                while (chunk := self._queue.get()) is not _DONE:
                    batch.write_encoded(chunk)
                done = True
                self._result = batch.commit(self._before_commit)
        except BaseException as err:  # re-raised on the caller's thread by finish(): never lost
            self._error = err
        finally:
            if not done:
                self._drain()

    def _drain(self) -> None:
        """After a failure midway, keep taking chunks so the producer never blocks on a full queue."""
        while self._queue.get() is not _DONE:
            pass
