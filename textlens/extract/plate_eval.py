"""Scores of plate reading (docs/evaluation.md, docs/extraction.md Plates): exact plate accuracy and detection F1.

- ``exact``: the share of labelled plates read exactly: some predicted plate overlapping the truth's box
  (IoU ≥ ``READ_IOU``) has the same letters and digits (``compact``; separators are not scored).
- ``detection_precision`` / ``detection_recall`` / ``detection_f1``: predicted plate boxes matched one to one to
  labelled boxes at IoU ≥ ``DETECTION_IOU`` (greedy, most confident prediction first), whatever was read.
- ``s_per_page``: plate reading per image; with ``compare_read``, ``read_s_per_page`` (``OCR.read_page`` of the
  same image) and ``extra_s_per_page``, the difference.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textlens.extract.plate import PlateReader, PlateReading, box_iou
from textlens.extract.plate_formats import compact

DETECTION_IOU = 0.5
READ_IOU = 0.1


def read_plate_records(manifest: Path) -> list[dict[str, Any]]:
    """The records of a plate manifest (``image`` and a list ``plates`` of ``{plate, box}``)."""
    from textlens.extract.base import read_labelled_records

    def complete(record: Any) -> bool:
        plates = record.get("plates")
        return (
            "image" in record
            and isinstance(plates, list)
            and all(isinstance(p, dict) and "plate" in p and len(p.get("box", ())) == 4 for p in plates)
        )

    return read_labelled_records(manifest, complete, "a record needs 'image' and 'plates': [{plate, box}, …]")


def score_image(predicted: Sequence[PlateReading], truths: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Counts of one image: labelled plates, read exactly, predictions, detection matches."""
    exact = sum(
        any(box_iou(p.box, t["box"]) >= READ_IOU and p.compact == compact(t["plate"]) for p in predicted)
        for t in truths
    )
    unmatched = list(range(len(truths)))
    matched = 0
    for p in sorted(predicted, key=lambda r: -r.confidence):
        ious = [(box_iou(p.box, truths[i]["box"]), i) for i in unmatched]
        if ious and max(ious)[0] >= DETECTION_IOU:
            unmatched.remove(max(ious)[1])
            matched += 1
    return {"plates": len(truths), "exact": exact, "predicted": len(predicted), "matched": matched}


def evaluate_plates(
    reader: PlateReader,
    records: Sequence[dict[str, Any]],
    root: Path,
    compare_read: bool = False,
    misses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Read every record's image and score it (see the module docstring); ``misses`` collects the plates not
    read exactly (image, truth, predictions)."""
    from textlens.io import load_image

    totals = {"plates": 0, "exact": 0, "predicted": 0, "matched": 0}
    plate_s = read_s = 0.0
    for record in records:
        image = load_image(root / record["image"]).image
        started = time.perf_counter()
        predicted = reader.read(image)
        plate_s += time.perf_counter() - started
        if compare_read:
            started = time.perf_counter()
            reader.ocr.read_page(image)
            read_s += time.perf_counter() - started
        counts = score_image(predicted, record["plates"])
        for key, value in counts.items():
            totals[key] += value
        if misses is not None and counts["exact"] < counts["plates"]:
            misses.append({"image": record["image"], "truth": [p["plate"] for p in record["plates"]],
                           "pred": [p.to_dict() for p in predicted]})  # fmt: skip
    n = max(len(records), 1)
    precision = totals["matched"] / totals["predicted"] if totals["predicted"] else float(not totals["plates"])
    recall = totals["matched"] / totals["plates"] if totals["plates"] else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    values: dict[str, Any] = {
        "task": "plate",
        "count": len(records),
        "plates": totals["plates"],
        "exact": totals["exact"] / totals["plates"] if totals["plates"] else 0.0,
        "detection_precision": precision,
        "detection_recall": recall,
        "detection_f1": f1,
        "s_per_page": plate_s / n,
    }
    if compare_read:
        values.update({"read_s_per_page": read_s / n, "extra_s_per_page": (plate_s - read_s) / n})
    return values


def run_plate_eval(
    manifest: Path,
    limit: int | None = None,
    start: int = 0,
    threads: int | None = None,
    errors: Path | None = None,
    regions: str | None = None,
    compare_read: bool = True,
) -> dict[str, Any]:
    """``textlens eval extract --task plate``: the scores of a manifest's records ``start`` … ``start + limit``,
    read by a ``PlateReader`` (``regions`` comma-separated); the misses written to ``errors`` as JSONL."""
    import json

    from textlens.errors import AnnotationError

    records = read_plate_records(manifest)[start:]
    records = records[:limit] if limit is not None else records
    if not records:
        raise AnnotationError("the manifest has no records", manifest)
    started = time.perf_counter()
    reader = PlateReader(regions=[r for r in (regions or "").split(",") if r] or None, threads=threads)
    init_s = time.perf_counter() - started
    misses: list[dict[str, Any]] = []
    values = evaluate_plates(reader, records, manifest.parent, compare_read=compare_read, misses=misses)
    values["init_s"] = init_s
    if errors is not None:
        from textlens.io.atomic import atomic_write_text

        atomic_write_text(errors, "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in misses))
    return values


def table_rows(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The scores as (name, text) rows for a table."""
    return [(k, f"{v:.4f}" if isinstance(v, float) else str(v)) for k, v in values.items()]
