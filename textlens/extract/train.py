"""Training of the receipt extractor from read receipts and their key labels (numpy only, seconds on a CPU).

Each training receipt is read once by textlens's own OCR and cached as Document JSON (``cache_documents``); the
labels (``key``: company, date, address, total) mark which lines are company or address (a line belongs to a
field when most of its characters appear, in order, in the field's label) and which amounts are the total.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np

from textlens.document import Document, Line
from textlens.extract.lines import LineClassifier, page_features, rows_of, save_npz
from textlens.extract.receipt import LINE_CLASSES, SCORED, candidate_features, candidates_of, label_of_amount
from textlens.extract.score import score_fields

log = logging.getLogger(__name__)


def _norm(text: str) -> str:
    return " ".join(text.upper().split())


def coverage(text: str, label: str) -> float:
    """The share of ``text``'s characters found, in order, in ``label`` (both upper-cased, whitespace collapsed)."""
    a, b = _norm(text), _norm(label)
    if not a or not b:
        return 0.0
    matched = sum(block.size for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return matched / len(a)


def line_labels(lines: Sequence[Line], key: dict[str, str], threshold: float = 0.8) -> np.ndarray:
    """The class (index into LINE_CLASSES) of each line from the labels of its receipt."""
    out = np.zeros(len(lines), dtype=np.int64)
    for i, line in enumerate(lines):
        text = line.text
        if len(_norm(text)) < 3:
            continue
        scores = {name: coverage(text, key.get(name, "")) for name in ("company", "address")}
        name = max(scores, key=scores.__getitem__)
        if scores[name] >= threshold:
            out[i] = LINE_CLASSES.index(name)
    return out


def cache_documents(
    records: Sequence[dict[str, Any]], root: Path, cache: Path, read: Callable[[Path], Document] | None = None
) -> list[Document]:
    """The Document of each record's image, read once (``read``, default ``textlens.OCR(threads=1).read``) and
    cached as ``cache/<stem>.json``."""
    from textlens.io.atomic import atomic_write_text

    cache.mkdir(parents=True, exist_ok=True)
    docs = []
    for record in records:
        target = cache / (Path(record["image"]).stem + ".json")
        if target.is_file():
            docs.append(Document.from_dict(json.loads(target.read_text(encoding="utf-8"))["document"]))
            continue
        if read is None:
            from textlens.pipeline import OCR

            read = OCR(threads=1).read
        started = time.perf_counter()
        doc = read(root / record["image"])
        payload = {
            "image": record["image"],
            "read_s": round(time.perf_counter() - started, 3),
            "document": doc.to_dict(),
        }
        atomic_write_text(target, json.dumps(payload))
        docs.append(doc)
    return docs


def training_arrays(docs: Sequence[Document], keys: Sequence[dict[str, str]]) -> tuple[np.ndarray, ...]:
    """Line features and classes, and total-candidate features and labels, over the receipts."""
    lx, ly, tx, ty = [], [], [], []
    for doc, key in zip(docs, keys, strict=True):
        page = next((p for p in doc.pages if p.lines), None)
        if page is None:
            continue
        rows = rows_of(page)
        lines = [ln for ln in page.lines if ln.words]
        lx.append(page_features(page, lines))
        ly.append(line_labels(lines, key))
        found = candidates_of(page, rows)
        if found:
            truth = label_of_amount(key.get("total", ""))
            tx.append(candidate_features(page, rows, found))
            ty.append(np.array([int(truth is not None and c.amount.value == truth) for c in found]))
    return np.concatenate(lx), np.concatenate(ly), np.concatenate(tx), np.concatenate(ty)


def train_receipt(
    docs: Sequence[Document], keys: Sequence[dict[str, str]], l2: float = 0.03, steps: int = 300
) -> dict[str, Any]:
    """Fit the line classifier and the total ranker; the arrays for ``weights.npz`` and the config entries."""
    lx, ly, tx, ty = training_arrays(docs, keys)
    counts = np.bincount(ly, minlength=len(LINE_CLASSES))
    weights = [len(ly) / (len(LINE_CLASSES) * max(c, 1)) for c in counts]
    lines = LineClassifier.fit(lx, ly, LINE_CLASSES, l2=l2, steps=steps, lr=0.5, class_weights=weights)
    tcounts = np.bincount(ty, minlength=2)
    tweights = [len(ty) / (2 * max(c, 1)) for c in tcounts]
    totals = LineClassifier.fit(tx, ty, ("other", "total"), l2=l2, steps=steps, lr=0.5, class_weights=tweights)
    return {
        "arrays": {**lines.arrays("lines"), **totals.arrays("totals")},
        "line_counts": {c: int(n) for c, n in zip(LINE_CLASSES, counts, strict=True)},
        "total_candidates": {"other": int(tcounts[0]), "total": int(tcounts[1])},
    }


def write_bundle(folder: Path, trained: dict[str, Any], config: dict[str, Any]) -> None:
    from textlens.extract.lines import HASH_BUCKETS, feature_count
    from textlens.io.atomic import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    save_npz(folder / "weights.npz", trained["arrays"])
    full = {
        "name": folder.name,
        "family": "extraction",
        "task": "receipt",
        "line_classes": list(LINE_CLASSES),
        "features": feature_count(),
        "hash_buckets": HASH_BUCKETS,
        "run_on": 0.5,
        "lexicon": True,
        **config,
        "line_counts": trained["line_counts"],
        "total_candidates": trained["total_candidates"],
    }
    atomic_write_text(folder / "config.json", json.dumps(full, indent=2) + "\n")


def evaluate_extractor(extractor: Any, docs: Sequence[Document], keys: Sequence[dict[str, str]]) -> dict[str, Any]:
    """Scores of ``extractor`` on read documents (``score.score_fields`` over the SROIE fields), with its time."""
    started = time.perf_counter()
    preds = [extractor.extract(doc).raw() for doc in docs]
    seconds = time.perf_counter() - started
    result = score_fields(zip(preds, keys, strict=True), SCORED)
    result["extract_s_per_page"] = seconds / max(len(docs), 1)
    return result
