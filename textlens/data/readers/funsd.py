"""FUNSD (noisy scanned forms): ``annotations/*.json`` with entities (``form[]``) and their words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import (
    PageDatasetReader,
    existing_dir,
    image_index,
    register_reader,
)
from textlens.data.samples import PageSample, WordAnnotation
from textlens.errors import AnnotationError, FileNotFound

_SPLIT_DIRS = {"train": "training_data", "test": "testing_data"}


def _box(raw: Any, where: str) -> tuple[float, float, float, float]:
    if not isinstance(raw, list) or len(raw) != 4:
        raise AnnotationError(f"{where}: 'box' must be [x0, y0, x1, y1], got {raw!r}")
    x0, y0, x1, y1 = (float(v) for v in raw)
    if x1 < x0 or y1 < y0:
        raise AnnotationError(f"{where}: box {raw!r} has x1 < x0 or y1 < y0")
    return (x0, y0, x1, y1)


def parse_funsd_json(path: Path, level: Literal["word", "entity"] = "word") -> tuple[WordAnnotation, ...]:
    """Words (or whole entities) with ``extra`` = entity ``label`` and ``entity_id`` (and ``linking``).

    Words with empty text (a few FUNSD boxes) are kept as don't-care regions.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"not valid JSON ({exc})", path) from exc
    if not isinstance(data, dict) or not isinstance(data.get("form"), list):
        raise AnnotationError("expected an object with a 'form' list", path)
    out = []
    for index, entity in enumerate(data["form"]):
        where = f"{path}: form[{index}]"
        if not isinstance(entity, dict):
            raise AnnotationError(f"{where}: an entity must be an object")
        extra = {"entity_id": entity.get("id", index), "label": entity.get("label", "other")}
        if level == "entity":
            text = str(entity.get("text", ""))
            out.append(
                WordAnnotation(
                    text=text,
                    box=_box(entity.get("box"), where),
                    ignore=not text.strip(),
                    extra={**extra, "linking": entity.get("linking", [])},
                )
            )
            continue
        for j, word in enumerate(entity.get("words", [])):
            if not isinstance(word, dict):
                raise AnnotationError(f"{where} words[{j}]: a word must be an object")
            text = str(word.get("text", ""))
            out.append(
                WordAnnotation(
                    text=text,
                    box=_box(word.get("box"), f"{where} words[{j}]"),
                    ignore=not text.strip(),
                    extra=dict(extra),
                )
            )
    return tuple(out)


@register_reader
class FunsdReader(PageDatasetReader):
    """FUNSD → ``PageSample`` at word level (``level="entity"`` for whole entities)."""

    name: ClassVar[str] = "funsd"
    description = "FUNSD forms: annotations/*.json + images/*.png → PageSample (words, entity label + id)"

    def __init__(self, path: str | Path, split: str = "train", level: Literal["word", "entity"] = "word") -> None:
        root = existing_dir(path)
        if (root / _SPLIT_DIRS.get(split, split)).is_dir():
            root = root / _SPLIT_DIRS.get(split, split)
        ann_dir = root / "annotations" if (root / "annotations").is_dir() else root
        img_dir = root / "images" if (root / "images").is_dir() else root
        images = image_index(img_dir)
        annotations = sorted(ann_dir.glob("*.json"))
        if not annotations:
            raise FileNotFound("no FUNSD annotations/*.json", root)
        self.level = level
        self.items: list[tuple[Path, Path]] = []
        for ann in annotations:
            if ann.stem not in images:
                raise FileNotFound(f"no image {ann.stem}.* for {ann.name}", img_dir)
            self.items.append((images[ann.stem], ann))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PageSample]:
        for image, ann in self.items:
            words = parse_funsd_json(ann, self.level)
            yield PageSample(image=read_rgb(image), words=words, source=str(image))
