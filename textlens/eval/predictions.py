"""Reading a system's saved predictions (JSONL) and pairing them with a manifest's records by image.

- crops and labels: ``{"image": "images/w1.png", "pred": "Tiredness"}``
- pages: ``{"image": "p.png", "words": [{"text": "TOTAL", "box": [x0, y0, x1, y1]}]}``; an item may carry its
  own ``"words"`` (word parts of a line) and a ``"poly"``.

An image is matched by its path relative to the manifest's folder, else by file name when that is unique.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textlens.data.manifest import ManifestRecord, utf8_lines
from textlens.errors import AnnotationError, FileNotFound
from textlens.eval.layout import PredWord


@dataclass(frozen=True)
class PredictionLine:
    image: str
    pred: str | None
    words: list[PredWord] | None
    where: str


def _pred_word(raw: Any, where: str) -> PredWord:
    if not isinstance(raw, dict) or "text" not in raw or "box" not in raw:
        raise AnnotationError(f"{where}: a predicted word needs 'text' and 'box'")
    box = raw["box"]
    if not isinstance(box, list | tuple) or len(box) != 4:
        raise AnnotationError(f"{where}: 'box' must be [x0, y0, x1, y1], got {box!r}")
    poly = raw.get("poly", raw.get("polygon"))
    parts = tuple(_pred_word(w, f"{where} part {i}") for i, w in enumerate(raw.get("words") or []))
    try:
        return PredWord(
            text=str(raw["text"]),
            box=tuple(float(v) for v in box),  # type: ignore[arg-type]
            polygon=tuple((float(p[0]), float(p[1])) for p in poly) if poly else None,
            words=parts,
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise AnnotationError(f"{where}: bad coordinates ({exc})") from exc


def read_predictions(path: str | Path) -> list[PredictionLine]:
    """Parse a prediction file; a malformed line raises AnnotationError naming file:line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFound("prediction file not found", path)
    out = []
    for lineno, line in utf8_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnnotationError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("image"), str):
            raise AnnotationError(f"{where}: each line must be an object with an 'image' path")
        if "words" in obj:
            if not isinstance(obj["words"], list):
                raise AnnotationError(f"{where}: 'words' must be a list")
            words = [_pred_word(w, f"{where} word {i}") for i, w in enumerate(obj["words"])]
            out.append(PredictionLine(obj["image"], None, words, where))
        elif "pred" in obj:
            out.append(PredictionLine(obj["image"], str(obj["pred"]), None, where))
        else:
            raise AnnotationError(f"{where}: a line needs 'pred' (crops, labels) or 'words' (pages)")
    return out


@dataclass(frozen=True)
class Pairing:
    """Predictions in manifest order (None where the system gave none) and the prediction lines left over."""

    preds: list[PredictionLine | None]
    unmatched: list[PredictionLine]


def pair_predictions(
    records: Sequence[ManifestRecord], predictions: Sequence[PredictionLine], manifest_dir: Path
) -> Pairing:
    """Pair each record with its prediction; a second prediction for the same image is an error."""
    by_path = {r.image.resolve(): i for i, r in enumerate(records)}
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_name[r.image.name].append(i)
    slots: list[PredictionLine | None] = [None] * len(records)
    unmatched = []
    for p in predictions:
        index = by_path.get((manifest_dir / p.image).resolve())
        if index is None and len(by_name.get(Path(p.image).name, [])) == 1:
            index = by_name[Path(p.image).name][0]
        if index is None:
            unmatched.append(p)
            continue
        if slots[index] is not None:
            raise AnnotationError(f"{p.where}: a second prediction for {records[index].image}")
        slots[index] = p
    return Pairing(slots, unmatched)
