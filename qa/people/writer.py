"""One thread per process that runs the people database's writes handed to it, in order.

A saved answer's writes run here, beside the answering instead of after it (see
``ConversationStore.begin_turn``): a request waits for none of them unless it needs a result
(the turn's number) that is not ready yet, and those jobs go first. ``settle()`` waits for
every write handed over before it that nobody waits for (write-behind), so a read in this
process sees this process's writes (read-your-writes).

Jobs run one after another: a failed job's future holds the error (a write nobody waits for
is logged), and the thread goes on. The thread starts with the first job, and
``close()`` (and, failing that, interpreter exit) runs what is queued before it stops.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

log = logging.getLogger(__name__)
R = TypeVar("R")
# Queue order: what a request waits for (a turn's number), then writes nobody waits for, then
# the stop that close() queues after both.
_AWAITED, _BEHIND, _STOP = 0, 1, 2


class Writer:
    """A queue of write jobs run by one background thread: a job somebody waits for first,
    then the writes nobody waits for, each kind in the order submitted."""

    def __init__(self, name: str = "citeqa-people-writer") -> None:
        self._name = name
        self._jobs: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._lock = threading.Condition()
        self._submitted = 0
        self._behind: set[int] = set()  # the numbers of the write-behind jobs not run yet
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, job: Callable[[], R], behind: str | None = None) -> Future[R]:
        """Queue ``job``; its future holds its result or error. A write nobody waits for
        (write-behind) is named by ``behind``: it runs after the jobs somebody waits for, and
        its failure is logged under that name."""
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the people database's writer is closed")
            self._submitted += 1
            if behind:
                self._behind.add(self._submitted)
            self._jobs.put(
                (_BEHIND if behind else _AWAITED, self._submitted, (job, future, behind))
            )
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
                atexit.register(_close_at_exit, weakref.ref(self))
        return future

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until every write-behind job submitted before this call has run; False on
        timeout. (A job somebody waits for is awaited by them: a read need not wait for a
        turn being reserved while its question is answered.)"""
        with self._lock:
            target = self._submitted
            if self._thread is threading.current_thread():
                return True  # a job cannot wait for the queue it is run from
            return self._lock.wait_for(
                lambda: not self._behind or min(self._behind) > target, timeout
            )

    def close(self) -> None:
        """Run what is queued, then stop the thread (later submits raise)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._jobs.put((_STOP, 0, None))
            thread.join()

    def _run(self) -> None:
        while True:
            kind, number, item = self._jobs.get()
            if kind == _STOP:
                return
            job, future, behind = item
            try:
                future.set_result(job())
            except Exception as error:  # kept in the future for whoever waits for it
                future.set_exception(error)
                if behind is not None:
                    log.error("people database: %s failed: %s", behind, error, exc_info=error)
            with self._lock:
                self._behind.discard(number)
                self._lock.notify_all()


def _close_at_exit(ref: weakref.ReferenceType[Writer]) -> None:
    writer = ref()
    if writer is not None:
        writer.close()
