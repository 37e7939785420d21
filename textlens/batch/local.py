"""The batch on this machine without Ray: a pebble process pool (as ``textlens read -j`` uses), one OCR engine
per worker process, the shards and documents written by this process as results arrive."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from typing import Any

from textlens.batch.work import DONE, BatchOptions, Reader, Summary, failure, load, write_results

_READER: Reader | None = None


def _init_worker(options: BatchOptions) -> None:
    """Load the models once per worker; Ctrl-C is the parent's to handle (it stops the pool)."""
    global _READER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", str(options.threads))
    _READER = Reader(options)


def process(source: str, options: BatchOptions) -> dict[str, Any]:
    """Load, hash and (unless done) read one document in a worker."""
    global _READER
    row, data = load(source, options.out)
    if data is None:
        return row
    if _READER is None:
        _READER = Reader(options)
    return _READER.read(row, data)


def run_local(
    sources: Sequence[str],
    options: BatchOptions,
    workers: int,
    summary: Summary,
    advance: Callable[[dict[str, Any]], None],
) -> None:
    """Read ``sources`` in ``workers`` processes; every ``shard_size`` documents read make a shard. ``advance``
    sees each record as it arrives (for the progress); ``summary`` counts them once written."""
    from pebble import ProcessExpired, ProcessPool

    pending: list[dict[str, Any]] = []

    def flush() -> None:
        summary.add(write_results(pending, options.out, summary.run))
        pending.clear()

    context = multiprocessing.get_context("spawn")  # no fork of this process's threads (rich's progress)
    pool = ProcessPool(max_workers=workers, initializer=_init_worker, initargs=(options,), context=context)
    try:
        futures = {pool.schedule(process, args=(source, options)): source for source in sources}
        for future in as_completed(futures):
            source = futures[future]
            try:
                row = future.result()
            except ProcessExpired as exc:  # the worker died (killed, or crashed in native code); it is replaced
                row = failure(source, RuntimeError(f"the worker process reading it died (exit code {exc.exitcode})"))
            except Exception as exc:  # one document's failure must not end the batch
                row = failure(source, exc)
            advance(row)
            if row["status"] != DONE:
                summary.add([row])
                continue
            pending.append(row)
            if len(pending) >= options.shard_size:
                flush()
    except BaseException:
        pool.stop()
        raise
    finally:
        if pending:  # what was read before a stop is kept
            flush()
        pool.close()
        pool.join()
