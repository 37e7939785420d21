"""A batch from start to end: list the documents, prepare ``--out``, run them on Ray or a local pool, write the
run's summary."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textlens.batch.inputs import is_url, list_inputs
from textlens.batch.work import BatchOptions, Summary, run_id
from textlens.errors import ConfigError
from textlens.io.atomic import remove_stale_temporaries


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def prepare_output(out: str) -> None:
    """Create ``out`` and remove the temporaries a killed run left in it (never those of a run still going)."""
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    root.mkdir(parents=True, exist_ok=True)
    folders = [root / "shards", root / "runs"]
    documents = root / "documents"
    if documents.is_dir():
        folders += [p for p in documents.iterdir() if p.is_dir()]
    for folder in folders:
        if folder.is_dir():
            remove_stale_temporaries(folder)


def run_batch(
    inputs: Sequence[str],
    options: BatchOptions,
    workers: int | None = None,
    engine: str = "auto",
    address: str | None = None,
    advance: Callable[[dict[str, Any]], None] | None = None,
    on_listed: Callable[[int], None] | None = None,
) -> Summary:
    """Read every document of ``inputs`` into ``options.out``; ``engine`` is ``ray``, ``local`` (a process pool)
    or ``auto`` (Ray when it is installed). ``advance`` sees each record, ``on_listed`` the number of documents."""
    if engine == "auto":
        engine = "ray" if ray_installed() else "local"
    if engine == "ray" and not ray_installed():
        raise ConfigError("Ray is not installed: pip install 'textlens[batch]' (or run without --ray)")
    # Absolute paths: Ray's workers, here or on other nodes, do not share the command's working folder.
    sources = [s if is_url(s) else os.path.abspath(s) for s in list_inputs(inputs)]
    if not sources:
        raise ConfigError("no documents to read")
    options = dataclasses.replace(options, out=os.path.abspath(options.out))
    prepare_output(options.out)
    if on_listed is not None:
        on_listed(len(sources))
    summary = Summary(run=run_id(), engine=engine, workers=workers or 0)
    started = time.perf_counter()
    step = advance or (lambda row: None)
    try:
        if engine == "ray":
            from textlens.batch.ray_engine import run_ray

            summary.workers = run_ray(sources, options, workers, summary, step, address)
        else:
            from textlens.batch.local import run_local

            summary.workers = workers or os.cpu_count() or 1
            run_local(sources, options, summary.workers, summary, step)
    finally:
        summary.seconds = time.perf_counter() - started
        summary.write(options.out)
    return summary
