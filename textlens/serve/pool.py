"""Where jobs run: a pool of worker processes (pebble's, as ``textlens read -j`` uses), or threads for tests.

A backend starts, says whether its models are loaded (``ready``), takes a job with a deadline (``submit`` returns
a ``concurrent.futures.Future``) and stops after the jobs it holds are done (``close``). The process pool loads
the models once per worker (its initializer); a job past its deadline ends with ``TimeoutError`` and its worker
is killed and replaced, so a runaway page cannot hold a worker; a worker that dies fails only its own job.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from textlens.serve.worker import Done, Failed, init_worker, run_job


class ProcessBackend:
    """``workers`` processes started with ``spawn`` (no fork of the server's threads), each with its models."""

    grace = 2.0  # seconds the server waits past the deadline for pebble to report it

    def __init__(self, workers: int, threads: int | None = 1, lang: str | None = None, domain: str = "auto") -> None:
        self.workers = workers
        self._args = (threads, lang, domain)
        self._pool: Any = None
        self._loaded: Any = None

    def start(self) -> None:
        from pebble import ProcessPool

        context = multiprocessing.get_context("spawn")
        self._loaded = context.Value("i", 0)
        self._pool = ProcessPool(
            max_workers=self.workers, initializer=init_worker, initargs=(*self._args, self._loaded), context=context
        )
        # pebble starts its workers with the first job: a no-op per worker starts them (and their model loads) now.
        for _ in range(self.workers):
            self._pool.schedule(_noop)

    def ready(self) -> bool:
        return self._loaded is not None and self._loaded.value >= self.workers

    def submit(self, job: Any, timeout: float | None) -> Future:
        return self._pool.schedule(run_job, args=(job,), timeout=timeout)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()  # no new jobs; the ones scheduled finish
            self._pool.join()


def _noop() -> None:
    return None


class ThreadBackend:
    """Jobs run by ``run(job)`` in ``workers`` threads of this process: for tests (a fake reader) and embedding.
    A thread cannot be stopped: past the deadline the client gets 504 while the thread finishes."""

    grace = 0.0

    def __init__(self, run: Callable[[Any], Done | Failed], workers: int = 1) -> None:
        self.workers = workers
        self._run = run
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="textlens-serve")

    def ready(self) -> bool:
        return self._executor is not None

    def submit(self, job: Any, timeout: float | None) -> Future:
        assert self._executor is not None, "start() the backend first"
        return self._executor.submit(self._run, job)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
