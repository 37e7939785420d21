"""The batch as a Ray Data pipeline: list → read bytes and hash (skipping what is done) → OCR in an actor pool
(one model load per actor, one CPU each) → write shards and documents → the driver counts the results.

Reading and writing are I/O and ask Ray for no CPU, so the actors may take every core. On a cluster every node
must see the inputs (a shared folder, or URLs fsspec reads) and ``--out`` (a shared folder): docs/scaling.md.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from textlens.batch.work import COLUMNS, BatchOptions, Reader, Summary, load, write_results

#: Blocks of the listing per actor (at least): small blocks share the work evenly among the actors.
BLOCKS_PER_ACTOR = 8
#: Documents per block of a long listing (so millions of paths make thousands of blocks, not millions).
LIST_BLOCK = 64


def _rows(batch: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    names = list(batch)
    return [{name: _plain(batch[name][i]) for name in names} for i in range(len(batch[names[0]]))]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _columns(rows: list[dict[str, Any]], names: Sequence[str]) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for name in names:
        values = [r[name] for r in rows]
        columns[name] = np.array(values, dtype=object if name not in ("pages", "seconds") else None)
    return columns


def load_batch(batch: dict[str, np.ndarray], out: str) -> dict[str, np.ndarray]:
    """Stage 1: each source's bytes and hash; documents done before carry no bytes."""
    rows = []
    for source in batch["source"]:
        row, data = load(str(source), out)
        rows.append({**row, "data": data or b""})
    return _columns(rows, (*COLUMNS, "data"))


class OcrActor:
    """Stage 2: one OCR engine per actor, loaded when the actor starts."""

    def __init__(self, options: BatchOptions) -> None:
        self.reader = Reader(options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = []
        for row in _rows(batch):
            data = row.pop("data")
            rows.append(self.reader.read(row, data or None))
        return _columns(rows, COLUMNS)


def write_batch(batch: dict[str, np.ndarray], out: str, run: str) -> dict[str, np.ndarray]:
    """Stage 3: a shard of the documents read, then each document's JSON; the records without the documents."""
    return _columns(write_results(_rows(batch), out, run), COLUMNS)


def connect(address: str | None, workers: int | None) -> bool:
    """Join the Ray cluster at ``address`` (``auto``: the one running here or named by RAY_ADDRESS), or start a
    local one of ``workers`` CPUs when ``address`` is None or ``local``; True when this call started Ray."""
    import ray

    if ray.is_initialized():
        return False
    local = address in (None, "local")
    ray.init(
        address=None if local else address,
        num_cpus=workers if local else None,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
        configure_logging=False,
        # Ray runs its workers at niceness 15 by default: beside any other busy program on this machine the OCR
        # actors then starve (5× slower measured here); a local instance is this batch's own, so they run at 0.
        _system_config={"worker_niceness": 0} if local else None,
    )
    return True


def run_ray(
    sources: Sequence[str],
    options: BatchOptions,
    workers: int | None,
    summary: Summary,
    advance: Callable[[dict[str, Any]], None],
    address: str | None = None,
) -> int:
    """Run the pipeline over ``sources`` with ``workers`` OCR actors (default: one per CPU of the cluster); returns
    the actor count."""
    import ray
    import ray.data

    clock = time.perf_counter()
    started = connect(address, workers)
    summary.startup_seconds = time.perf_counter() - clock
    try:
        actors = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the command draws its own
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        one_task = ray.data.TaskPoolStrategy(size=1)
        blocks = min(len(sources), max(actors * BLOCKS_PER_ACTOR, -(-len(sources) // LIST_BLOCK)))
        listing = ray.data.from_items([{"source": s} for s in sources], override_num_blocks=blocks)
        # No CPU asked, so the actors get every core; one task at a time, so Ray starts no crowd of worker processes.
        loaded = listing.map_batches(
            load_batch, fn_kwargs={"out": options.out}, batch_size=None, num_cpus=0, compute=one_task
        )
        read = loaded.map_batches(
            OcrActor,
            fn_constructor_kwargs={"options": options},
            compute=ray.data.ActorPoolStrategy(size=actors),
            batch_size=1,
            num_cpus=1,
        )
        written = read.map_batches(
            write_batch,
            fn_kwargs={"out": options.out, "run": summary.run},
            batch_size=options.shard_size,
            num_cpus=0,
            compute=one_task,
        )
        with warnings.catch_warnings():  # Ray's hint that a short listing cannot keep every actor busy
            warnings.filterwarnings("ignore", message=".*fully utilize", category=UserWarning)
            for row in written.iter_rows():
                plain = {k: _plain(v) for k, v in row.items()}
                advance(plain)
                summary.add([plain])
        return actors
    finally:
        if started:
            ray.shutdown()
