"""ICDAR robust-reading ground truths: 2013 boxes, 2015 quadrilaterals and the word-recognition ``gt.txt``.

- ICDAR 2013 (focused scene text, task 1): ``gt_<img>.txt``, one ``x1, y1, x2, y2, "text"`` a line
  (the test set separates with comma + space, the training set with spaces).
- ICDAR 2015 (incidental scene text, task 1): ``gt_<img>.txt`` in UTF-8 with BOM, ``x1,y1,...,x4,y4,text``;
  the text may hold commas, and ``###`` marks a don't-care region.
- Word recognition (2013 and 2015 task 3): ``gt.txt`` with ``word_1.png, "Tiredness"`` a line.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import (
    DatasetReader,
    PageDatasetReader,
    existing_dir,
    existing_path,
    image_in,
    image_index,
    read_text_file,
    register_reader,
)
from textlens.data.samples import CropSample, PageSample, WordAnnotation
from textlens.document import polygon_box
from textlens.errors import AnnotationError, FileNotFound

_NUM = r"(-?\d+(?:\.\d+)?)"
_SEP = r"\s*[,\s]\s*"
_IC13_LINE = re.compile(rf"^\s*{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}{_SEP}(.*?)\s*$")
_WORD_LINE = re.compile(r"^\s*([^,]+?)\s*,\s*(.*?)\s*$")


def unquote(text: str) -> str:
    """Strip the surrounding double quotes ICDAR puts around texts, undoing ``\\"`` and ``\\\\`` escapes."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def parse_ic13_gt(path: Path) -> tuple[WordAnnotation, ...]:
    words = []
    for lineno, line in enumerate(read_text_file(path).splitlines(), 1):
        if not line.strip():
            continue
        match = _IC13_LINE.match(line)
        if not match:
            raise AnnotationError(f"{path}:{lineno}: expected 'x1, y1, x2, y2, \"text\"', got {line!r}")
        x0, y0, x1, y1 = (float(v) for v in match.groups()[:4])
        if x1 < x0 or y1 < y0:
            raise AnnotationError(f"{path}:{lineno}: box ({x0}, {y0}, {x1}, {y1}) has x2 < x1 or y2 < y1")
        words.append(WordAnnotation(text=unquote(match.group(5)), box=(x0, y0, x1, y1)))
    return tuple(words)


def parse_ic15_gt(path: Path) -> tuple[WordAnnotation, ...]:
    words = []
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
        text = parts[8].strip()
        words.append(WordAnnotation(text=text, box=polygon_box(polygon), polygon=polygon, ignore=text == "###"))
    return tuple(words)


class _IcdarPages(PageDatasetReader):
    """Pairs every ``gt_<stem>.txt`` with the image ``<stem>.*`` (in ``path`` or ``gt_dir``)."""

    def __init__(self, path: str | Path, gt_dir: str | Path | None = None) -> None:
        self.image_dir = existing_dir(path, "image folder")
        self.gt_dir = existing_dir(gt_dir, "ground-truth folder") if gt_dir else self.image_dir
        images = image_index(self.image_dir)
        gts = sorted(self.gt_dir.glob("gt_*.txt"), key=_natural_key)
        if not gts:
            raise FileNotFound("no gt_*.txt ground-truth files", self.gt_dir)
        self.items: list[tuple[Path, Path]] = []
        for gt in gts:
            stem = gt.stem[3:]
            if stem not in images:
                raise FileNotFound(f"no image {stem}.* for {gt.name}", self.image_dir)
            self.items.append((images[stem], gt))

    @abstractmethod
    def parse(self, gt: Path) -> tuple[WordAnnotation, ...]: ...

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PageSample]:
        for image, gt in self.items:
            yield PageSample(image=read_rgb(image), words=self.parse(gt), source=str(image))


def _natural_key(path: Path) -> tuple[object, ...]:
    """Sort ``img_2`` before ``img_10``."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name))


@register_reader
class Icdar2013Reader(_IcdarPages):
    """ICDAR 2013 focused scene text (localisation ground truth) → ``PageSample``."""

    name: ClassVar[str] = "icdar2013"
    description = 'ICDAR 2013 task 1: gt_<img>.txt (x1, y1, x2, y2, "text") + images → PageSample'
    aliases = ("ic13",)

    def parse(self, gt: Path) -> tuple[WordAnnotation, ...]:
        return parse_ic13_gt(gt)


@register_reader
class Icdar2015Reader(_IcdarPages):
    """ICDAR 2015 incidental scene text (quadrilaterals, ``###`` don't-care) → ``PageSample``."""

    name: ClassVar[str] = "icdar2015"
    description = "ICDAR 2015 task 1: gt_img_<n>.txt (8 coordinates, text) + images → PageSample"
    aliases = ("ic15",)

    def parse(self, gt: Path) -> tuple[WordAnnotation, ...]:
        return parse_ic15_gt(gt)


def parse_word_gt(path: Path) -> list[tuple[str, str]]:
    """``word_1.png, "Tiredness"`` lines → (file name, text)."""
    pairs = []
    for lineno, line in enumerate(read_text_file(path).splitlines(), 1):
        if not line.strip():
            continue
        match = _WORD_LINE.match(line)
        if not match:
            raise AnnotationError(f"{path}:{lineno}: expected 'word_1.png, \"text\"', got {line!r}")
        pairs.append((match.group(1), unquote(match.group(2))))
    return pairs


@register_reader
class IcdarWordsReader(DatasetReader[CropSample]):
    """ICDAR word-recognition crops (``gt.txt`` + ``word_*.png``) → ``CropSample``."""

    name: ClassVar[str] = "icdar_words"
    kind = "crop"
    description = 'ICDAR 2013/2015 word recognition: gt.txt (word_1.png, "text") + crops → CropSample'
    aliases = ("ic13_words", "ic15_words", "icdar2013_words", "icdar2015_words")

    def __init__(self, path: str | Path, gt: str | Path | None = None) -> None:
        path = existing_path(path)
        self.annotation = existing_path(gt or (path / "gt.txt" if path.is_dir() else path), "gt.txt")
        self.image_dir = path if path.is_dir() else path.parent
        self.items = [
            (image_in(self.image_dir, name, self.annotation), text) for name, text in parse_word_gt(self.annotation)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[CropSample]:
        for image, text in self.items:
            yield CropSample(image=read_rgb(image), text=text, source=str(image))
