"""SROIE 2019 receipts, task 1 (text localisation): ``<id>.txt``, ``x1,y1,...,x4,y4,text`` per line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import (
    PageDatasetReader,
    existing_dir,
    image_index,
    read_text_file,
    register_reader,
)
from textlens.data.samples import PageSample, WordAnnotation
from textlens.document import polygon_box
from textlens.errors import AnnotationError, FileNotFound


def parse_sroie_txt(path: Path) -> tuple[WordAnnotation, ...]:
    """Text lines as quadrilaterals; the text is everything after the 8th comma (it may hold commas)."""
    lines = []
    for lineno, line in enumerate(read_text_file(path).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(",", 8)
        if len(parts) < 9:
            raise AnnotationError(f"{path}:{lineno}: expected 8 coordinates and a text, got {line!r}")
        try:
            coords = [float(v) for v in parts[:8]]
        except ValueError:
            raise AnnotationError(f"{path}:{lineno}: coordinates are not numbers in {line!r}") from None
        polygon = tuple(zip(coords[0::2], coords[1::2], strict=True))
        lines.append(WordAnnotation(text=parts[8].strip(), box=polygon_box(polygon), polygon=polygon))
    return tuple(lines)


@register_reader
class SroieReader(PageDatasetReader):
    """SROIE task 1 → ``PageSample`` with one annotation per text line."""

    name: ClassVar[str] = "sroie"
    description = "SROIE 2019 task 1: <id>.txt (8 coordinates, text line) + <id>.jpg → PageSample (lines)"

    def __init__(self, path: str | Path, gt_dir: str | Path | None = None) -> None:
        self.image_dir = existing_dir(path, "image folder")
        self.gt_dir = existing_dir(gt_dir, "ground-truth folder") if gt_dir else self.image_dir
        images = image_index(self.image_dir)
        texts = sorted(p for p in self.gt_dir.glob("*.txt") if p.stem in images)
        if not texts:
            raise FileNotFound("no <id>.txt annotation next to an <id>.jpg image", self.gt_dir)
        self.items = [(images[t.stem], t) for t in texts]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PageSample]:
        for image, txt in self.items:
            yield PageSample(image=read_rgb(image), words=parse_sroie_txt(txt), source=str(image))
