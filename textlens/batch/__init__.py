"""Batch OCR over many documents (``textlens batch``): on a Ray cluster as a Ray Data pipeline, or on a local
process pool (docs/scaling.md).

``inputs.py`` lists the documents (folders, globs, manifests of paths; fsspec URLs where fsspec is installed) and
reads their bytes; ``work.py`` reads one document in a worker (models loaded once per worker) and holds the output
layout (per-document JSON named by content hash, JSONL shards, the run's summary) that makes a rerun skip what is
done; ``local.py`` runs it on a process pool, ``ray_engine.py`` as Ray Data stages (read → OCR in an actor pool →
write). Ray comes with the ``batch`` extra; nothing else in textlens imports this package.
"""

from __future__ import annotations

from textlens.batch.work import BatchOptions, Summary, document_path, run_id

__all__ = ["BatchOptions", "Summary", "document_path", "run_id"]
