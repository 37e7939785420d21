"""Running a model over a manifest and timing it as METRICS.md says (warm-up untimed, decoding untimed)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from textlens.data.manifest import ManifestRecord
from textlens.document import Box, Document
from textlens.errors import AnnotationError, ModelError
from textlens.eval.layout import Level, PredLevel, PredWord
from textlens.eval.pages import IouMode
from textlens.eval.results import DigitResult, PageResult, RecResult, digit_result, page_result, rec_result
from textlens.runtime.base import Recognizer

OcrCallable = Callable[[np.ndarray], Iterable[Any]]
Progress = Callable[[int], None]


def _require(records: Sequence[ManifestRecord], kind: str) -> None:
    for r in records:
        if r.kind != kind:
            raise AnnotationError(f"expected a {kind} record, found a {r.kind} record", r.image)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    try:
        import resource
    except ImportError:  # Windows: psutil's peak working set is the nearest figure
        import psutil

        info = psutil.Process().memory_info()
        return float(getattr(info, "peak_wset", info.rss)) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def evaluate_recognizer(
    recognizer: Recognizer,
    records: Sequence[ManifestRecord],
    batch_size: int = 1,
    init_s: float | None = None,
    progress: Progress | None = None,
) -> RecResult:
    """Read every crop record with ``recognizer`` and score it; ``ms_per_item`` excludes image decoding."""
    _require(records, "crop")
    if records:
        recognizer.recognize([records[0].load_image()])  # untimed warm-up
    preds: list[str] = []
    confidences: list[float | None] = []
    elapsed = 0.0
    for start in range(0, len(records), max(1, batch_size)):
        batch = records[start : start + max(1, batch_size)]
        images = [r.load_image() for r in batch]
        t0 = time.perf_counter()
        out = recognizer.recognize(images)
        elapsed += time.perf_counter() - t0
        if len(out) != len(images):
            raise ModelError(f"returned {len(out)} readings for {len(images)} crops", getattr(recognizer, "name", None))
        preds.extend(o.text for o in out)
        confidences.extend(float(o.confidence) for o in out)
        if progress:
            progress(len(batch))
    ms = 1000 * elapsed / len(records) if records else None
    return rec_result(
        [r.image for r in records],
        [r.text or "" for r in records],
        preds,
        confidences,
        record_langs(records),
        ms_per_item=ms,
        init_s=init_s,
    )


def record_langs(records: Sequence[ManifestRecord]) -> list[str | None]:
    """Each record's ``lang`` (a manifest field, e.g. the accented-lines set's), None where it has none."""
    return [None if r.extra.get("lang") is None else str(r.extra["lang"]) for r in records]


def as_pred_words(items: Iterable[Any]) -> list[PredWord]:
    """Accept PredWord objects, objects with ``.text`` and ``.box``, or ``(text, box)`` pairs."""
    out = []
    for item in items:
        if isinstance(item, PredWord):
            out.append(item)
        elif hasattr(item, "text") and hasattr(item, "box"):
            out.append(PredWord(text=str(item.text), box=_box(item.box), polygon=getattr(item, "polygon", None)))
        else:
            text, box = item
            out.append(PredWord(text=str(text), box=_box(box)))
    return out


def _box(value: Sequence[float]) -> Box:
    x0, y0, x1, y1 = (float(v) for v in value)
    return (x0, y0, x1, y1)


def document_lines(doc: Document) -> list[PredWord]:
    """The first page of a read Document as line predictions that carry their words' boxes."""
    if not doc.pages:
        return []
    lines = []
    for line in doc.pages[0].lines:
        words = tuple(PredWord(text=w.text, box=w.box, polygon=w.polygon, confidence=w.confidence) for w in line.words)
        assert line.box is not None
        lines.append(PredWord(text=line.text, box=line.box, polygon=line.polygon, words=words))
    return lines


def evaluate_pages(
    ocr: OcrCallable,
    records: Sequence[ManifestRecord],
    level: Level = "word",
    pred_level: PredLevel = "auto",
    iou: IouMode = "box",
    init_s: float | None = None,
    progress: Progress | None = None,
) -> PageResult:
    """Read every page record with ``ocr(image) -> words`` and score it at the ground truth's ``level``."""
    _require(records, "page")
    if records:
        ocr(records[0].load_image())  # untimed warm-up
    preds: list[list[PredWord]] = []
    elapsed = 0.0
    for record in records:
        image = record.load_image()
        t0 = time.perf_counter()
        raw = ocr(image)
        words = as_pred_words(document_lines(raw) if isinstance(raw, Document) else raw)
        elapsed += time.perf_counter() - t0
        preds.append(words)
        if progress:
            progress(1)
    return page_result(
        [r.image for r in records],
        [r.words for r in records],
        preds,
        level=level,
        pred_level=pred_level,
        iou=iou,
        s_per_page=elapsed / len(records) if records else None,
        init_s=init_s,
        peak_rss_mb=peak_rss_mb(),
    )


def evaluate_digits(
    predict: Callable[[np.ndarray], str], records: Sequence[ManifestRecord], progress: Progress | None = None
) -> DigitResult:
    """Classify every label record with ``predict(image) -> label`` and score it."""
    _require(records, "label")
    preds = []
    for record in records:
        preds.append(str(predict(record.load_image())))
        if progress:
            progress(1)
    return digit_result([r.image for r in records], [r.label or "" for r in records], preds)
