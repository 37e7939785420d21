"""Validate a model on the annotated pages: the scores of ``textlens eval page`` and its errors, worst first.

The pages are the studio's manifest records, read by ``textlens/eval/`` exactly as ``textlens eval page
--manifest DIR/manifest.jsonl`` would; the HTML report is ``textlens/eval/report.py``'s.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textlens.data.manifest import read_manifest
from textlens.document import Document
from textlens.eval.report import write_report
from textlens.eval.results import PageResult
from textlens.eval.runners import evaluate_pages
from textlens.eval.text import edit_distance, normalize
from textlens.studio.paths import STATE_DIR
from textlens.studio.store import MANIFEST_NAME

#: ``(detector, recognizer) -> (page image -> Document)``.
ReaderFactory = Callable[[str | None, str | None], Callable[[np.ndarray], Any]]


def default_reader_factory(detector: str | None, recognizer: str | None) -> Callable[[np.ndarray], Any]:
    from textlens.pipeline import OCR

    ocr = OCR(detector=detector, recognizer=recognizer)
    return lambda image: Document(pages=(ocr.read_page(image),))


def summary(result: PageResult) -> dict[str, Any]:
    """``textlens eval page``'s scores, with word accuracy: ground-truth words found and read exactly."""
    out = result.to_json()
    counts = result.scores.counts
    out["word_accuracy"] = round(counts.e2e / counts.gt, 6) if counts.gt else None
    out["words"] = counts.gt
    return out


def errors_worst_first(result: PageResult, root: Path) -> list[dict[str, Any]]:
    """Every missed, falsely found or misread word; misreadings by their character error, then misses, then false
    alarms; each with its page, box, label, reading and the reading's confidence."""
    rows: list[dict[str, Any]] = []
    for page in result.items:
        name = page.image.resolve().relative_to(root).as_posix()
        for i, j, iou in page.match.pairs:
            truth, pred = page.gt[i].text, page.preds[j].text
            if normalize(truth) == normalize(pred):
                continue
            cer = edit_distance(normalize(truth), normalize(pred)) / max(1, len(normalize(truth)))
            rows.append(_row(name, "misread", page.gt[i].box, truth, pred, page.preds[j].confidence, cer, iou))
        for i in page.match.missed:
            rows.append(_row(name, "missed", page.gt[i].box, page.gt[i].text, "", None, 1.0, 0.0))
        for j in page.match.false_alarms:
            pred = page.preds[j]
            rows.append(_row(name, "false_alarm", pred.box, "", pred.text, pred.confidence, 1.0, 0.0))
    order = {"misread": 0, "missed": 1, "false_alarm": 2}
    return sorted(rows, key=lambda r: (order[r["kind"]], -r["cer"], r["page"]))


def _row(
    page: str, kind: str, box: Any, truth: str, pred: str, confidence: float | None, cer: float, iou: float
) -> dict[str, Any]:
    return {
        "page": page,
        "kind": kind,
        "box": [round(float(v), 2) for v in box],
        "truth": truth,
        "pred": pred,
        "confidence": None if confidence is None else round(float(confidence), 4),
        "cer": round(cer, 4),
        "iou": round(iou, 3),
    }


@dataclass
class Job:
    id: str
    detector: str | None
    recognizer: str | None
    status: str = "running"
    message: str = ""
    started: float = field(default_factory=time.time)
    result: dict[str, Any] | None = None


class Validator:
    """Runs one validation at a time in a background thread; jobs are looked up by id."""

    def __init__(self, root: Path, factory: ReaderFactory = default_reader_factory) -> None:
        self.root = root
        self.factory = factory
        self.reports = root / STATE_DIR / "reports"
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, detector: str | None, recognizer: str | None) -> Job:
        job = Job(uuid.uuid4().hex[:12], detector or None, recognizer or None)
        with self._lock:
            self.jobs[job.id] = job
        thread = threading.Thread(target=self._run, args=(job,), name=f"textlens-studio-validate-{job.id}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return job

    def close(self, timeout: float = 30.0) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, job: Job) -> None:
        try:
            manifest = self.root / MANIFEST_NAME
            records = [r for r in read_manifest(manifest) if r.kind == "page"] if manifest.is_file() else []
            if not records:
                raise ValueError("no annotated pages yet: annotate a page first")
            reader = self.factory(job.detector, job.recognizer)
            result = evaluate_pages(reader, records)
            title = f"pages (word level) on {manifest.name}: {job.detector or 'default detector'} + " + (
                job.recognizer or "default recogniser"
            )
            write_report(self.reports / job.id, result, title)
            job.result = {
                "summary": summary(result),
                "errors": errors_worst_first(result, self.root),
                "report": f"/reports/{job.id}/report.html",
            }
            job.status = "done"
        except Exception as exc:  # shown to the person who started it; the server goes on
            job.status, job.message = "failed", f"{type(exc).__name__}: {exc}"
