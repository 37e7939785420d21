"""One document's reading in a batch worker, and the output layout a rerun resumes from.

``OUT/documents/<h>/<sha256>.json`` is each document's model (docs/document-json.md), named by the SHA-256 of
its bytes (``<h>`` its first two hex digits, so no folder holds millions of files); ``OUT/shards/part-*.jsonl``
hold one line per document read (``source``, ``sha256``, ``pages``, ``document``); ``OUT/runs/<run>.json`` is a
run's summary (counts, and each failure by name). A document whose JSON exists is skipped by a rerun. Every file
is written atomically, a shard before its documents' JSON: a run killed between the two reads those documents
again on the rerun (a shard may then repeat a document; ``sha256`` tells), and never loses one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textlens.batch.inputs import read_input
from textlens.errors import TextlensError
from textlens.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
#: The columns of a record, as every stage passes them on (Ray Data needs the same columns in every batch).
COLUMNS = ("source", "sha256", "status", "pages", "seconds", "error", "message", "document")


@dataclass(frozen=True)
class BatchOptions:
    """What every worker needs: where outputs go and how to read (picklable; sent to each worker once)."""

    out: str
    lang: str | None = None
    domain: str = "auto"
    threads: int = 1
    shard_size: int = 64


def run_id() -> str:
    """A run's name: its UTC start time and a random suffix (two runs started in the same second differ)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def document_path(out: str | os.PathLike[str], sha256: str) -> Path:
    return Path(out) / "documents" / sha256[:2] / f"{sha256}.json"


def record(source: str, status: str, **values: Any) -> dict[str, Any]:
    """A record with every column (the missing ones empty)."""
    row: dict[str, Any] = {"source": source, "sha256": "", "status": status, "pages": 0, "seconds": 0.0,
                           "error": "", "message": "", "document": ""}  # fmt: skip
    row.update(values)
    return row


def failure(source: str, exc: BaseException, sha256: str = "") -> dict[str, Any]:
    """The record of a document that could not be read: the error's class and a message naming the document."""
    if isinstance(exc, TextlensError):
        message = str(exc) if exc.source not in (None, "<bytes>") else f"{source}: {exc.problem}"
    elif isinstance(exc, MemoryError):
        message = f"{source}: ran out of memory reading it"
    else:
        message = f"{source}: {type(exc).__name__}: {exc}"
    return record(source, FAILED, sha256=sha256, error=type(exc).__name__, message=message)


def load(source: str, out: str) -> tuple[dict[str, Any], bytes | None]:
    """Read one document's bytes and hash them: the record so far, and the bytes (None when there is nothing to
    read: already done, or the file failed)."""
    try:
        data = read_input(source)
    except TextlensError as exc:
        return failure(source, exc), None
    sha256 = hashlib.sha256(data).hexdigest()
    if document_path(out, sha256).is_file():
        return record(source, SKIPPED, sha256=sha256), None
    return record(source, "loaded", sha256=sha256), data


class Reader:
    """The OCR engine of one worker, loaded once (a process of the pool, or a Ray actor)."""

    def __init__(self, options: BatchOptions) -> None:
        from textlens.pipeline import OCR

        self.ocr = OCR(lang=options.lang, domain=options.domain, threads=options.threads)

    def read(self, row: dict[str, Any], data: bytes | None) -> dict[str, Any]:
        """OCR a loaded record's bytes: the record with its document's JSON, or a failure naming the file."""
        if data is None or row["status"] != "loaded":
            return row
        source = row["source"]
        started = time.perf_counter()
        try:
            document = self.ocr.read(data)
        except Exception as exc:  # one document's failure, whatever it is, must not end the batch
            if not isinstance(exc, (TextlensError, MemoryError)):
                log.exception("unexpected error reading %s", source)
            return failure(source, exc, row["sha256"])
        import dataclasses

        pages = tuple(dataclasses.replace(p, source=source) for p in document.pages)
        document = dataclasses.replace(document, pages=pages)
        text = json.dumps(document.to_dict(), ensure_ascii=False, separators=(",", ":"))
        seconds = round(time.perf_counter() - started, 4)
        return {**row, "status": DONE, "pages": len(pages), "seconds": seconds, "document": text}


def write_results(rows: list[dict[str, Any]], out: str, run: str) -> list[dict[str, Any]]:
    """Write the documents read among ``rows``: one JSONL shard, then each document's JSON; the rows without their
    document text (what the summary needs). A write that fails turns those rows into failures."""
    done = [r for r in rows if r["status"] == DONE]
    if done:
        first = min(r["sha256"] for r in done)
        shard = Path(out) / "shards" / f"part-{run}-{first[:16]}.jsonl"
        # The document is JSON text already: spliced in as the last key rather than parsed and dumped again.
        lines = [
            json.dumps({"source": r["source"], "sha256": r["sha256"], "pages": r["pages"]}, ensure_ascii=False)[:-1]
            + ',"document":'
            + r["document"]
            + "}\n"
            for r in done
        ]
        try:
            shard.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(shard, "".join(lines))
            for r in done:
                target = document_path(out, r["sha256"])
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(target, r["document"] + "\n")
        except (TextlensError, OSError) as exc:
            failed = {r["source"] for r in done}
            rows = [failure(r["source"], exc, r["sha256"]) if r["source"] in failed else r for r in rows]
    return [{**r, "document": ""} for r in rows]


@dataclass
class Summary:
    """What a run did: counts of documents read, skipped (already done) and failed, pages, and each failure."""

    run: str
    engine: str
    workers: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    pages: int = 0
    seconds: float = 0.0
    startup_seconds: float = 0.0  # of ``seconds``: starting or joining Ray
    failures: list[dict[str, str]] = field(default_factory=list)

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for r in rows:
            if r["status"] == DONE:
                self.done += 1
                self.pages += int(r["pages"])
            elif r["status"] == SKIPPED:
                self.skipped += 1
            else:
                self.failed += 1
                self.failures.append({"source": r["source"], "error": r["error"], "message": r["message"]})

    @property
    def total(self) -> int:
        return self.done + self.skipped + self.failed

    def to_dict(self) -> dict[str, Any]:
        pages_per_s = self.pages / self.seconds if self.seconds > 0 else 0.0
        return {"run": self.run, "engine": self.engine, "workers": self.workers, "documents": self.total,
                "done": self.done, "skipped": self.skipped, "failed": self.failed, "pages": self.pages,
                "seconds": round(self.seconds, 2), "startup_seconds": round(self.startup_seconds, 2),
                "pages_per_s": round(pages_per_s, 3),
                "failures": self.failures}  # fmt: skip

    def write(self, out: str) -> Path:
        target = Path(out) / "runs" / f"{self.run}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_text(target, json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n")
